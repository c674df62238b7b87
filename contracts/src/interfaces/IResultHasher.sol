// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The result digest of specs/trace.md §4 as a deployed contract: the manager calls it
///         rather than inlining the Poseidon2 permutation, whose unrolled rounds would push the
///         manager past the EIP-170 code size limit.
interface IResultHasher {
    /// @notice S(RESULT; n, words...) of n tokens packed ten per word; reverts (ResultDigest's
    ///         errors) unless the words are the canonical packing of exactly n tokens.
    function resultDigest(uint256 n, uint256[] calldata words) external pure returns (uint256);
}
