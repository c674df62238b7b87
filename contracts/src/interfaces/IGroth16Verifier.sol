// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice A Groth16 verifier over BN254 for the five public inputs of the sampled-layer
///         statement (spec §7): [inputRoot, weightsRoot, outputRoot, seed_l, epilogue].
interface IGroth16Verifier {
    /// @notice Checks a proof in gnark's Solidity layout (spec §7: A.x, A.y, B.x.a1, B.x.a0,
    ///         B.y.a1, B.y.a0, C.x, C.y) against the public inputs.
    /// @return True exactly when the proof verifies; false for any bad proof or input.
    function verifyProof(uint256[8] calldata proof, uint256[5] calldata input) external view returns (bool);
}

/// @notice A Groth16 verifier that also checks many proofs under its one key with a single
///         aggregated pairing check (specs/circuit.md, "Batch verification"). Kept apart from
///         IGroth16Verifier so that a shape's verifier need only implement `verifyProof`.
interface IGroth16BatchVerifier is IGroth16Verifier {
    /// @notice Checks `proofs[i]` against `inputs[i]` for every i at once, by a random linear
    ///         combination of their pairing equations whose scalars are derived from the whole
    ///         batch (Fiat-Shamir), so the submitter cannot choose them.
    /// @dev A true answer means every member verifies, except with probability about 2^-252
    ///      per attempted batch; a false answer says only that some member does not (or the
    ///      batch is malformed): find which by `verifyProof` on each member.
    /// @param proofs The proofs, each in the layout of {verifyProof}.
    /// @param inputs The public inputs, `inputs[i]` for `proofs[i]`.
    /// @return True exactly when the batch passes; false for an empty batch, a batch over the
    ///         verifier's size bound, unequal lengths, or any bad proof or input.
    function verifyBatch(uint256[8][] calldata proofs, uint256[5][] calldata inputs) external view returns (bool);
}
