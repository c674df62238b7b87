// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IGroth16Verifier, IGroth16BatchVerifier} from "./interfaces/IGroth16Verifier.sol";

/// @title Groth16Verifier
/// @notice One Groth16/BN254 verifier for every circuit shape with five public inputs. The
///         verifying key is a constructor argument stored in immutables, so a new shape gets its
///         verifier by deploying this same bytecode with other arguments: no Solidity compiler is
///         needed when a shape is added.
/// @dev Checks e(-A, B) * e(alpha, beta) * e(L, gamma) * e(C, delta) == 1 with
///      L = IC_0 + sum input_i * IC_{i+1}, through the EIP-196 (ecAdd, ecMul) and EIP-197
///      (ecPairing) precompiles. G2 points are in EIP-197 word order: x.a1, x.a0, y.a1, y.a0
///      (imaginary part first). The answer is false only when it is certain: a public input
///      >= R, a proof coordinate >= P, a proof point off its curve (checked here, before any
///      precompile), or a pairing product the precompile computed and found != 1. A precompile
///      that fails anyway (a G2 point on the twist but outside the subgroup, or too little
///      gas) reverts with PrecompileFailed instead, because a failure cannot tell a bad point
///      from gas that ran out: the precompiles get all the gas there is rather than their
///      EIP-1108 prices, so a repricing fork cannot turn a valid proof into a "false" that a
///      caller would act on (the SLA manager slashes on false and reverts on a revert).
///      {verifyBatch} checks up to MAX_BATCH proofs under the same key with one pairing call
///      (specs/circuit.md, "Batch verification"); its soundness argument is at the function.
contract Groth16Verifier is IGroth16BatchVerifier {
    /// @notice The BN254 scalar field order R (public inputs must be below it).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice The BN254 base field order P.
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;


    /// @notice The most proofs {verifyBatch} takes in one call; a larger batch is refused (false).
    /// @dev Bounds the memory, the transcript and the pairing cost (45,000 + 34,000 * 67 =
    ///      2.32M gas at 64 under EIP-1108), so one batch fits comfortably in a block.
    uint256 public constant MAX_BATCH = 64;

    /// @dev The domain tag that opens every batch transcript (specs/circuit.md).
    bytes24 private constant BATCH_TAG = "probity/groth16-batch/v1";

    /// @dev keccak256 of the 26 verifying-key words in constructor order, hashed into every batch
    ///      transcript so the scalars are bound to the key they are used under.
    bytes32 private immutable VK_DIGEST;

    /// @dev P and R for the batch code, read as immutables (PUSH32 placeholders). Used as
    ///      literals there, the constants occur often enough that the optimizer encodes every
    ///      occurrence, verifyProof's too, as a CODECOPY from data, which cost verifyProof 406 gas.
    uint256 private immutable P_BATCH = P;
    uint256 private immutable R_BATCH = R;

    /// @notice An ecAdd, ecMul or ecPairing call failed: a proof point the precompile refuses,
    ///         or too little gas. Not an answer about the proof.
    error PrecompileFailed();

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
        VK_DIGEST = keccak256(abi.encodePacked(all));
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
        uint256 q;
        assembly ("memory-safe") {
            q := proof
        }
        if (!_onCurves(q)) return false;

        // L = IC_0 + sum input_i * IC_{i+1}
        (bool ok, uint256 lx, uint256 ly) = _mulAdd(IC0_X, IC0_Y, IC1_X, IC1_Y, input[0]);
        if (!ok) revert PrecompileFailed();
        (ok, lx, ly) = _mulAdd(lx, ly, IC2_X, IC2_Y, input[1]);
        if (!ok) revert PrecompileFailed();
        (ok, lx, ly) = _mulAdd(lx, ly, IC3_X, IC3_Y, input[2]);
        if (!ok) revert PrecompileFailed();
        (ok, lx, ly) = _mulAdd(lx, ly, IC4_X, IC4_Y, input[3]);
        if (!ok) revert PrecompileFailed();
        (ok, lx, ly) = _mulAdd(lx, ly, IC5_X, IC5_Y, input[4]);
        if (!ok) revert PrecompileFailed();

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
            ok := staticcall(gas(), 0x08, w, 768, out, 0x20)
            result := mload(out)
        }
        if (!ok) revert PrecompileFailed();
        return result == 1;
    }

    /// @inheritdoc IGroth16BatchVerifier
    /// @dev With scalars r_0 = 1 and r_i (i >= 1) from the transcript, checks
    ///        prod_i e(-(r_i A_i), B_i) * e(s alpha, beta) * e(sum_i r_i L_i, gamma)
    ///          * e(sum_i r_i C_i, delta) == 1,   s = sum_i r_i,
    ///      with sum_i r_i L_i = s IC_0 + sum_j (sum_i r_i x_ij) IC_{j+1} (scalars summed mod R:
    ///      seven ecMul for the key terms whatever n), n + 3 pairs in one ecPairing call.
    ///      Soundness: every point reaching the pairing is in a group of prime order R (G1 has
    ///      cofactor 1; the precompile refuses G2 points outside the subgroup), so member i's
    ///      equation is E_i = g^(e_i) in GT and the batch checks sum_i r_i e_i = 0 mod R. All
    ///      members valid: every e_i = 0 and the batch passes. Some member k invalid: if k = 0
    ///      is the only one, the sum is e_0 != 0 and the batch fails (hence r_0 = 1 is safe and
    ///      saves two ecMul); otherwise, fixing every other scalar, exactly one value of r_k
    ///      passes, and r_k is a keccak output the submitter sees only after fixing the whole
    ///      batch (the transcript hashes the key digest and every proof and input word). So a
    ///      bad batch passes with probability at most 12 / 2^256 (about 2.3 / R, the mod-R and
    ///      0 -> 1 bias included) per attempt, whatever n. r_i = 0 is mapped to 1 so that no
    ///      member is ever dropped from the check.
    function verifyBatch(uint256[8][] calldata proofs, uint256[5][] calldata inputs) external view returns (bool) {
        uint256 n = proofs.length;
        if (n == 0 || n > MAX_BATCH || inputs.length != n) return false;
        // Range checks over the raw words, before any precompile is called (both arrays are
        // contiguous in calldata: their element types are static). Unrolled per member: a loop
        // iteration costs ~100 gas, an unrolled word ~20.
        uint256 p = P_BATCH;
        uint256 r = R_BATCH;
        bool inRange;
        assembly ("memory-safe") {
            let bad := 0
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let q := add(proofs.offset, mul(i, 0x100))
                let x := add(inputs.offset, mul(i, 0xa0))
                bad := or(bad, iszero(lt(calldataload(q), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0x20)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0x40)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0x60)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0x80)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0xa0)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0xc0)), p)))
                bad := or(bad, iszero(lt(calldataload(add(q, 0xe0)), p)))
                bad := or(bad, iszero(lt(calldataload(x), r)))
                bad := or(bad, iszero(lt(calldataload(add(x, 0x20)), r)))
                bad := or(bad, iszero(lt(calldataload(add(x, 0x40)), r)))
                bad := or(bad, iszero(lt(calldataload(add(x, 0x60)), r)))
                bad := or(bad, iszero(lt(calldataload(add(x, 0x80)), r)))
            }
            inRange := iszero(bad)
        }
        if (!inRange) return false;
        for (uint256 i = 0; i < n; ++i) {
            uint256 q;
            assembly ("memory-safe") {
                q := add(proofs.offset, mul(i, 0x100))
            }
            if (!_onCurves(q)) return false;
        }
        // A batch of one needs no randomness (r_0 = 1): skip the transcript.
        bytes32 t = n == 1 ? bytes32(0) : _batchTranscript(proofs, inputs);

        // The pairing input: n member pairs, then (s alpha, beta), (sum r_i L_i, gamma) and
        // (sum r_i C_i, delta); acc holds s = sum_i r_i and sum_i r_i x_ij, all mod R.
        uint256[] memory w = new uint256[](6 * (n + 3));
        uint256[6] memory acc;
        if (!_combineMembers(proofs, inputs, t, w, acc)) revert PrecompileFailed();
        if (!_addKeyTerms(w, 6 * n, acc)) revert PrecompileFailed();

        bool ok;
        uint256 result;
        uint256 len = 192 * (n + 3); // n <= MAX_BATCH: no overflow
        assembly ("memory-safe") {
            let out := mload(0x40)
            ok := staticcall(gas(), 0x08, add(w, 0x20), len, out, 0x20)
            result := mload(out)
        }
        if (!ok) revert PrecompileFailed();
        return result == 1;
    }

    /// @dev The member part of the pairing input (see _addMembers), A_0 negated.
    function _combineMembers(
        uint256[8][] calldata proofs,
        uint256[5][] calldata inputs,
        bytes32 t,
        uint256[] memory w,
        uint256[6] memory acc
    ) internal view returns (bool) {
        uint256 po;
        uint256 io;
        assembly ("memory-safe") {
            po := proofs.offset
            io := inputs.offset
        }
        if (!_addMembers(po, io, proofs.length, t, w, acc, R_BATCH)) return false;
        // -A_0 (r_0 = 1: no ecMul negated it); A_0.y < P was range-checked, and the point at
        // infinity (0, 0) is its own negation.
        if (w[1] != 0) w[1] = P_BATCH - w[1];
        return true;
    }

    /// @dev Adds the n members at calldata offsets po (proofs) and io (inputs): writes each pair
    ///      (-(r_i A_i), B_i) at w[6i..6i+5], sum_i r_i C_i at w[6n+12], w[6n+13], and s = sum_i r_i,
    ///      sum_i r_i x_ij into acc[0], acc[1 + j]; rr is R. -(r_i A_i) is (R - r_i) A_i, one ecMul.
    ///      Member 0 has r_0 = 1 and needs no ecMul: its pair holds A_0 itself, which the caller
    ///      negates. In assembly: the same loop in Solidity costs ~4.6k gas a member over its
    ///      precompiles.
    function _addMembers(
        uint256 po,
        uint256 io,
        uint256 n,
        bytes32 t,
        uint256[] memory w,
        uint256[6] memory acc,
        uint256 rr
    ) private view returns (bool ok) {
        assembly ("memory-safe") {
            let cp := add(add(w, 0x20), add(mul(n, 192), 384)) // the C accumulator: w[6n+12]
            let m := mload(0x40) // precompile scratch, past everything allocated
            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let pr := add(po, mul(i, 0x100))
                let r := 1
                if i {
                    // r_i = keccak256(t || uint256(i)) mod R, with 0 mapped to 1
                    mstore(0x00, t)
                    mstore(0x20, i)
                    r := mod(keccak256(0x00, 0x40), rr)
                    if iszero(r) { r := 1 }
                }
                let x := add(io, mul(i, 0xa0))
                mstore(acc, addmod(mload(acc), r, rr))
                mstore(add(acc, 0x20), addmod(mload(add(acc, 0x20)), mulmod(r, calldataload(x), rr), rr))
                mstore(add(acc, 0x40), addmod(mload(add(acc, 0x40)), mulmod(r, calldataload(add(x, 0x20)), rr), rr))
                mstore(add(acc, 0x60), addmod(mload(add(acc, 0x60)), mulmod(r, calldataload(add(x, 0x40)), rr), rr))
                mstore(add(acc, 0x80), addmod(mload(add(acc, 0x80)), mulmod(r, calldataload(add(x, 0x60)), rr), rr))
                mstore(add(acc, 0xa0), addmod(mload(add(acc, 0xa0)), mulmod(r, calldataload(add(x, 0x80)), rr), rr))
                let o := add(add(w, 0x20), mul(i, 192))
                switch i
                case 0 {
                    calldatacopy(o, pr, 0x40) // A
                    calldatacopy(cp, add(pr, 0xc0), 0x40) // C
                }
                default {
                    calldatacopy(m, pr, 0x40)
                    mstore(add(m, 0x40), sub(rr, r)) // 1 <= r < R: R - r is -r mod R, nonzero
                    if iszero(staticcall(gas(), 0x07, m, 0x60, o, 0x40)) {
                        ok := 0
                        break
                    }
                    calldatacopy(m, add(pr, 0xc0), 0x40)
                    mstore(add(m, 0x40), r)
                    if iszero(staticcall(gas(), 0x07, m, 0x60, add(m, 0x40), 0x40)) {
                        ok := 0
                        break
                    }
                    mstore(m, mload(cp))
                    mstore(add(m, 0x20), mload(add(cp, 0x20)))
                    if iszero(staticcall(gas(), 0x06, m, 0x80, cp, 0x40)) {
                        ok := 0
                        break
                    }
                }
                calldatacopy(add(o, 0x40), add(pr, 0x40), 0x80) // B
            }
        }
    }

    /// @dev Writes the key pairs from w[o]: (s alpha, beta), (s IC_0 + sum_j acc[j+1] IC_{j+1},
    ///      gamma) and delta next to the C accumulator already at w[o+12], w[o+13]. Its helpers
    ///      are its own, not verifyProof's _mulAdd: sharing that made the optimizer stop inlining
    ///      it and cost verifyProof 406 gas.
    function _addKeyTerms(uint256[] memory w, uint256 o, uint256[6] memory acc) private view returns (bool) {
        uint256 p;
        assembly ("memory-safe") {
            p := add(add(w, 0x20), mul(o, 0x20))
        }
        uint256 s = acc[0];
        if (!_setMul(p, ALPHA_X, ALPHA_Y, s)) return false;
        (w[o + 2], w[o + 3], w[o + 4], w[o + 5]) = (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0);
        uint256 l = p + 0xc0; // w[o+6], w[o+7]
        if (!_setMul(l, IC0_X, IC0_Y, s)) return false;
        if (!_addMul(l, IC1_X, IC1_Y, acc[1])) return false;
        if (!_addMul(l, IC2_X, IC2_Y, acc[2])) return false;
        if (!_addMul(l, IC3_X, IC3_Y, acc[3])) return false;
        if (!_addMul(l, IC4_X, IC4_Y, acc[4])) return false;
        if (!_addMul(l, IC5_X, IC5_Y, acc[5])) return false;
        (w[o + 8], w[o + 9], w[o + 10], w[o + 11]) = (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0);
        (w[o + 14], w[o + 15], w[o + 16], w[o + 17]) = (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0);
        return true;
    }

    /// @dev Memory [at, at + 64) := s * (px, py); no ecMul when s = 1 (a batch of one).
    function _setMul(uint256 at, uint256 px, uint256 py, uint256 s) private view returns (bool ok) {
        assembly ("memory-safe") {
            switch eq(s, 1)
            case 1 {
                mstore(at, px)
                mstore(add(at, 0x20), py)
                ok := 1
            }
            default {
                let m := mload(0x40)
                mstore(m, px)
                mstore(add(m, 0x20), py)
                mstore(add(m, 0x40), s)
                ok := staticcall(gas(), 0x07, m, 0x60, at, 0x40)
            }
        }
    }

    /// @dev Memory [at, at + 64) += s * (px, py).
    function _addMul(uint256 at, uint256 px, uint256 py, uint256 s) private view returns (bool ok) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, px)
            mstore(add(m, 0x20), py)
            mstore(add(m, 0x40), s)
            ok := staticcall(gas(), 0x07, m, 0x60, add(m, 0x40), 0x40)
            if ok {
                mstore(m, mload(at))
                mstore(add(m, 0x20), mload(add(at, 0x20)))
                ok := staticcall(gas(), 0x06, m, 0x80, at, 0x40)
            }
        }
    }

    /// @dev t = keccak256(BATCH_TAG (24 bytes) || VK_DIGEST || uint256(n) || the 8n proof words
    ///      in batch order || the 5n input words in batch order), words 32-byte big-endian.
    ///      The calldata arrays are contiguous (static element types), so both copy at once.
    function _batchTranscript(uint256[8][] calldata proofs, uint256[5][] calldata inputs)
        internal
        view
        returns (bytes32 t)
    {
        bytes24 tag = BATCH_TAG;
        bytes32 vk = VK_DIGEST;
        uint256 n = proofs.length;
        // Scratch memory past the free pointer, not kept: n <= MAX_BATCH bounds it (26.7 KB).
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, tag)
            mstore(add(m, 24), vk)
            mstore(add(m, 56), n)
            let pl := mul(n, 256)
            calldatacopy(add(m, 88), proofs.offset, pl)
            calldatacopy(add(add(m, 88), pl), inputs.offset, mul(n, 160))
            t := keccak256(m, add(88, mul(n, 416)))
        }
    }

    /// @dev Whether the proof at calldata offset q (coordinates already below P) has A and C on
    ///      y^2 = x^3 + 3 and B on the twist y^2 = x^3 + 3 / (9 + u) over Fp2 (u^2 = -1), each
    ///      possibly the point at infinity (all zero). What the precompiles would refuse about a
    ///      point, except G2 subgroup membership, is decided here, so that it reads as false
    ///      rather than as a failed precompile.
    function _onCurves(uint256 q) private pure returns (bool ok) {
        assembly ("memory-safe") {
            let p := P
            function g1(x, y, pp) -> r {
                r := or(and(iszero(x), iszero(y)),
                    eq(mulmod(y, y, pp), addmod(mulmod(mulmod(x, x, pp), x, pp), 3, pp)))
            }
            ok := and(g1(calldataload(q), calldataload(add(q, 0x20)), p),
                g1(calldataload(add(q, 0xc0)), calldataload(add(q, 0xe0)), p))
            // B: x = x0 + x1 u, y = y0 + y1 u, words x1, x0, y1, y0
            let x1 := calldataload(add(q, 0x40))
            let x0 := calldataload(add(q, 0x60))
            let y1 := calldataload(add(q, 0x80))
            let y0 := calldataload(add(q, 0xa0))
            if iszero(and(and(iszero(x0), iszero(x1)), and(iszero(y0), iszero(y1)))) {
                // x^2 = (x0^2 - x1^2) + 2 x0 x1 u
                let a0 := addmod(mulmod(x0, x0, p), sub(p, mulmod(x1, x1, p)), p)
                let a1 := mulmod(2, mulmod(x0, x1, p), p)
                // x^3 = (a0 x0 - a1 x1) + (a0 x1 + a1 x0) u
                let c0 := addmod(mulmod(a0, x0, p), sub(p, mulmod(a1, x1, p)), p)
                let c1 := addmod(mulmod(a0, x1, p), mulmod(a1, x0, p), p)
                // y^2 = (y0^2 - y1^2) + 2 y0 y1 u
                let d0 := addmod(mulmod(y0, y0, p), sub(p, mulmod(y1, y1, p)), p)
                let d1 := mulmod(2, mulmod(y0, y1, p), p)
                ok := and(ok, and(
                    eq(d0, addmod(c0, 19485874751759354771024239261021720505790618469301721065564631296452457478373, p)),
                    eq(d1, addmod(c1, 266929791119991161246907387137283842545076965332900288569378510910307636690, p))))
            }
        }
    }

    /// @dev (x, y) + s * (px, py), false when a precompile fails.
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
            ok := staticcall(gas(), 0x07, m, 0x60, add(m, 0x40), 0x40)
            if ok {
                mstore(m, x)
                mstore(add(m, 0x20), y)
                ok := staticcall(gas(), 0x06, m, 0x80, m, 0x40)
                rx := mload(m)
                ry := mload(add(m, 0x20))
            }
        }
    }
}
