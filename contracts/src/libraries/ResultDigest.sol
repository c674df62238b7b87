// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Poseidon2} from "./Poseidon2.sol";

/// @notice The result digest of specs/trace.md §4, which binds a job's n generated tokens to its
///         proof: S(RESULT = 34; n, w_0..w_{c-1}), c = ceil(n / 10), ten 24-bit tokens per word,
///         little-endian (w_q = sum_{r < 10, 10q + r < n} g_{10q+r} * 2^(24r)), as jobs.ResultDigest.
/// @dev Only the canonical words are accepted: each below 2^240 and, in the last, no token slot at
///      or past n set. Any other word would be a second encoding of some token list (or of a list
///      with more than n tokens) under the same digest input.
library ResultDigest {
    /// @notice The sponge tag RESULT (specs/trace.md §4).
    uint256 internal constant TAG = 34;
    /// @notice Tokens per word, and bits per token.
    uint256 internal constant PER_WORD = 10;
    uint256 internal constant TOKEN_BITS = 24;

    /// @notice A result must hold at least one token.
    error EmptyResult();
    /// @notice words.length is not ceil(n / 10).
    error BadResultLength(uint256 words, uint256 n);
    /// @notice Word index sets bits above its tokens: beyond 2^240, or a slot at or past n.
    error NonCanonicalResultWord(uint256 index, uint256 word);
    /// @notice Token index does not fit 24 bits.
    error TokenOutOfRange(uint256 index, uint256 token);

    /// @notice The result digest of n tokens packed in words; reverts unless the words are canonical.
    function digest(uint256 n, uint256[] calldata words) internal pure returns (uint256) {
        uint256 c = _wordCount(n, words.length);
        uint256[] memory xs;
        uint256 high; // every word but the last, or-ed: none may reach 2^240
        uint256 last;
        // xs = [n, words...], copied in one go; this runs in every settlement, and per-word
        // checked indexing costs about a third of a permutation for 128 tokens.
        assembly ("memory-safe") {
            xs := mload(0x40)
            mstore(xs, add(c, 1))
            mstore(add(xs, 0x20), n)
            calldatacopy(add(xs, 0x40), words.offset, shl(5, c))
            let end := add(xs, shl(5, add(c, 1)))
            mstore(0x40, add(end, 0x20))
            for { let p := add(xs, 0x40) } lt(p, end) { p := add(p, 0x20) } { high := or(high, mload(p)) }
            last := mload(end)
        }
        if (high >> (PER_WORD * TOKEN_BITS) != 0) {
            for (uint256 q; q + 1 < c; ++q) {
                _checkWord(n, c, q, words[q]);
            }
        }
        _checkWord(n, c, c - 1, last);
        return Poseidon2.hash(TAG, xs);
    }

    /// @notice The canonical words of tokens (each below 2^24).
    function pack(uint256[] memory tokens) internal pure returns (uint256[] memory words) {
        uint256 n = tokens.length;
        if (n == 0) revert EmptyResult();
        words = new uint256[]((n - 1) / PER_WORD + 1);
        for (uint256 k; k < n; ++k) {
            uint256 g = tokens[k];
            if (g >> TOKEN_BITS != 0) revert TokenOutOfRange(k, g);
            words[k / PER_WORD] |= g << (TOKEN_BITS * (k % PER_WORD));
        }
    }

    /// @notice The n tokens in words; reverts unless the words are canonical, as digest does.
    function unpack(uint256 n, uint256[] memory words) internal pure returns (uint256[] memory tokens) {
        uint256 c = _wordCount(n, words.length);
        for (uint256 q; q < c; ++q) {
            _checkWord(n, c, q, words[q]);
        }
        tokens = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            tokens[k] = (words[k / PER_WORD] >> (TOKEN_BITS * (k % PER_WORD))) & ((1 << TOKEN_BITS) - 1);
        }
    }

    /// @dev ceil(n / 10), which must be the number of words given.
    function _wordCount(uint256 n, uint256 length) private pure returns (uint256 c) {
        if (n == 0) revert EmptyResult();
        // n >= 1, so n - 1 cannot underflow (and (n + 9) / 10 could overflow).
        unchecked {
            c = (n - 1) / PER_WORD + 1;
        }
        if (length != c) revert BadResultLength(length, n);
    }

    /// @dev Word q of c holds ten tokens, the last one the n - 10q that remain (1 to 10).
    function _checkWord(uint256 n, uint256 c, uint256 q, uint256 w) private pure {
        // q < c = ceil(n / 10), so 10q < n and the subtraction cannot underflow.
        uint256 bits;
        unchecked {
            bits = q + 1 < c ? PER_WORD * TOKEN_BITS : TOKEN_BITS * (n - PER_WORD * q);
        }
        if (w >> bits != 0) revert NonCanonicalResultWord(q, w);
    }
}
