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
