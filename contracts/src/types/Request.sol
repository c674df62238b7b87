// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice What a buyer asks for (specs/settlement.md §2): a generation job of a model of a width
///         class, its price and windows. The job's id is the request's EIP-712 digest, so the
///         contract stores none of it: every call that needs a field takes the request as
///         calldata and checks it hashes to the id. A buyer signs it off chain (a provider posts
///         it with its lock) or posts it itself.
struct Request {
    /// @notice Who pays, receives refunds and slashed stake.
    address buyer;
    /// @notice The width class whose verifier checks the proof (the class registry's id).
    bytes32 classId;
    /// @notice The model root (specs/model.md §4), below the BN254 scalar order.
    uint256 modelRoot;
    /// @notice The job digest (specs/trace.md §1.3): model root, prompt and generation
    ///         parameters. Below the BN254 scalar order.
    uint256 jobDigest;
    /// @notice n, the number of tokens to generate: the result has exactly n tokens.
    uint32 newTokens;
    /// @notice Escrowed payment.
    uint96 price;
    /// @notice Last timestamp at which a provider may lock.
    uint64 lockBy;
    /// @notice Seconds from lock to the commit deadline.
    uint32 execWindow;
    /// @notice Seconds for the proof: from the seed being stored with a seed commitment, from the
    ///         commit without one (settlement.md §4).
    uint32 proveWindow;
    /// @notice Seconds after the proof before payment; 0 pays at once.
    uint32 challengeWindow;
    /// @notice keccak256(abi.encode(bytes32 secret)) of the buyer's seed secret, or 0 for none.
    bytes32 seedCommitment;
    /// @notice Any value that makes the request unique (a buyer's nonce).
    uint256 salt;
}

/// @notice EIP-712 hashing of {Request}.
library RequestLibrary {
    string internal constant REQUEST_TYPE =
        "Request(address buyer,bytes32 classId,uint256 modelRoot,uint256 jobDigest,uint32 newTokens,uint96 price,uint64 lockBy,uint32 execWindow,uint32 proveWindow,uint32 challengeWindow,bytes32 seedCommitment,uint256 salt)";
    bytes32 internal constant REQUEST_TYPEHASH = keccak256(bytes(REQUEST_TYPE));

    /// @notice EIP-712 hashStruct(Request). Every field is static, so abi.encode of the struct is
    ///         the concatenation of its encoded fields; it validates narrow fields, so calldata
    ///         with dirty high bits reverts instead of hashing to another id.
    function hash(Request calldata r) internal pure returns (bytes32) {
        return keccak256(abi.encode(REQUEST_TYPEHASH, r));
    }
}
