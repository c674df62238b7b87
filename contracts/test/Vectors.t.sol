// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../src/ShapeRegistry.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {Job} from "../src/types/Job.sol";
import {Receipt, ReceiptLibrary} from "../src/types/Receipt.sol";
import {StakeMath} from "../src/libraries/StakeMath.sol";
import {JobSpec, JobSpecLibrary} from "../src/types/JobSpec.sol";
import {Layer, LayerLibrary} from "../src/types/Layer.sol";
import {ShapeLibrary} from "../src/types/Shape.sol";

/// @dev A manager whose code the vector tests etch elsewhere; its token and registries are unused.
function bareManager() returns (SLAManager) {
    ProviderRegistry p = new ProviderRegistry(IERC20(address(1)), 1, address(1));
    return new SLAManager(IERC20(address(1)), p, ShapeRegistry(address(3)), address(1));
}

/// @dev Exposes the calldata-only proofs hash.
contract ProofsHasher {
    function proofsHash(uint256[8][] calldata proofs) external pure returns (bytes32) {
        return ReceiptLibrary.proofsHash(proofs);
    }
}

/// @notice Pins the Solidity EIP-712 code to the vectors the Go side generated with cast
///         (testdata/vectors/*.json): the same digests in both languages.
contract VectorsTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/receipt_eip712.json"));
    }

    function _receipt() internal returns (Receipt memory r, uint256[8][] memory proofs) {
        bytes32[] memory roots = vm.parseJsonBytes32Array(json, ".input.outputRoots");
        r.outputRoots = new uint256[](roots.length);
        for (uint256 i = 0; i < roots.length; ++i) {
            r.outputRoots[i] = uint256(roots[i]);
        }
        r.jobId = vm.parseJsonUint(json, ".input.jobId");
        r.provider = vm.parseJsonAddress(json, ".input.provider");
        r.specHash = vm.parseJsonBytes32(json, ".input.specHash");
        r.attestationDigest = vm.parseJsonBytes32(json, ".input.attestationDigest");
        r.seed = uint256(vm.parseJsonBytes32(json, ".input.seed"));
        r.k = uint16(vm.parseJsonUint(json, ".input.k"));
        proofs = new uint256[8][](2);
        for (uint256 i = 0; i < 2; ++i) {
            bytes memory p = vm.parseJsonBytes(json, string.concat(".input.proofs[", vm.toString(i), "]"));
            assertEq(p.length, 256);
            proofs[i] = abi.decode(p, (uint256[8]));
        }
        r.proofsHash = new ProofsHasher().proofsHash(proofs);
    }

    function test_receiptVector_typeHashAndStruct() public {
        assertEq(ReceiptLibrary.RECEIPT_TYPEHASH, vm.parseJsonBytes32(json, ".output.receiptTypeHash"));
        (Receipt memory r,) = _receipt();
        assertEq(r.proofsHash, vm.parseJsonBytes32(json, ".output.proofsHash"));
        assertEq(ReceiptLibrary.hash(r), vm.parseJsonBytes32(json, ".output.structHash"));
    }

    /// @dev The manager's own receiptDigest, run at the vector's chain id and address.
    function test_receiptVector_managerDigestAndSigner() public {
        (Receipt memory r,) = _receipt();
        address at = vm.parseJsonAddress(json, ".input.contract");
        vm.chainId(vm.parseJsonUint(json, ".input.chainId"));
        SLAManager m = bareManager();
        vm.etch(at, address(m).code);
        SLAManager atVector = SLAManager(at);
        assertEq(atVector.domainSeparator(), vm.parseJsonBytes32(json, ".output.domainSeparator"));
        bytes32 digest = atVector.receiptDigest(r);
        assertEq(digest, vm.parseJsonBytes32(json, ".output.digest"));

        bytes memory sig = vm.parseJsonBytes(json, ".output.signature");
        bytes32 rr;
        bytes32 ss;
        uint8 v;
        assembly {
            rr := mload(add(sig, 32))
            ss := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        assertEq(ecrecover(digest, v, rr, ss), vm.parseJsonAddress(json, ".output.signer"));
        assertEq(vm.addr(vm.parseJsonUint(json, ".privateKey")), vm.parseJsonAddress(json, ".output.signer"));
    }
}

/// @notice Stake sizing (spec §11) bit for bit against testdata/vectors/stake.json.
contract StakeVectorsTest is Test {
    function test_stakeVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/stake.json"));
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]"))) {
            string memory c = string.concat(".cases[", vm.toString(n), "]");
            uint16 f0 = uint16(vm.parseJsonUint(json, string.concat(c, ".f0Bps")));
            uint16 k = uint16(vm.parseJsonUint(json, string.concat(c, ".k")));
            uint256 price = vm.parseJsonUint(json, string.concat(c, ".price"));
            StakeHarness h = new StakeHarness();
            if (keccak256(bytes(vm.parseJsonString(json, string.concat(c, ".expect")))) == keccak256("revert")) {
                vm.expectRevert(abi.encodeWithSelector(StakeMath.DetectionUndefined.selector, f0, k));
                h.requiredStake(price, f0, k);
            } else {
                assertEq(h.requiredStake(price, f0, k), vm.parseJsonUint(json, string.concat(c, ".stake")), c);
                assertEq(h.detection(f0, k), vm.parseJsonUint(json, string.concat(c, ".detection")), c);
            }
            n++;
        }
        assertGt(n, 10);
    }

    /// @dev grossStake (what lock reserves) and the bounty taken out of it, bit for bit.
    function test_grossStakeVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/stake.json"));
        StakeHarness h = new StakeHarness();
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".grossStake[", vm.toString(n), "]"))) {
            string memory c = string.concat(".grossStake[", vm.toString(n), "]");
            uint256 net = vm.parseJsonUint(json, string.concat(c, ".net"));
            uint16 bps = uint16(vm.parseJsonUint(json, string.concat(c, ".bountyBps")));
            uint256 gross = h.grossStake(net, bps);
            assertEq(gross, vm.parseJsonUint(json, string.concat(c, ".grossStake")), c);
            uint256 bounty = (gross * bps) / 10_000;
            assertEq(bounty, vm.parseJsonUint(json, string.concat(c, ".bounty")), c);
            assertGe(gross - bounty, net, c);
            n++;
        }
        assertGt(n, 5);
    }
}

contract StakeHarness {
    function grossStake(uint256 net, uint16 bountyBps) external pure returns (uint256) {
        return StakeMath.grossStake(net, bountyBps);
    }

    function requiredStake(uint256 price, uint16 f0, uint16 k) external pure returns (uint256) {
        return StakeMath.requiredStake(price, f0, k);
    }

    function detection(uint16 f0, uint16 k) external pure returns (uint256) {
        return StakeMath.detectionProbability(f0, k);
    }
}

/// @notice Outputs digest, seed commitments and seeds (spec §6.2) against testdata/vectors/seed.json.
contract SeedVectorsTest is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    function test_seedVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/seed.json"));
        SLAManager m = bareManager();
        assertEq(vm.parseJsonUint(json, ".seedDelay"), m.SEED_DELAY());
        assertEq(vm.parseJsonUint(json, ".revealBlocks"), m.REVEAL_BLOCKS());
        assertEq(vm.parseJsonUint(json, ".seedHorizon"), m.SEED_HORIZON());
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".outputsDigest[", vm.toString(n), "]"))) {
            string memory c = string.concat(".outputsDigest[", vm.toString(n), "]");
            uint256[] memory roots = vm.parseJsonUintArray(json, string.concat(c, ".outputRoots"));
            bytes32 att = vm.parseJsonBytes32(json, string.concat(c, ".attestationDigest"));
            assertEq(abi.encode(roots, att), vm.parseJsonBytes(json, string.concat(c, ".encoded")));
            assertEq(m.outputsDigestOf(roots, att), vm.parseJsonBytes32(json, string.concat(c, ".outputsDigest")));
            n++;
        }
        assertGt(n, 0);
        n = 0;
        uint256 withSecret;
        while (vm.keyExistsJson(json, string.concat(".seed[", vm.toString(n), "]"))) {
            string memory c = string.concat(".seed[", vm.toString(n), "]");
            uint256 seed = vm.parseJsonUint(json, string.concat(c, ".seed"));
            bytes32 secret = vm.parseJsonBytes32(json, string.concat(c, ".secret"));
            if (secret != bytes32(0)) withSecret++;
            assertEq(keccak256(abi.encode(secret)), vm.parseJsonBytes32(json, string.concat(c, ".seedCommitment")), c);
            // The manager's _fixSeed expression, with the vector's chain, address, job, block hash
            // and secret; test_seedVector_managerFixesIt ties the contract itself to the vectors.
            uint256 got = uint256(
                keccak256(
                    abi.encodePacked(
                        "probity/seed/v1",
                        vm.parseJsonUint(json, string.concat(c, ".chainId")),
                        vm.parseJsonAddress(json, string.concat(c, ".manager")),
                        vm.parseJsonUint(json, string.concat(c, ".jobId")),
                        vm.parseJsonBytes32(json, string.concat(c, ".outputsDigest")),
                        vm.parseJsonBytes32(json, string.concat(c, ".blockHash")),
                        secret
                    )
                )
            ) % R;
            assertEq(got, seed, c);
            uint256[] memory ls = vm.parseJsonUintArray(json, string.concat(c, ".layerSeeds"));
            for (uint256 l = 0; l < ls.length; ++l) {
                assertEq(m.layerSeed(seed, uint32(l)), ls[l]);
            }
            n++;
        }
        assertGt(withSecret, 0, "no vector with a buyer secret");
        assertGt(n, withSecret, "no vector without a buyer secret");
    }

    /// @dev The seed the manager itself fixes for every vector, at the vector's chain id, address
    ///      and job id: the job's outputs digest, seed commitment and the seed block hash are
    ///      planted with store/setBlockhash. A vector with a secret goes through revealSeed, one
    ///      without through fixSeed.
    function test_seedVector_managerFixesIt() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/seed.json"));
        bytes memory code = address(bareManager()).code;
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".seed[", vm.toString(n), "]"))) {
            _managerFixes(json, string.concat(".seed[", vm.toString(n), "]"), code);
            n++;
        }
        assertGt(n, 0);
    }

    function _managerFixes(string memory json, string memory c, bytes memory code) internal {
        uint256 snap = vm.snapshotState();
        vm.chainId(vm.parseJsonUint(json, string.concat(c, ".chainId")));
        uint256 jobId = vm.parseJsonUint(json, string.concat(c, ".jobId"));
        address at = vm.parseJsonAddress(json, string.concat(c, ".manager"));
        bytes32 secret = vm.parseJsonBytes32(json, string.concat(c, ".secret"));
        vm.etch(at, code);
        // Job `jobId` in state Committed with the vector's outputs digest and seed block 100.
        // Storage: _jobs is a mapping after owner, pendingOwner, guard status, name/version
        // fallbacks, params, jobCount, totalEscrow, totalCredits; find it by probing.
        bytes32 base = _jobSlot(at, jobId);
        // Slot 0 is full after seedFixed, so lockBy opens slot 1 and slot 2 packs proveWindow,
        // bountyBps, abandonBps, commitBy, proveBy, seedBlock (from the low end: seedBlock at
        // bit 192); slot 6 is the outputs digest and slot 8 the seed commitment. The reads below
        // confirm the layout.
        vm.store(at, bytes32(uint256(base) + 2), bytes32(uint256(100) << 192)); // seedBlock
        vm.store(at, bytes32(uint256(base) + 6), vm.parseJsonBytes32(json, string.concat(c, ".outputsDigest")));
        if (secret != bytes32(0)) {
            vm.store(at, bytes32(uint256(base) + 8), vm.parseJsonBytes32(json, string.concat(c, ".seedCommitment")));
        }
        vm.roll(101);
        vm.setBlockhash(100, vm.parseJsonBytes32(json, string.concat(c, ".blockHash")));
        Job memory j = SLAManager(at).getJob(jobId);
        assertEq(j.seedBlock, 100, "planted seedBlock");
        assertEq(j.outputsDigest, vm.parseJsonBytes32(json, string.concat(c, ".outputsDigest")));
        if (secret != bytes32(0)) {
            assertEq(j.seedCommitment, vm.parseJsonBytes32(json, string.concat(c, ".seedCommitment")));
            SLAManager(at).revealSeed(jobId, secret);
        } else {
            SLAManager(at).fixSeed(jobId);
        }
        assertEq(SLAManager(at).getJob(jobId).seed, vm.parseJsonUint(json, string.concat(c, ".seed")), c);
        vm.revertToState(snap);
    }

    uint8 internal constant JobStateCommitted = 3;

    function _jobSlot(address at, uint256 jobId) internal returns (bytes32) {
        for (uint256 slot = 0; slot < 16; ++slot) {
            bytes32 s = keccak256(abi.encode(jobId, slot));
            vm.store(at, s, bytes32(uint256(JobStateCommitted) << 160));
            if (uint8(SLAManager(at).getJob(jobId).state) == JobStateCommitted) return s;
            vm.store(at, s, bytes32(0));
        }
        revert("job mapping slot not found");
    }
}

/// @notice JobSpec EIP-712 hashing (spec §6.1) against testdata/vectors/jobspec_eip712.json.
contract JobSpecVectorsTest is Test {
    function test_jobSpecVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/jobspec_eip712.json"));
        assertEq(keccak256(bytes(LayerLibrary.LAYER_TYPE)), vm.parseJsonBytes32(json, ".types.layerTypeHash"));
        assertEq(JobSpecLibrary.JOBSPEC_TYPEHASH, vm.parseJsonBytes32(json, ".types.jobSpecTypeHash"));
        assertEq(JobSpecLibrary.JOBSPEC_TYPE, vm.parseJsonString(json, ".types.JobSpec"));

        JobSpec memory spec;
        spec.inputRoot = vm.parseJsonUint(json, ".jobSpec.inputRoot");
        spec.rows = uint32(vm.parseJsonUint(json, ".jobSpec.rows"));
        bytes32[] memory layerHashes = vm.parseJsonBytes32Array(json, ".layerHashes");
        spec.layers = new Layer[](layerHashes.length);
        for (uint256 i = 0; i < layerHashes.length; ++i) {
            string memory l = string.concat(".jobSpec.layers[", vm.toString(i), "]");
            spec.layers[i] = Layer({
                shapeId: vm.parseJsonBytes32(json, string.concat(l, ".shapeId")),
                weightsRoot: vm.parseJsonUint(json, string.concat(l, ".weightsRoot")),
                epilogue: vm.parseJsonUint(json, string.concat(l, ".epilogue"))
            });
            assertEq(
                keccak256(abi.encode(LayerLibrary.LAYER_TYPEHASH, spec.layers[i].shapeId, spec.layers[i].weightsRoot, spec.layers[i].epilogue)),
                layerHashes[i]
            );
        }
        vm.chainId(vm.parseJsonUint(json, ".domain.chainId"));
        address at = vm.parseJsonAddress(json, ".domain.verifyingContract");
        SLAManager m = bareManager();
        vm.etch(at, address(m).code);
        bytes32 structHash = SLAManager(at).specHashOf(spec);
        assertEq(structHash, vm.parseJsonBytes32(json, ".structHash"));
        assertEq(SLAManager(at).domainSeparator(), vm.parseJsonBytes32(json, ".domainSeparator"));
        assertEq(
            keccak256(abi.encodePacked("\x19\x01", SLAManager(at).domainSeparator(), structHash)),
            vm.parseJsonBytes32(json, ".digest")
        );

        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".shapes[", vm.toString(n), "]"))) {
            string memory s = string.concat(".shapes[", vm.toString(n), "]");
            assertEq(
                ShapeLibrary.id(
                    uint32(vm.parseJsonUint(json, string.concat(s, ".K"))),
                    uint32(vm.parseJsonUint(json, string.concat(s, ".N"))),
                    uint8(vm.parseJsonUint(json, string.concat(s, ".D"))),
                    uint16(vm.parseJsonUint(json, string.concat(s, ".k")))
                ),
                vm.parseJsonBytes32(json, string.concat(s, ".shapeId"))
            );
            n++;
        }
        assertEq(n, 4);
    }
}
