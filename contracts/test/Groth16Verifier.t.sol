// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Groth16Verifier} from "../src/Groth16Verifier.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";

/// @notice The verifier's arithmetic and failure paths over a key and proofs that satisfy the
///         pairing equation by construction (see SyntheticGroth16). Real gnark proofs are
///         checked in Groth16CrossCheck.t.sol.
contract Groth16VerifierTest is Test {
    uint256 internal constant R = SyntheticGroth16.R;
    uint256 internal constant P = SyntheticGroth16.P;

    Groth16Verifier internal v;
    uint256[5] internal input = [uint256(1), 2, 3, 4, 5];

    function setUp() public {
        v = SyntheticGroth16.deploy();
    }

    function test_acceptsValidProof() public view {
        assertTrue(v.verifyProof(SyntheticGroth16.prove(input), input));
    }

    function test_gas_verifyProof() public {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        uint256[5] memory inp = input;
        bool ok = v.verifyProof(proof, inp);
        vm.snapshotGasLastCall("Groth16Verifier", "verifyProof");
        assertTrue(ok);
        uint256 g = gasleft();
        v.verifyProof(proof, inp);
        assertLe(g - gasleft(), 230_000, "verification gas over target");
    }

    function testFuzz_acceptsValidProof(uint256[5] memory inp) public view {
        for (uint256 i = 0; i < 5; ++i) {
            inp[i] = bound(inp[i], 0, R - 1);
        }
        assertTrue(v.verifyProof(SyntheticGroth16.prove(inp), inp));
    }

    function test_rejectsEveryFlippedWordAndInput() public view {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        for (uint256 w = 0; w < 8; ++w) {
            uint256[8] memory bad = proof;
            bad[w] ^= 1;
            assertFalse(v.verifyProof(bad, input), "flipped proof word accepted");
        }
        for (uint256 i = 0; i < 5; ++i) {
            uint256[5] memory bad = input;
            bad[i] ^= 1;
            assertFalse(v.verifyProof(proof, bad), "flipped input accepted");
        }
    }

    function testFuzz_rejectsMangledProof(uint8 word, uint256 delta) public view {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        uint256 w = word % 8;
        delta = bound(delta, 1, type(uint256).max);
        proof[w] ^= delta;
        assertFalse(v.verifyProof(proof, input));
    }

    function test_rejectsInputsAtOrAboveR() public view {
        for (uint256 i = 0; i < 5; ++i) {
            // input + R is congruent mod R: an unchecked verifier would accept it.
            uint256[5] memory alias_ = input;
            alias_[i] += R;
            assertFalse(v.verifyProof(SyntheticGroth16.prove(input), alias_), "input >= R accepted");
        }
    }

    function test_rejectsCoordinatesAtOrAboveP() public view {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        // A.y + P is the same point modulo P: must be refused, not reduced.
        uint256[8] memory bad = proof;
        bad[1] += P;
        assertFalse(v.verifyProof(bad, input));
        bad = proof;
        bad[6] = type(uint256).max;
        assertFalse(v.verifyProof(bad, input));
    }

    function test_rejectsPointsOffCurveWithoutAPrecompile() public {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        proof[2] = 1; // B not on the twist
        uint256 g = gasleft();
        assertFalse(v.verifyProof(proof, input));
        // Decided by the curve checks before any ecMul or ecPairing.
        assertLe(g - gasleft(), 10_000);
        proof = SyntheticGroth16.prove(input);
        proof[0] = 1;
        proof[1] = 1; // A off the curve
        assertFalse(v.verifyProof(proof, input));
        proof = SyntheticGroth16.prove(input);
        proof[7] = addmod(proof[7], 1, P); // C off the curve
        assertFalse(v.verifyProof(proof, input));
    }

    /// A G2 point on the twist but outside the order-R subgroup passes the curve checks and is
    /// refused by the pairing precompile: no answer, a revert.
    function test_revertsOnTwistPointOutsideSubgroup() public {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        // x = 2 + u, y = sqrt(x^3 + 3 / (9 + u)) in Fp2 (words x1, x0, y1, y0)
        proof[2] = 1;
        proof[3] = 2;
        proof[4] = 19659275751359636165940301690575149581329631496732780143538578556285923319774;
        proof[5] = 7292567877523311580221095596750716176434782432868683424513645834767876293070;
        vm.expectRevert(Groth16Verifier.PrecompileFailed.selector);
        v.verifyProof(proof, input);
    }

    /// Too little gas is no answer either: a valid proof never reads as false for lack of gas
    /// (what a fork that reprices the precompiles would otherwise do to honest providers).
    function test_tooLittleGasRevertsRatherThanRejects() public {
        uint256[8] memory proof = SyntheticGroth16.prove(input);
        for (uint256 gas = 20_000; gas < 220_000; gas += 40_000) {
            (bool ok, bytes memory ret) =
                address(v).call{gas: gas}(abi.encodeCall(Groth16Verifier.verifyProof, (proof, input)));
            assertFalse(ok, "verifyProof returned with too little gas");
            if (ret.length != 0) assertEq(bytes4(ret), Groth16Verifier.PrecompileFailed.selector);
        }
        assertTrue(v.verifyProof(proof, input));
    }

    function test_rejectsZeroProof() public view {
        uint256[8] memory zero;
        assertFalse(v.verifyProof(zero, input));
    }

    function test_constructorRejectsKeyOutOfRange() public {
        uint256[2] memory alpha = [uint256(1), 2];
        uint256[4] memory g2 =
            [SyntheticGroth16.G2_X1, SyntheticGroth16.G2_X0, SyntheticGroth16.G2_Y1, SyntheticGroth16.G2_Y0];
        uint256[12] memory ic;
        ic[11] = P;
        vm.expectRevert(abi.encodeWithSelector(Groth16Verifier.VerifyingKeyCoordinateOutOfRange.selector, 25, P));
        new Groth16Verifier(alpha, g2, g2, g2, ic);
    }

    function test_verifyingKeyRoundTrips() public view {
        (uint256[2] memory alpha, uint256[4] memory beta,,, uint256[12] memory ic) = v.verifyingKey();
        (uint256 ax, uint256 ay) = SyntheticGroth16.g1Mul(SyntheticGroth16.ALPHA);
        assertEq(alpha[0], ax);
        assertEq(alpha[1], ay);
        assertEq(beta[0], SyntheticGroth16.G2_X1);
        (uint256 x5, uint256 y5) = SyntheticGroth16.g1Mul(SyntheticGroth16.icScalar(5));
        assertEq(ic[10], x5);
        assertEq(ic[11], y5);
    }
}
