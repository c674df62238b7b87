// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../../src/ShapeRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {Job} from "../../src/types/Job.sol";
import {JobSpec} from "../../src/types/JobSpec.sol";
import {Layer} from "../../src/types/Layer.sol";
import {Receipt, ReceiptLibrary} from "../../src/types/Receipt.sol";
import {ShapeLibrary} from "../../src/types/Shape.sol";
import {AcceptingVerifier} from "../mocks/AcceptingVerifier.sol";

/// @notice A deployed protocol with a state-machine verifier mock, a funded buyer and a
///         registered, staked provider, plus helpers that drive a job through its states.
abstract contract Fixture is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint64 internal constant UNBONDING = 7 days;
    uint32 internal constant EXEC = 1 hours;
    uint32 internal constant PROVE = 1 hours;
    uint256 internal constant PRICE = 1_000e18;
    uint256 internal constant START_TIME = 1_800_000_000;
    uint256 internal constant START_BLOCK = 1_000;
    // A valid epilogue word: m = 1<<30, s = 31, z = 0 (stored as 128), relu = 1.
    uint256 internal constant EPILOGUE = (1 << 30) + (31 << 32) + (128 << 40) + (1 << 48);

    address internal gov = makeAddr("gov");
    address internal buyer = makeAddr("buyer");
    address internal provider = makeAddr("provider");
    address internal keeper = makeAddr("keeper");
    address internal nodeKey;
    uint256 internal nodeKeyPk;

    DevToken internal token;
    ProviderRegistry internal providers;
    ShapeRegistry internal shapes;
    SLAManager internal manager;
    AcceptingVerifier internal verifier;

    bytes32 internal shapeTiny; // K=16 N=4 D=3 k=2
    bytes32 internal shapeNext; // K=4  N=4 D=3 k=3 (chains after tiny)

    function setUp() public virtual {
        vm.warp(START_TIME);
        vm.roll(START_BLOCK);
        (nodeKey, nodeKeyPk) = makeAddrAndKey("nodeKey");
        token = new DevToken(gov, 0);
        providers = new ProviderRegistry(IERC20(address(token)), UNBONDING, gov);
        shapes = new ShapeRegistry(gov);
        manager = new SLAManager(IERC20(address(token)), providers, shapes, gov);
        verifier = new AcceptingVerifier();
        vm.startPrank(gov);
        providers.setManager(address(manager));
        shapeTiny = ShapeLibrary.id(16, 4, 3, 2);
        shapeNext = ShapeLibrary.id(4, 4, 3, 3);
        shapes.registerShape(shapeTiny, address(verifier), 16, 4, 3, 2);
        shapes.registerShape(shapeNext, address(verifier), 4, 4, 3, 3);
        token.mint(buyer, 1_000_000e18);
        token.mint(provider, 1_000_000e18);
        vm.stopPrank();

        vm.prank(buyer);
        token.approve(address(manager), type(uint256).max);
        vm.startPrank(provider);
        token.approve(address(providers), type(uint256).max);
        providers.register(nodeKey, 100_000e18);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ specs

    function oneLayerSpec() internal view returns (JobSpec memory spec) {
        spec.inputRoot = 111;
        spec.rows = 8;
        spec.layers = new Layer[](1);
        spec.layers[0] = Layer({shapeId: shapeTiny, weightsRoot: 222, epilogue: EPILOGUE});
    }

    function twoLayerSpec() internal view returns (JobSpec memory spec) {
        spec.inputRoot = 111;
        spec.rows = 5;
        spec.layers = new Layer[](2);
        spec.layers[0] = Layer({shapeId: shapeTiny, weightsRoot: 222, epilogue: EPILOGUE});
        spec.layers[1] = Layer({shapeId: shapeNext, weightsRoot: 333, epilogue: EPILOGUE});
    }

    function rootsFor(uint256 n) internal pure returns (uint256[] memory roots) {
        roots = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            roots[i] = 1000 + i;
        }
    }

    function proofsFor(uint256 n) internal pure returns (uint256[8][] memory proofs) {
        proofs = new uint256[8][](n);
        for (uint256 i = 0; i < n; ++i) {
            for (uint256 w = 0; w < 8; ++w) {
                proofs[i][w] = 7 + 8 * i + w;
            }
        }
    }

    // ------------------------------------------------------------ driving a job

    function post(JobSpec memory spec) internal returns (uint256 jobId) {
        vm.prank(buyer);
        jobId = manager.postJob(spec, PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, bytes32(0), "ipfs://job");
    }

    function postLocked(JobSpec memory spec) internal returns (uint256 jobId) {
        jobId = post(spec);
        vm.prank(provider);
        manager.lock(jobId);
    }

    function postCommitted(JobSpec memory spec) internal returns (uint256 jobId, uint256[] memory roots) {
        jobId = postLocked(spec);
        roots = rootsFor(spec.layers.length);
        vm.prank(provider);
        manager.commit(jobId, roots, ATTESTATION);
    }

    bytes32 internal constant ATTESTATION = keccak256("attestation");

    /// @dev The seed _fixSeed derives now (spec §6.2, v1): `secret` is the buyer's revealed
    ///      secret, or zero for a seed fixed without it. Computed here independently of the manager.
    function expectedSeed(uint256 jobId, bytes32 secret) internal view returns (uint256) {
        Job memory j = manager.getJob(jobId);
        return uint256(
            keccak256(
                abi.encodePacked(
                    "probity/seed/v1",
                    block.chainid,
                    address(manager),
                    jobId,
                    j.outputsDigest,
                    blockhash(j.seedBlock),
                    secret
                )
            )
        ) % R;
    }

    /// @dev Moves past the seed block and fixes the seed.
    function advanceToSeed(uint256 jobId) internal returns (uint256 seed) {
        vm.roll(manager.getJob(jobId).seedBlock + 1);
        manager.fixSeed(jobId);
        seed = manager.getJob(jobId).seed;
    }

    // ------------------------------------------------------------ receipts

    /// @dev The EIP-712 domain separator computed independently of OpenZeppelin's EIP712.
    function domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Probity"),
                keccak256("0"),
                block.chainid,
                address(manager)
            )
        );
    }

    function proofsHash(uint256[8][] memory proofs) internal pure returns (bytes32) {
        bytes memory all;
        for (uint256 i = 0; i < proofs.length; ++i) {
            all = bytes.concat(all, abi.encode(proofs[i]));
        }
        return keccak256(all);
    }

    function receiptFor(uint256 jobId, JobSpec memory spec, uint256[] memory roots, uint256[8][] memory proofs)
        internal
        view
        returns (Receipt memory r)
    {
        r = Receipt({
            jobId: jobId,
            provider: provider,
            specHash: manager.specHashOf(spec),
            outputRoots: roots,
            attestationDigest: ATTESTATION,
            seed: manager.getJob(jobId).seed,
            k: manager.getJob(jobId).kmin,
            proofsHash: proofsHash(proofs)
        });
    }

    function digestOf(Receipt memory r, bytes32 domain) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domain, ReceiptLibrary.hash(r)));
    }

    function signDigest(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function signReceipt(uint256 jobId, JobSpec memory spec, uint256[] memory roots, uint256[8][] memory proofs)
        internal
        view
        returns (bytes memory)
    {
        return signDigest(nodeKeyPk, digestOf(receiptFor(jobId, spec, roots, proofs), domainSeparator()));
    }

    function submit(uint256 jobId, JobSpec memory spec, uint256[] memory roots, uint256[8][] memory proofs)
        internal
        returns (bool)
    {
        bytes memory sig = signReceipt(jobId, spec, roots, proofs);
        vm.prank(provider);
        return manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);
    }
}
