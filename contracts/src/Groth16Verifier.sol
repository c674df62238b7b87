// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IGroth16Verifier} from "./interfaces/IGroth16Verifier.sol";

/// @title Groth16Verifier
/// @notice One Groth16/BN254 verifier for every circuit shape with five public inputs. The
///         verifying key is a constructor argument stored in immutables, so a new shape gets its
///         verifier by deploying this same bytecode with other arguments: no Solidity compiler is
///         needed when a shape is added.
/// @dev Checks e(-A, B) * e(alpha, beta) * e(L, gamma) * e(C, delta) == 1 with
///      L = IC_0 + sum input_i * IC_{i+1}, through the EIP-196 (ecAdd, ecMul) and EIP-197
///      (ecPairing) precompiles. G2 points are in EIP-197 word order: x.a1, x.a0, y.a1, y.a0
///      (imaginary part first). Every failure path returns false: inputs >= R, coordinates >= P,
///      points off the curve or outside the subgroup (the precompiles refuse them). Each
///      precompile call gets exactly its EIP-1108 price in gas, so a refused point burns that
///      and nothing more, and the caller keeps enough gas to act on the answer.
contract Groth16Verifier is IGroth16Verifier {
    /// @notice The BN254 scalar field order R (public inputs must be below it).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice The BN254 base field order P.
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    uint256 private constant EC_ADD_GAS = 150;
    uint256 private constant EC_MUL_GAS = 6000;
    uint256 private constant PAIRING_GAS = 45_000 + 4 * 34_000;

    /// @notice A verifying-key coordinate was not below P.
    error VerifyingKeyCoordinateOutOfRange(uint256 index, uint256 value);

    uint256 private immutable ALPHA_X;
    uint256 private immutable ALPHA_Y;
    uint256 private immutable BETA_X1;
    uint256 private immutable BETA_X0;
    uint256 private immutable BETA_Y1;
    uint256 private immutable BETA_Y0;
    uint256 private immutable GAMMA_X1;
    uint256 private immutable GAMMA_X0;
    uint256 private immutable GAMMA_Y1;
    uint256 private immutable GAMMA_Y0;
    uint256 private immutable DELTA_X1;
    uint256 private immutable DELTA_X0;
    uint256 private immutable DELTA_Y1;
    uint256 private immutable DELTA_Y0;
    uint256 private immutable IC0_X;
    uint256 private immutable IC0_Y;
    uint256 private immutable IC1_X;
    uint256 private immutable IC1_Y;
    uint256 private immutable IC2_X;
    uint256 private immutable IC2_Y;
    uint256 private immutable IC3_X;
    uint256 private immutable IC3_Y;
    uint256 private immutable IC4_X;
    uint256 private immutable IC4_Y;
    uint256 private immutable IC5_X;
    uint256 private immutable IC5_Y;

    /// @notice Stores a verifying key. G2 points in EIP-197 order (x.a1, x.a0, y.a1, y.a0).
    /// @param alpha G1 point alpha (x, y).
    /// @param beta G2 point beta.
    /// @param gamma G2 point gamma.
    /// @param delta G2 point delta.
    /// @param ic The six G1 points IC_0..IC_5 as (x, y) pairs.
    /// @dev Coordinates are range-checked here; curve membership of the key is checked by the
    ///      precompiles on every verification (a bad key makes every proof fail, never pass).
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[12] memory ic
    ) {
        uint256[26] memory all;
        all[0] = alpha[0];
        all[1] = alpha[1];
        for (uint256 i = 0; i < 4; ++i) {
            all[2 + i] = beta[i];
            all[6 + i] = gamma[i];
            all[10 + i] = delta[i];
        }
        for (uint256 i = 0; i < 12; ++i) {
            all[14 + i] = ic[i];
        }
        for (uint256 i = 0; i < 26; ++i) {
            if (all[i] >= P) revert VerifyingKeyCoordinateOutOfRange(i, all[i]);
        }
        (ALPHA_X, ALPHA_Y) = (alpha[0], alpha[1]);
        (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0) = (beta[0], beta[1], beta[2], beta[3]);
        (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0) = (gamma[0], gamma[1], gamma[2], gamma[3]);
        (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0) = (delta[0], delta[1], delta[2], delta[3]);
        (IC0_X, IC0_Y, IC1_X, IC1_Y) = (ic[0], ic[1], ic[2], ic[3]);
        (IC2_X, IC2_Y, IC3_X, IC3_Y) = (ic[4], ic[5], ic[6], ic[7]);
        (IC4_X, IC4_Y, IC5_X, IC5_Y) = (ic[8], ic[9], ic[10], ic[11]);
    }

    /// @notice The stored verifying key, in constructor order (for audits and tooling).
    function verifyingKey()
        external
        view
        returns (
            uint256[2] memory alpha,
            uint256[4] memory beta,
            uint256[4] memory gamma,
            uint256[4] memory delta,
            uint256[12] memory ic
        )
    {
        alpha = [ALPHA_X, ALPHA_Y];
        beta = [BETA_X1, BETA_X0, BETA_Y1, BETA_Y0];
        gamma = [GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0];
        delta = [DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0];
        ic = [IC0_X, IC0_Y, IC1_X, IC1_Y, IC2_X, IC2_Y, IC3_X, IC3_Y, IC4_X, IC4_Y, IC5_X, IC5_Y];
    }

    /// @inheritdoc IGroth16Verifier
    function verifyProof(uint256[8] calldata proof, uint256[5] calldata input) external view returns (bool) {
        for (uint256 i = 0; i < 5; ++i) {
            if (input[i] >= R) return false;
        }
        for (uint256 i = 0; i < 8; ++i) {
            if (proof[i] >= P) return false;
        }

        // L = IC_0 + sum input_i * IC_{i+1}
        (bool ok, uint256 lx, uint256 ly) = _mulAdd(IC0_X, IC0_Y, IC1_X, IC1_Y, input[0]);
        if (!ok) return false;
        (ok, lx, ly) = _mulAdd(lx, ly, IC2_X, IC2_Y, input[1]);
        if (!ok) return false;
        (ok, lx, ly) = _mulAdd(lx, ly, IC3_X, IC3_Y, input[2]);
        if (!ok) return false;
        (ok, lx, ly) = _mulAdd(lx, ly, IC4_X, IC4_Y, input[3]);
        if (!ok) return false;
        (ok, lx, ly) = _mulAdd(lx, ly, IC5_X, IC5_Y, input[4]);
        if (!ok) return false;

        uint256[24] memory w;
        // -A: negating y; the point at infinity (0, 0) is its own negation.
        w[0] = proof[0];
        w[1] = proof[1] == 0 ? 0 : P - proof[1];
        w[2] = proof[2];
        w[3] = proof[3];
        w[4] = proof[4];
        w[5] = proof[5];
        w[6] = ALPHA_X;
        w[7] = ALPHA_Y;
        w[8] = BETA_X1;
        w[9] = BETA_X0;
        w[10] = BETA_Y1;
        w[11] = BETA_Y0;
        w[12] = lx;
        w[13] = ly;
        w[14] = GAMMA_X1;
        w[15] = GAMMA_X0;
        w[16] = GAMMA_Y1;
        w[17] = GAMMA_Y0;
        w[18] = proof[6];
        w[19] = proof[7];
        w[20] = DELTA_X1;
        w[21] = DELTA_X0;
        w[22] = DELTA_Y1;
        w[23] = DELTA_Y0;

        uint256 result;
        assembly ("memory-safe") {
            let out := mload(0x40)
            ok := staticcall(PAIRING_GAS, 0x08, w, 768, out, 0x20)
            result := mload(out)
        }
        return ok && result == 1;
    }

    /// @dev (x, y) + s * (px, py), false when a precompile refuses its input.
    function _mulAdd(uint256 x, uint256 y, uint256 px, uint256 py, uint256 s)
        private
        view
        returns (bool ok, uint256 rx, uint256 ry)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, px)
            mstore(add(m, 0x20), py)
            mstore(add(m, 0x40), s)
            ok := staticcall(EC_MUL_GAS, 0x07, m, 0x60, add(m, 0x40), 0x40)
            if ok {
                mstore(m, x)
                mstore(add(m, 0x20), y)
                ok := staticcall(EC_ADD_GAS, 0x06, m, 0x80, m, 0x40)
                rx := mload(m)
                ry := mload(add(m, 0x20))
            }
        }
    }
}
