// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Groth16Verifier} from "../../src/Groth16Verifier.sol";

/// @notice Builds a verifying key and proofs that satisfy the Groth16 pairing equation by
///         construction, without a circuit: every G2 point is the generator g2 and every G1
///         point a known multiple of g1, so A = (alpha + L + C) * g1 with B = g2 verifies.
///         It exercises the verifier's arithmetic, encodings and failure paths; soundness of
///         real proofs is covered by the gnark cross-check vector.
library SyntheticGroth16 {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // The BN254 G2 generator in EIP-197 order (x.a1, x.a0, y.a1, y.a0).
    uint256 internal constant G2_X1 = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 internal constant G2_X0 = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 internal constant G2_Y1 = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 internal constant G2_Y0 = 8495653923123431417604973247489272438418190587263600148770280649306958101930;

    uint256 internal constant ALPHA = 5;
    uint256 internal constant C_SCALAR = 11;

    function g1Mul(uint256 s) internal view returns (uint256 x, uint256 y) {
        uint256[3] memory input = [uint256(1), 2, s];
        uint256[2] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, out, 0x40)
        }
        require(ok, "ecMul");
        return (out[0], out[1]);
    }

    /// @notice The scalar of IC[i] under the key of tag `tag` (0: the universal statement's
    ///         synthetic key; 1: the targeted statement's, so a proof of one never verifies
    ///         under the other).
    function icScalar(uint256 tag, uint256 i) internal pure returns (uint256) {
        return 101 + 1000 * tag + 7 * i;
    }

    function icScalar(uint256 i) internal pure returns (uint256) {
        return icScalar(0, i);
    }

    function deploy() internal returns (Groth16Verifier) {
        return deploy(0);
    }

    /// @notice The synthetic key of the targeted statement.
    function deployTargeted() internal returns (Groth16Verifier) {
        return deploy(1);
    }

    function deploy(uint256 tag) internal returns (Groth16Verifier) {
        uint256[2] memory alpha;
        (alpha[0], alpha[1]) = g1Mul(ALPHA);
        uint256[4] memory g2 = [G2_X1, G2_X0, G2_Y1, G2_Y0];
        uint256[12] memory ic;
        for (uint256 i = 0; i < 6; ++i) {
            (ic[2 * i], ic[2 * i + 1]) = g1Mul(icScalar(tag, i));
        }
        return new Groth16Verifier(alpha, g2, g2, g2, ic);
    }

    /// @notice A proof that verifies for `input` under the key of {deploy}.
    function prove(uint256[5] memory input) internal view returns (uint256[8] memory proof) {
        return prove(0, input);
    }

    /// @notice A proof that verifies for `input` under the key of {deployTargeted}.
    function proveTargeted(uint256[5] memory input) internal view returns (uint256[8] memory proof) {
        return prove(1, input);
    }

    function prove(uint256 tag, uint256[5] memory input) internal view returns (uint256[8] memory proof) {
        uint256 l = icScalar(tag, 0);
        for (uint256 i = 0; i < 5; ++i) {
            l = addmod(l, mulmod(input[i] % R, icScalar(tag, i + 1), R), R);
        }
        uint256 a = addmod(addmod(ALPHA, l, R), C_SCALAR, R);
        (proof[0], proof[1]) = g1Mul(a);
        (proof[2], proof[3], proof[4], proof[5]) = (G2_X1, G2_X0, G2_Y1, G2_Y0);
        (proof[6], proof[7]) = g1Mul(C_SCALAR);
    }
}
