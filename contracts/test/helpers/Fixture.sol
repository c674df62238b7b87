// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ClassRegistry} from "../../src/ClassRegistry.sol";
import {ResultHasher} from "../../src/ResultHasher.sol";
import {Groth16Verifier} from "../../src/Groth16Verifier.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {ResultDigest} from "../../src/libraries/ResultDigest.sol";
import {Request} from "../../src/types/Request.sol";
import {Job, JobState, Commitment, Submission, Receipt} from "../../src/types/Settlement.sol";
import {SyntheticGroth16} from "./SyntheticGroth16.sol";

/// @notice A deployed v1 protocol: token, registries, result hasher, a class whose verifier is
///         the real Groth16Verifier under a synthetic key (SyntheticGroth16 makes valid proofs
///         for any public inputs, so the pairing checks are real), a funded buyer with a signing
///         key and a registered, staked provider. Helpers drive a job through its states.
abstract contract Fixture is Test {
    /// @dev Lock bounds that accept whatever the manager's rates give.
    uint256 internal constant ANY_STAKE = type(uint256).max;
    uint16 internal constant ANY_ABANDON = 10_000;

    function anyStakes(uint256 n) internal pure returns (uint256[] memory out) {
        out = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            out[i] = ANY_STAKE;
        }
    }

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint64 internal constant UNBONDING = 7 days;
    uint32 internal constant EXEC = 1 hours;
    uint32 internal constant PROVE = 1 hours;
    uint96 internal constant PRICE = 1_000e18;
    uint32 internal constant TOKENS = 48;
    uint256 internal constant START_TIME = 1_800_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    string internal constant CLASS = "universal-test-class";

    address internal gov = makeAddr("gov");
    address internal buyer;
    uint256 internal buyerPk;
    address internal provider = makeAddr("provider");
    address internal keeper = makeAddr("keeper");
    address internal nodeKey;
    uint256 internal nodeKeyPk;

    DevToken internal token;
    ProviderRegistry internal providers;
    ClassRegistry internal classes;
    ResultHasher internal hasher;
    Groth16Verifier internal verifier;
    Groth16Verifier internal targetedVerifier;
    SLAManager internal manager;
    bytes32 internal classId;
    uint256 internal salt;

    function setUp() public virtual {
        vm.warp(START_TIME);
        vm.roll(START_BLOCK);
        (buyer, buyerPk) = makeAddrAndKey("buyer");
        (nodeKey, nodeKeyPk) = makeAddrAndKey("nodeKey");
        token = new DevToken(gov, 0);
        providers = new ProviderRegistry(IERC20(address(token)), UNBONDING, gov);
        classes = new ClassRegistry(gov);
        hasher = new ResultHasher();
        verifier = SyntheticGroth16.deploy();
        targetedVerifier = SyntheticGroth16.deployTargeted();
        manager = new SLAManager(IERC20(address(token)), providers, classes, hasher, gov);
        vm.startPrank(gov);
        providers.setManager(address(manager));
        classId = classes.registerClass(CLASS, address(verifier), address(targetedVerifier), 1);
        token.mint(buyer, 10_000_000e18);
        token.mint(provider, 10_000_000e18);
        vm.stopPrank();

        vm.prank(buyer);
        token.approve(address(manager), type(uint256).max);
        vm.startPrank(provider);
        token.approve(address(providers), type(uint256).max);
        providers.register(nodeKey, 1_000_000e18);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ requests

    function request() internal returns (Request memory r) {
        r = Request({
            buyer: buyer,
            classId: classId,
            modelRoot: 0x1111,
            jobDigest: 0x2222 + salt,
            newTokens: TOKENS,
            price: PRICE,
            lockBy: uint64(block.timestamp + 1 days),
            execWindow: EXEC,
            proveWindow: PROVE,
            challengeWindow: 0,
            seedCommitment: bytes32(0),
            salt: ++salt
        });
    }

    function requestWithSecret(bytes32 secret) internal returns (Request memory r) {
        r = request();
        r.seedCommitment = keccak256(abi.encode(secret));
    }

    function signRequest(Request memory r) internal view returns (bytes memory) {
        return signDigest(buyerPk, bytes32(manager.jobIdOf(r)));
    }

    function signDigest(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(rr, s, v);
    }

    function post(Request memory r) internal returns (uint256 jobId) {
        vm.prank(buyer);
        jobId = manager.post(r, "file:///jobs/1");
    }

    function lockSigned(Request memory r) internal returns (uint256 jobId) {
        bytes memory sig = signRequest(r);
        vm.prank(provider);
        jobId = manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
    }

    function traceRootOf(uint256 jobId) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("trace", jobId))) % R;
    }

    function attestationOf(uint256 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode("attestation", jobId));
    }

    /// @dev The stake each job was locked with, recorded before commit hides it in the commitment.
    mapping(uint256 jobId => uint96) internal stakes;

    /// @notice The stake of a job: recorded at commit, or read while the job is Locked or Proved.
    function stakeOf(uint256 jobId) internal view returns (uint96) {
        if (stakes[jobId] != 0) return stakes[jobId];
        (, uint256 st) = manager.holderOf(jobId);
        return uint96(st);
    }

    /// @notice The commitment an honest provider made for a job.
    function commitmentFor(uint256 jobId) internal view returns (Commitment memory) {
        return Commitment({
            provider: provider,
            stake: stakeOf(jobId),
            traceRoot: traceRootOf(jobId),
            attestationDigest: attestationOf(jobId)
        });
    }

    function commitmentFor(Request memory r) internal view returns (Commitment memory) {
        return commitmentFor(manager.jobIdOf(r));
    }

    function commit(uint256 jobId) internal {
        (, uint256 st) = manager.holderOf(jobId);
        stakes[jobId] = uint96(st);
        vm.prank(provider);
        manager.commit(jobId, traceRootOf(jobId), attestationOf(jobId));
    }

    function lockedCommitted(Request memory r) internal returns (uint256 jobId) {
        jobId = lockSigned(r);
        commit(jobId);
    }

    /// @dev Mines past the seed block.
    function toSeed(uint256 jobId) internal {
        Job memory j = manager.getJob(jobId);
        if (block.number <= j.seedBlock) vm.roll(uint256(j.seedBlock) + 1);
        vm.warp(block.timestamp + 12);
    }

    // ------------------------------------------------------------ results and proofs

    function tokensFor(uint256 n, uint256 seedValue) internal pure returns (uint256[] memory t) {
        t = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            t[i] = uint256(keccak256(abi.encode(seedValue, i))) % 50_257;
        }
    }

    function resultFor(uint256 jobId, uint256 n) internal pure returns (uint256[] memory) {
        return ResultDigest.pack(tokensFor(n, jobId));
    }

    /// @notice An honest submission: the seed the manager will use, the public inputs it will
    ///         rebuild and a valid proof of them.
    function submission(Request memory r) internal view returns (Submission memory s) {
        uint256 jobId = manager.jobIdOf(r);
        s.request = r;
        s.commitment = commitmentFor(jobId);
        s.result = resultFor(jobId, r.newTokens);
        uint256 seed = manager.seedOf(jobId);
        uint256 rd = hasher.resultDigest(r.newTokens, s.result);
        s.proof = SyntheticGroth16.prove([r.modelRoot, r.jobDigest, s.commitment.traceRoot, rd, seed]);
    }

    /// @notice The receipt a node key signs for an honest submission.
    function receiptOf(uint256 jobId, Submission memory s, uint256 seed, uint256 rd)
        internal
        view
        returns (Receipt memory rc)
    {
        rc = Receipt({
            jobId: jobId,
            provider: provider,
            modelRoot: s.request.modelRoot,
            jobDigest: s.request.jobDigest,
            traceRoot: s.commitment.traceRoot,
            attestationDigest: s.commitment.attestationDigest,
            seed: seed,
            resultDigest: rd,
            proofHash: keccak256(abi.encodePacked(s.proof))
        });
    }

    /// @notice A submission whose proof is valid for other public inputs (a wrong seed).
    function badSubmission(Request memory r) internal view returns (Submission memory s) {
        s = submission(r);
        uint256 jobId = manager.jobIdOf(r);
        uint256 rd = hasher.resultDigest(r.newTokens, s.result);
        s.proof = SyntheticGroth16.prove([r.modelRoot, r.jobDigest, s.commitment.traceRoot, rd, manager.seedOf(jobId) ^ 1]);
    }

    function submit(Submission memory s) internal returns (bool) {
        vm.prank(provider);
        return manager.submit(s);
    }

    function state(uint256 jobId) internal view returns (JobState) {
        return manager.getJob(jobId).state;
    }
}
