// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";
import {Job, JobState} from "../../src/types/Job.sol";
import {JobSpec} from "../../src/types/JobSpec.sol";
import {Layer} from "../../src/types/Layer.sol";
import {Receipt, ReceiptLibrary} from "../../src/types/Receipt.sol";

/// @notice TEST ONLY. Accepts exactly the proofs whose first word is even, so a handler can
///         submit valid and invalid proofs through one registered verifier.
contract ParityVerifier is IGroth16Verifier {
    function verifyProof(uint256[8] calldata proof, uint256[5] calldata) external pure returns (bool) {
        return proof[0] % 2 == 0;
    }
}

/// @notice Drives random sequences of every SLA action with bounded arguments and records
///         ghost state the invariants compare against.
contract SLAHandler is Test {
    uint256 internal constant EPILOGUE = (1 << 30) + (31 << 32) + (128 << 40);

    DevToken public token;
    ProviderRegistry public providers;
    SLAManager public manager;
    bytes32 public shapeId;

    address[3] public buyers;
    address[2] public provs;
    uint256[2] public nodePks;
    address public keeper;

    uint256[] public jobIds;
    mapping(uint256 => uint256) public timesPaid;
    mapping(uint256 => bool) public submittedValid;
    uint256 public ghostEscrow;
    bool public paidWithoutValidProof;
    bool public slashedBeforeDeadline;
    bool public paidTwice;
    uint256 public calls;

    constructor(DevToken token_, ProviderRegistry providers_, SLAManager manager_, bytes32 shapeId_) {
        token = token_;
        providers = providers_;
        manager = manager_;
        shapeId = shapeId_;
        buyers = [makeAddr("b0"), makeAddr("b1"), makeAddr("b2")];
        provs = [makeAddr("p0"), makeAddr("p1")];
        keeper = makeAddr("keeper");
        for (uint256 i = 0; i < 2; ++i) {
            (, nodePks[i]) = makeAddrAndKey(string.concat("node", vm.toString(i)));
        }
    }

    /// @dev Called by the test after it has funded the actors.
    function init() external {
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(buyers[i]);
            token.approve(address(manager), type(uint256).max);
        }
        for (uint256 i = 0; i < 2; ++i) {
            vm.startPrank(provs[i]);
            token.approve(address(providers), type(uint256).max);
            providers.register(vm.addr(nodePks[i]), 50_000e18);
            vm.stopPrank();
        }
    }

    function _spec(uint256 salt) internal view returns (JobSpec memory spec) {
        spec.inputRoot = 1 + (salt % 1000);
        spec.rows = 8;
        spec.layers = new Layer[](1);
        spec.layers[0] = Layer({shapeId: shapeId, weightsRoot: 7, epilogue: EPILOGUE});
    }

    function _job(uint256 seed) internal view returns (uint256 jobId, Job memory j) {
        if (jobIds.length == 0) return (0, j);
        jobId = jobIds[seed % jobIds.length];
        j = manager.getJob(jobId);
    }

    function postJob(uint256 who, uint256 price, uint256 salt) external {
        calls++;
        address b = buyers[who % 3];
        price = bound(price, 1, 5_000e18);
        vm.prank(b);
        uint256 jobId = manager.postJob(_spec(salt), price, uint64(block.timestamp + 1 hours), 1 hours, 1 hours, "");
        jobIds.push(jobId);
        ghostEscrow += price;
    }

    function cancel(uint256 seed) external {
        calls++;
        (uint256 jobId, Job memory j) = _job(seed);
        if (j.state != JobState.Open) return;
        vm.prank(j.buyer);
        manager.cancel(jobId);
        ghostEscrow -= j.price;
    }

    function lock(uint256 seed, uint256 who) external {
        calls++;
        (uint256 jobId, Job memory j) = _job(seed);
        if (j.state != JobState.Open || block.timestamp > j.lockBy) return;
        address p = provs[who % 2];
        if (providers.freeStake(p) < manager.requiredStake(j.price, j.kmin)) return;
        vm.prank(p);
        manager.lock(jobId);
    }

    function commit(uint256 seed) external {
        calls++;
        (uint256 jobId, Job memory j) = _job(seed);
        if (j.state != JobState.Locked || block.timestamp > j.commitBy) return;
        uint256[] memory roots = new uint256[](1);
        roots[0] = 99;
        vm.prank(j.provider);
        manager.commit(jobId, roots, bytes32(jobId));
    }

    function submit(uint256 seed, bool valid) external {
        calls++;
        (uint256 jobId, Job memory j) = _job(seed);
        if (j.state != JobState.Committed || block.timestamp > j.proveBy) return;
        if (block.number <= j.seedBlock) vm.roll(j.seedBlock + 1);
        if (!j.seedFixed && block.number > uint256(j.seedBlock) + 256) return;
        if (!j.seedFixed) manager.fixSeed(jobId);
        j = manager.getJob(jobId);
        uint256[] memory roots = new uint256[](1);
        roots[0] = 99;
        uint256[8][] memory proofs = new uint256[8][](1);
        proofs[0][0] = valid ? 2 : 3;
        bytes memory sig = _sign(jobId, j, roots, proofs);
        uint256 creditBefore = manager.creditOf(j.provider);
        JobSpec memory spec = _spec(_saltOf(j)); // before the prank: it makes external calls
        vm.prank(j.provider);
        manager.submitProof(jobId, spec, roots, bytes32(jobId), proofs, sig);
        ghostEscrow -= j.price;
        if (manager.creditOf(j.provider) > creditBefore) {
            if (!valid) paidWithoutValidProof = true;
            if (++timesPaid[jobId] > 1) paidTwice = true;
        }
        if (valid) submittedValid[jobId] = true;
    }

    function slash(uint256 seed) external {
        calls++;
        (uint256 jobId, Job memory j) = _job(seed);
        if (j.state != JobState.Locked && j.state != JobState.Committed) return;
        uint64 deadline = j.state == JobState.Locked ? j.commitBy : j.proveBy;
        vm.prank(keeper);
        try manager.slash(jobId) {
            if (block.timestamp <= deadline) slashedBeforeDeadline = true;
            ghostEscrow -= j.price;
        } catch {}
    }

    function withdraw(uint256 who) external {
        calls++;
        address[6] memory all = [buyers[0], buyers[1], buyers[2], provs[0], provs[1], keeper];
        address a = all[who % 6];
        if (manager.creditOf(a) == 0) return;
        vm.prank(a);
        manager.withdraw();
    }

    function addStake(uint256 who, uint256 amount) external {
        calls++;
        address p = provs[who % 2];
        amount = bound(amount, 1, 1_000e18);
        vm.prank(p);
        providers.addStake(amount);
    }

    function unbond(uint256 who, uint256 amount) external {
        calls++;
        address p = provs[who % 2];
        uint256 free = providers.freeStake(p);
        if (free == 0) return;
        vm.prank(p);
        providers.requestUnbond(bound(amount, 1, free));
    }

    function withdrawUnbonded(uint256 who) external {
        calls++;
        address p = provs[who % 2];
        if (providers.providerOf(p).unbonding == 0) return;
        vm.warp(block.timestamp + 1 days);
        vm.prank(p);
        providers.withdrawUnbonded();
    }

    function passTime(uint256 dt, uint256 blocks) external {
        calls++;
        vm.warp(block.timestamp + bound(dt, 1, 2 hours));
        vm.roll(block.number + bound(blocks, 1, 20));
    }

    // ------------------------------------------------------------ helpers

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    function creditsOfActors() external view returns (uint256 sum) {
        address[6] memory all = [buyers[0], buyers[1], buyers[2], provs[0], provs[1], keeper];
        for (uint256 i = 0; i < 6; ++i) {
            sum += manager.creditOf(all[i]);
        }
    }

    /// @dev The spec salt is recoverable from the stored spec hash by trying the salts used.
    function _saltOf(Job memory j) internal view returns (uint256) {
        for (uint256 s = 0; s < 1000; ++s) {
            if (manager.specHashOf(_spec(s)) == j.specHash) return s;
        }
        revert("spec not found");
    }

    function _sign(uint256 jobId, Job memory j, uint256[] memory roots, uint256[8][] memory proofs)
        internal
        view
        returns (bytes memory)
    {
        Receipt memory r = Receipt({
            jobId: jobId,
            provider: j.provider,
            specHash: j.specHash,
            outputRoots: roots,
            attestationDigest: bytes32(jobId),
            seed: j.seed,
            k: j.kmin,
            proofsHash: keccak256(abi.encode(proofs[0]))
        });
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", manager.domainSeparator(), ReceiptLibrary.hash(r)));
        uint256 pk = j.provider == provs[0] ? nodePks[0] : nodePks[1];
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(pk, digest);
        return abi.encodePacked(rr, ss, v);
    }
}
