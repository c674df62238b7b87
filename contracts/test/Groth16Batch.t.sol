// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Groth16Verifier} from "../src/Groth16Verifier.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";
import {Groth16Vector} from "./helpers/Groth16Vector.sol";

/// @notice TEST ONLY: exposes the batch transcript and the member half of the pairing input
///         (which holds the scalars' effect), so the tests can pin both to specs/circuit.md §7.
contract Groth16BatchHarness is Groth16Verifier {
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[12] memory ic
    ) Groth16Verifier(alpha, beta, gamma, delta, ic) {}

    function transcript(uint256[8][] calldata proofs, uint256[5][] calldata inputs) external view returns (bytes32) {
        return _batchTranscript(proofs, inputs);
    }

    /// @dev The member half of verifyBatch: the pairs, sum r_i C_i and the combined scalars.
    function members(uint256[8][] calldata proofs, uint256[5][] calldata inputs)
        external
        view
        returns (bool ok, uint256[] memory w, uint256[6] memory acc)
    {
        uint256 n = proofs.length;
        require(n > 0 && inputs.length == n, "harness: shape");
        bytes32 t = _batchTranscript(proofs, inputs);
        w = new uint256[](6 * (n + 3));
        ok = _combineMembers(proofs, inputs, t, w, acc);
    }
}

/// @notice Shared batch builders and G1 helpers.
abstract contract Groth16BatchBase is Test {
    uint256 internal constant R = SyntheticGroth16.R;
    uint256 internal constant P = SyntheticGroth16.P;

    /// @dev The transcript t of specs/circuit.md §7, built independently with abi.encodePacked.
    function _transcriptRef(bytes32 vkDigest, uint256[8][] memory proofs, uint256[5][] memory inputs)
        internal
        pure
        returns (bytes32)
    {
        bytes memory data = abi.encodePacked(bytes24("probity/groth16-batch/v1"), vkDigest, proofs.length);
        for (uint256 i = 0; i < proofs.length; ++i) {
            data = abi.encodePacked(data, proofs[i]);
        }
        for (uint256 i = 0; i < inputs.length; ++i) {
            data = abi.encodePacked(data, inputs[i]);
        }
        return keccak256(data);
    }

    function _vkDigest(Groth16Verifier v) internal view returns (bytes32) {
        (uint256[2] memory a, uint256[4] memory b, uint256[4] memory g, uint256[4] memory d, uint256[12] memory ic) =
            v.verifyingKey();
        return keccak256(abi.encodePacked(a, b, g, d, ic));
    }

    /// @dev AND over verifyProof: what verifyBatch must answer (up to its 2^-252 error).
    function _andOfSingles(Groth16Verifier v, uint256[8][] memory proofs, uint256[5][] memory inputs)
        internal
        view
        returns (bool all)
    {
        if (proofs.length == 0 || proofs.length != inputs.length) return false;
        all = true;
        for (uint256 i = 0; i < proofs.length; ++i) {
            all = all && v.verifyProof(proofs[i], inputs[i]);
        }
    }

    function _g1Mul(uint256 x, uint256 y, uint256 k) internal view returns (uint256, uint256) {
        uint256[3] memory input = [x, y, k];
        uint256[2] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, out, 0x40)
        }
        require(ok, "ecMul");
        return (out[0], out[1]);
    }

    function _g1Add(uint256 x1, uint256 y1, uint256 x2, uint256 y2) internal view returns (uint256, uint256) {
        uint256[4] memory input = [x1, y1, x2, y2];
        uint256[2] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, out, 0x40)
        }
        require(ok, "ecAdd");
        return (out[0], out[1]);
    }
}

/// @notice verifyBatch over the synthetic key (real pairing arithmetic, proofs valid by
///         construction): acceptance, every single-member corruption, the attacks a batch without
///         randomness would miss (swapped inputs, compensating errors), malformed batches, the
///         equality with AND over verifyProof, the transcript encoding and the gas per size.
contract Groth16BatchTest is Groth16BatchBase {
    Groth16Verifier internal v;
    Groth16BatchHarness internal h;

    function setUp() public {
        v = SyntheticGroth16.deploy();
        (uint256[2] memory a, uint256[4] memory b, uint256[4] memory g, uint256[4] memory d, uint256[12] memory ic) =
            v.verifyingKey();
        h = new Groth16BatchHarness(a, b, g, d, ic);
    }

    /// @dev n valid members with inputs drawn from seed (distinct statements).
    function _batch(uint256 n, uint256 seed)
        internal
        view
        returns (uint256[8][] memory proofs, uint256[5][] memory inputs)
    {
        proofs = new uint256[8][](n);
        inputs = new uint256[5][](n);
        for (uint256 i = 0; i < n; ++i) {
            for (uint256 j = 0; j < 5; ++j) {
                inputs[i][j] = uint256(keccak256(abi.encode(seed, i, j))) % R;
            }
            proofs[i] = SyntheticGroth16.prove(inputs[i]);
        }
    }

    // ---- acceptance ----

    function test_acceptsValidBatchesOf1To16() public view {
        for (uint256 n = 1; n <= 16; ++n) {
            (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, n);
            assertTrue(v.verifyBatch(proofs, inputs), string.concat("valid batch of ", vm.toString(n), " refused"));
        }
    }

    function testFuzz_acceptsValidBatch(uint8 size, uint256 seed) public view {
        uint256 n = bound(size, 1, 16);
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, seed);
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_acceptsMaxBatch() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(v.MAX_BATCH(), 7);
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_acceptsRepeatedAndZeroInputs() public view {
        uint256[5] memory zero;
        uint256[8][] memory proofs = new uint256[8][](3);
        uint256[5][] memory inputs = new uint256[5][](3);
        for (uint256 i = 0; i < 3; ++i) {
            inputs[i] = zero;
            proofs[i] = SyntheticGroth16.prove(zero);
        }
        assertTrue(v.verifyBatch(proofs, inputs), "same statement three times");
        inputs[1] = [R - 1, R - 1, R - 1, R - 1, R - 1];
        proofs[1] = SyntheticGroth16.prove(inputs[1]);
        assertTrue(v.verifyBatch(proofs, inputs), "inputs R - 1");
    }

    function test_orderDoesNotMatter() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(5, 11);
        // Swapping two whole members keeps every member valid.
        (proofs[1], proofs[4]) = (proofs[4], proofs[1]);
        (inputs[1], inputs[4]) = (inputs[4], inputs[1]);
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_batchOfOneEqualsVerifyProof() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(1, 3);
        assertTrue(v.verifyBatch(proofs, inputs));
        proofs[0][6] ^= 1;
        assertFalse(v.verifyProof(proofs[0], inputs[0]));
        assertFalse(v.verifyBatch(proofs, inputs));
    }

    // ---- one bad member ----

    function test_rejectsEveryMangledWordInEveryMember() public view {
        uint256 n = 4;
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 42);
        for (uint256 m = 0; m < n; ++m) {
            for (uint256 w = 0; w < 8; ++w) {
                proofs[m][w] ^= 1;
                assertFalse(v.verifyBatch(proofs, inputs), "flipped proof word accepted");
                proofs[m][w] ^= 1;
            }
            for (uint256 j = 0; j < 5; ++j) {
                inputs[m][j] ^= 1;
                assertFalse(v.verifyBatch(proofs, inputs), "flipped input accepted");
                inputs[m][j] ^= 1;
                // x + R is the same field element: the unreduced form is refused.
                inputs[m][j] += R;
                assertFalse(v.verifyBatch(proofs, inputs), "input >= R accepted");
                inputs[m][j] -= R;
            }
        }
        assertTrue(v.verifyBatch(proofs, inputs), "restored batch refused");
    }

    function testFuzz_rejectsOneMangledMember(uint8 size, uint256 member, uint8 word, uint256 delta, uint256 seed)
        public
        view
    {
        uint256 n = bound(size, 1, 8);
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, seed);
        uint256 m = member % n;
        uint256 k = word % 13;
        delta = bound(delta, 1, type(uint256).max);
        if (k < 8) proofs[m][k] ^= delta;
        else inputs[m][k - 8] ^= delta;
        assertFalse(v.verifyProof(proofs[m], inputs[m]));
        assertFalse(v.verifyBatch(proofs, inputs));
    }

    /// @dev A batch with equal weights would accept this: member a's error is member b's with
    ///      the sign flipped. Random weights catch it.
    function test_rejectsAnInputSwappedBetweenTwoMembers() public view {
        uint256 n = 4;
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 5);
        for (uint256 a = 0; a < n; ++a) {
            for (uint256 b = a + 1; b < n; ++b) {
                for (uint256 j = 0; j < 5; ++j) {
                    (inputs[a][j], inputs[b][j]) = (inputs[b][j], inputs[a][j]);
                    assertFalse(v.verifyBatch(proofs, inputs), "swapped input accepted");
                    (inputs[a][j], inputs[b][j]) = (inputs[b][j], inputs[a][j]);
                }
                // The whole statement swapped, proofs left in place.
                (inputs[a], inputs[b]) = (inputs[b], inputs[a]);
                assertFalse(v.verifyBatch(proofs, inputs), "swapped statements accepted");
                (inputs[a], inputs[b]) = (inputs[b], inputs[a]);
            }
        }
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    /// @dev A_a + d g1 and A_b - d g1: two invalid proofs whose errors cancel under equal weights.
    function testFuzz_rejectsCompensatingErrors(uint256 d, uint256 seed) public view {
        d = bound(d, 1, R - 1);
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(3, seed);
        (uint256 px, uint256 py) = SyntheticGroth16.g1Mul(d);
        (uint256 qx, uint256 qy) = SyntheticGroth16.g1Mul(R - d);
        (proofs[0][0], proofs[0][1]) = _g1Add(proofs[0][0], proofs[0][1], px, py);
        (proofs[2][0], proofs[2][1]) = _g1Add(proofs[2][0], proofs[2][1], qx, qy);
        assertFalse(v.verifyBatch(proofs, inputs));
        // The same errors on C cancel as well under equal weights.
        (proofs, inputs) = _batch(3, seed);
        (proofs[1][6], proofs[1][7]) = _g1Add(proofs[1][6], proofs[1][7], px, py);
        (proofs[2][6], proofs[2][7]) = _g1Add(proofs[2][6], proofs[2][7], qx, qy);
        assertFalse(v.verifyBatch(proofs, inputs));
    }

    // ---- agreement with verifyProof ----

    /// @dev Each member independently valid, mangled, or given another member's statement.
    function testFuzz_equalsAndOfVerifyProof(uint8 size, uint256 seed, uint256 plan) public view {
        uint256 n = bound(size, 1, 8);
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, seed);
        for (uint256 i = 0; i < n; ++i) {
            uint256 c = uint256(keccak256(abi.encode(plan, i)));
            uint256 kind = c % 4; // 0, 1: left valid; 2: one word mangled; 3: another's statement
            if (kind == 2) {
                uint256 k = (c >> 8) % 13;
                uint256 delta = (c >> 16) | 1;
                if (k < 8) proofs[i][k] ^= delta;
                else inputs[i][k - 8] ^= delta;
            } else if (kind == 3) {
                inputs[i] = inputs[(i + 1) % n];
            }
        }
        assertEq(v.verifyBatch(proofs, inputs), _andOfSingles(v, proofs, inputs), "batch != AND of singles");
    }

    function test_equalsAndOfVerifyProof() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(6, 9);
        assertEq(v.verifyBatch(proofs, inputs), _andOfSingles(v, proofs, inputs));
        proofs[5][0] ^= 2;
        assertEq(v.verifyBatch(proofs, inputs), _andOfSingles(v, proofs, inputs));
        proofs[5][0] ^= 2;
        inputs[0] = inputs[3];
        assertEq(v.verifyBatch(proofs, inputs), _andOfSingles(v, proofs, inputs));
    }

    // ---- malformed batches ----

    function test_rejectsEmptyMismatchedAndOversize() public view {
        uint256[8][] memory noProofs;
        uint256[5][] memory noInputs;
        assertFalse(v.verifyBatch(noProofs, noInputs), "empty batch accepted");

        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(3, 1);
        (uint256[8][] memory two,) = _batch(2, 1);
        assertFalse(v.verifyBatch(two, inputs), "fewer proofs than inputs accepted");
        (, uint256[5][] memory twoInputs) = _batch(2, 1);
        assertFalse(v.verifyBatch(proofs, twoInputs), "fewer inputs than proofs accepted");
        assertFalse(v.verifyBatch(proofs, noInputs));
        assertFalse(v.verifyBatch(noProofs, inputs));

        uint256 max = v.MAX_BATCH();
        assertEq(max, 64);
        (proofs, inputs) = _batch(max + 1, 2);
        assertFalse(v.verifyBatch(proofs, inputs), "batch over MAX_BATCH accepted");
    }

    function test_rejectsCoordinatesAtOrAbovePWithoutBurningGas() public view {
        uint256 n = 4;
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 3);
        for (uint256 m = 0; m < n; ++m) {
            for (uint256 w = 0; w < 8; ++w) {
                uint256 saved = proofs[m][w];
                // c + P is the same coordinate: must be refused, not reduced.
                proofs[m][w] = saved + P;
                uint256 g = gasleft();
                assertFalse(v.verifyBatch{gas: 10_000_000}(proofs, inputs), "coordinate >= P accepted");
                // Refused by the range checks, before any precompile.
                assertLe(g - gasleft(), 60_000, "range failure burned gas");
                proofs[m][w] = type(uint256).max;
                assertFalse(v.verifyBatch{gas: 10_000_000}(proofs, inputs));
                proofs[m][w] = saved;
            }
        }
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_rejectsPointsOffCurveWithoutBurningGas() public view {
        uint256 n = 4;
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 4);
        // A refused precompile burns its own allowance, never 63/64 of what the caller passed:
        // the whole batch of 4 is about 330k at most (7 pairs, 13 ecMul, 8 ecAdd).
        uint256 bound_ = 400_000;
        for (uint256 m = 0; m < n; ++m) {
            // A copy: assigning a memory array aliases it.
            uint256[8] memory saved;
            for (uint256 k = 0; k < 8; ++k) {
                saved[k] = proofs[m][k];
            }
            proofs[m][2] = 1; // B off the twist: ecPairing refuses
            uint256 g = gasleft();
            assertFalse(v.verifyBatch{gas: 10_000_000}(proofs, inputs));
            assertLe(g - gasleft(), bound_, "B off curve burned the caller's gas");
            _restore(proofs[m], saved);
            (proofs[m][0], proofs[m][1]) = (1, 1); // A off the curve: ecMul (or, for m = 0, ecPairing)
            g = gasleft();
            assertFalse(v.verifyBatch{gas: 10_000_000}(proofs, inputs));
            assertLe(g - gasleft(), bound_, "A off curve burned the caller's gas");
            _restore(proofs[m], saved);
            (proofs[m][6], proofs[m][7]) = (1, 1); // C off the curve: ecAdd or ecMul
            g = gasleft();
            assertFalse(v.verifyBatch{gas: 10_000_000}(proofs, inputs));
            assertLe(g - gasleft(), bound_, "C off curve burned the caller's gas");
            _restore(proofs[m], saved);
        }
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function _restore(uint256[8] memory proof, uint256[8] memory saved) internal pure {
        for (uint256 k = 0; k < 8; ++k) {
            proof[k] = saved[k];
        }
    }

    function test_rejectsZeroProofs() public view {
        (, uint256[5][] memory inputs) = _batch(2, 8);
        uint256[8][] memory zero = new uint256[8][](2);
        assertFalse(v.verifyBatch(zero, inputs));
        (uint256[8][] memory proofs,) = _batch(2, 8);
        proofs[1] = zero[1];
        assertFalse(v.verifyBatch(proofs, inputs));
    }

    // ---- the transcript ----

    function test_transcriptMatchesSpec() public view {
        bytes32 vk = _vkDigest(v);
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(3, 77);
        bytes32 t = h.transcript(proofs, inputs);
        assertEq(t, _transcriptRef(vk, proofs, inputs), "transcript != spec encoding");
        // Every word is hashed: one flipped bit anywhere moves the transcript.
        proofs[2][7] ^= 1;
        assertNotEq(h.transcript(proofs, inputs), t);
        proofs[2][7] ^= 1;
        inputs[0][0] ^= 1;
        assertNotEq(h.transcript(proofs, inputs), t);
    }

    /// @dev The pairing input the members contribute, recomputed from the spec's scalars
    ///      r_0 = 1, r_i = keccak256(t || uint256(i)) mod R.
    function test_membersUseSpecScalars() public view {
        uint256 n = 4;
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 31);
        bytes32 t = h.transcript(proofs, inputs);
        (bool ok, uint256[] memory w, uint256[6] memory acc) = h.members(proofs, inputs);
        assertTrue(ok);
        uint256[6] memory want; // s, then sum_i r_i x_ij
        uint256[2] memory c; // sum_i r_i C_i
        for (uint256 i = 0; i < n; ++i) {
            uint256 r = i == 0 ? 1 : uint256(keccak256(abi.encodePacked(t, i))) % R;
            if (r == 0) r = 1;
            want[0] = addmod(want[0], r, R);
            for (uint256 j = 0; j < 5; ++j) {
                want[j + 1] = addmod(want[j + 1], mulmod(r, inputs[i][j], R), R);
            }
            _expectPair(w, i, proofs[i], r);
            (uint256 rcx, uint256 rcy) = _g1Mul(proofs[i][6], proofs[i][7], r);
            (c[0], c[1]) = _g1Add(c[0], c[1], rcx, rcy);
        }
        for (uint256 j = 0; j < 6; ++j) {
            assertEq(acc[j], want[j], "combined scalar (sum r_i, sum r_i x_ij)");
        }
        assertEq(w[6 * n + 12], c[0], "sum r_i C_i x");
        assertEq(w[6 * n + 13], c[1], "sum r_i C_i y");
    }

    function _expectPair(uint256[] memory w, uint256 i, uint256[8] memory proof, uint256 r) internal view {
        (uint256 ax, uint256 ay) = _g1Mul(proof[0], proof[1], r);
        assertEq(w[6 * i], ax, "pair A.x");
        assertEq(w[6 * i + 1], ay == 0 ? 0 : P - ay, "pair -A.y");
        for (uint256 k = 2; k < 6; ++k) {
            assertEq(w[6 * i + k], proof[k], "pair B");
        }
    }

    /// @dev The digest is pinned: a change to the tag or the layout must be a deliberate spec
    ///      change (and the Go side, when it computes batches, must recompute the same value).
    function test_transcriptPinned() public view {
        uint256[8][] memory proofs = new uint256[8][](2);
        uint256[5][] memory inputs = new uint256[5][](2);
        for (uint256 i = 0; i < 2; ++i) {
            for (uint256 j = 0; j < 8; ++j) {
                proofs[i][j] = 100 * i + j;
            }
            for (uint256 j = 0; j < 5; ++j) {
                inputs[i][j] = 1000 + 100 * i + j;
            }
        }
        bytes32 t = h.transcript(proofs, inputs);
        assertEq(t, _transcriptRef(_vkDigest(v), proofs, inputs));
        assertEq(_vkDigest(v), PINNED_SYNTHETIC_VK_DIGEST, "synthetic key digest moved");
        assertEq(t, PINNED_TRANSCRIPT, "transcript of the pinned batch moved");
    }

    // Both values were recomputed outside Solidity (the synthetic key's points by affine BN254
    // arithmetic in Python, the hashes by `cast keccak` over the hex of the spec's encoding).
    bytes32 internal constant PINNED_SYNTHETIC_VK_DIGEST =
        0x41f3cc46c05f08f6d3779074fb11a917c590839d1264089c5c3b8852edaa7257;
    bytes32 internal constant PINNED_TRANSCRIPT = 0xe282b23bcbd52004446d9a3018fef04557547fcf10103105c3efc94d9c29c516;

    function testFuzz_transcriptMatchesSpec(uint8 size, uint256 seed) public view {
        uint256 n = bound(size, 1, 8);
        uint256[8][] memory proofs = new uint256[8][](n);
        uint256[5][] memory inputs = new uint256[5][](n);
        for (uint256 i = 0; i < n; ++i) {
            for (uint256 j = 0; j < 8; ++j) {
                proofs[i][j] = uint256(keccak256(abi.encode(seed, i, j, "p")));
            }
            for (uint256 j = 0; j < 5; ++j) {
                inputs[i][j] = uint256(keccak256(abi.encode(seed, i, j, "x")));
            }
        }
        assertEq(h.transcript(proofs, inputs), _transcriptRef(_vkDigest(v), proofs, inputs));
    }

    function test_transcriptBindsTheKey() public {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(2, 6);
        (uint256[2] memory a, uint256[4] memory b, uint256[4] memory g, uint256[4] memory d, uint256[12] memory ic) =
            v.verifyingKey();
        (ic[0], ic[1]) = SyntheticGroth16.g1Mul(999);
        Groth16BatchHarness other = new Groth16BatchHarness(a, b, g, d, ic);
        assertNotEq(other.transcript(proofs, inputs), h.transcript(proofs, inputs));
    }

    // ---- gas ----

    function _gasOf(uint256 n) internal returns (uint256 g) {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batch(n, 1000 + n);
        bool ok = v.verifyBatch(proofs, inputs);
        g = vm.snapshotGasLastCall("Groth16Batch", string.concat("verifyBatch_", vm.toString(n)));
        assertTrue(ok);
        vm.snapshotValue("Groth16Batch", string.concat("verifyBatch_", vm.toString(n), "_perProof"), g / n);
    }

    function test_gas_verifyBatch() public {
        uint256 g1 = _gasOf(1);
        uint256 g2 = _gasOf(2);
        uint256 g4 = _gasOf(4);
        uint256 g8 = _gasOf(8);
        uint256 g16 = _gasOf(16);
        uint256 g64 = _gasOf(64);
        // Precompile floor: 45,000 + 34,000 (n + 3) pairing, 6,000 (2n + 5) ecMul, 150 (n + 4)
        // ecAdd (n >= 2); a batch of one skips the two key ecMul and costs about verifyProof.
        assertLe(g1, 225_000, "batch of one over 225k");
        assertLe(g2, 2 * 145_000, "batch of 2 over 145k per proof");
        assertLe(g4, 4 * 97_000, "batch of 4 over 97k per proof");
        assertLe(g8, 8 * 73_000, "batch of 8 over 73k per proof");
        assertLe(g16, 16 * 62_000, "batch of 16 over 62k per proof");
        // The marginal member: one pair (34,000), two ecMul and an ecAdd (12,150), ~3k of code
        // (the curve checks that keep a bad point a "false" rather than a revert are ~700).
        assertLe((g16 - g8) / 8, 51_000, "marginal member over 51k");
        assertLe(g64, 64 * 52_000, "batch of MAX_BATCH over 52k per proof");
        assertLt(g64 / 64, g16 / 16);
        assertLt(g16 / 16, g8 / 8);
        assertLt(g8 / 8, g4 / 4);
        assertLt(g4 / 4, g2 / 2);
        assertLt(g2 / 2, g1);
    }
}

/// @notice verifyBatch on the real proofs of the universal small class (the vector
///         groth16_universal_small.json, made by internal/cmd/genverifier; see
///         Groth16CrossCheck.t.sol): distinct B points, real keys.
contract Groth16BatchRealTest is Groth16BatchBase {
    string internal json;
    Groth16Verifier internal v;
    uint256 internal numProofs;

    function setUp() public {
        json = Groth16Vector.read("groth16_universal_small.json");
        v = Groth16Vector.deployVerifier(json);
        numProofs = Groth16Vector.count(json);
        assertEq(numProofs, 2, "the vector holds two proofs");
    }

    function _case(uint256 i) internal view returns (uint256[8] memory proof, uint256[5] memory input) {
        return Groth16Vector.proofAt(json, i);
    }

    /// @dev The vector's proofs at the given indices, in order.
    function _batchOf(uint256[] memory idx)
        internal
        view
        returns (uint256[8][] memory proofs, uint256[5][] memory inputs)
    {
        proofs = new uint256[8][](idx.length);
        inputs = new uint256[5][](idx.length);
        for (uint256 i = 0; i < idx.length; ++i) {
            (proofs[i], inputs[i]) = _case(idx[i]);
        }
    }

    function _both() internal view returns (uint256[8][] memory, uint256[5][] memory) {
        uint256[] memory idx = new uint256[](2);
        (idx[0], idx[1]) = (0, 1);
        return _batchOf(idx);
    }

    function test_acceptsBothRealProofs() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _both();
        assertTrue(v.verifyProof(proofs[0], inputs[0]));
        assertTrue(v.verifyProof(proofs[1], inputs[1]));
        assertTrue(v.verifyBatch(proofs, inputs), "batch of both real proofs refused");
        // Either order.
        (proofs[0], proofs[1]) = (proofs[1], proofs[0]);
        (inputs[0], inputs[1]) = (inputs[1], inputs[0]);
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_acceptsTheSameProofRepeated() public view {
        uint256[] memory idx = new uint256[](4);
        assertTrue(_accepts(idx), "proof 0 four times");
        idx = new uint256[](2);
        (idx[0], idx[1]) = (1, 1);
        assertTrue(_accepts(idx), "proof 1 twice");
        idx = new uint256[](5);
        (idx[0], idx[1], idx[2], idx[3], idx[4]) = (0, 1, 0, 1, 1);
        assertTrue(_accepts(idx), "a mix with repeats");
        idx = new uint256[](1);
        assertTrue(_accepts(idx), "a batch of one");
    }

    function _accepts(uint256[] memory idx) internal view returns (bool) {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _batchOf(idx);
        return v.verifyBatch(proofs, inputs);
    }

    function test_rejectsOneMangledRealProof() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _both();
        for (uint256 m = 0; m < 2; ++m) {
            for (uint256 w = 0; w < 8; ++w) {
                proofs[m][w] ^= 1;
                assertFalse(v.verifyBatch(proofs, inputs), "flipped proof word accepted");
                proofs[m][w] ^= 1;
            }
            for (uint256 j = 0; j < 5; ++j) {
                inputs[m][j] ^= 1;
                assertFalse(v.verifyBatch(proofs, inputs), "flipped input accepted");
                inputs[m][j] ^= 1;
            }
        }
        assertTrue(v.verifyBatch(proofs, inputs));
    }

    function test_rejectsSwappedRealStatements() public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _both();
        (inputs[0], inputs[1]) = (inputs[1], inputs[0]);
        assertFalse(v.verifyBatch(proofs, inputs), "proofs under each other's statements accepted");
        (inputs[0], inputs[1]) = (inputs[1], inputs[0]);
        // One input word exchanged (the job digests differ between the two jobs).
        (inputs[0][1], inputs[1][1]) = (inputs[1][1], inputs[0][1]);
        assertFalse(v.verifyBatch(proofs, inputs), "swapped job digest accepted");
    }

    function testFuzz_rejectsMangledRealProof(uint256 member, uint8 word, uint256 delta) public view {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _both();
        uint256 m = member % 2;
        uint256 k = word % 13;
        delta = bound(delta, 1, type(uint256).max);
        if (k < 8) proofs[m][k] ^= delta;
        else inputs[m][k - 8] ^= delta;
        assertEq(v.verifyBatch(proofs, inputs), _andOfSingles(v, proofs, inputs));
        assertFalse(v.verifyBatch(proofs, inputs));
    }

    function test_gas_realBatch() public {
        (uint256[8][] memory proofs, uint256[5][] memory inputs) = _both();
        bool ok = v.verifyBatch(proofs, inputs);
        uint256 g = vm.snapshotGasLastCall("Groth16Batch", "verifyBatch_2_universalSmall");
        assertTrue(ok);
        assertLe(g, 2 * 170_000);
    }
}
