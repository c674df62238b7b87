// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IResultHasher} from "./interfaces/IResultHasher.sol";
import {Poseidon2} from "./libraries/Poseidon2.sol";
import {ResultDigest} from "./libraries/ResultDigest.sol";

/// @title ResultHasher
/// @notice Stateless: the project's Poseidon2 sponge (protocol.md §4.1) and the result digest
///         built on it, deployed once per chain and shared by every manager.
contract ResultHasher is IResultHasher {
    /// @inheritdoc IResultHasher
    function resultDigest(uint256 n, uint256[] calldata words) external pure returns (uint256) {
        return ResultDigest.digest(n, words);
    }

    /// @notice S(tag; xs) (protocol.md §4.1), for tools and tests.
    function hash(uint256 tag, uint256[] calldata xs) external pure returns (uint256) {
        return Poseidon2.hash(tag, xs);
    }
}
