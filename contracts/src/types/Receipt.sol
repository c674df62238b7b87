// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The EIP-712 struct a provider's node key signs (spec §8.2). The full receipt document
///         carries more (attestation, timings); this is the part the contract checks.
struct Receipt {
    uint256 jobId;
    address provider;
    bytes32 specHash;
    uint256[] outputRoots;
    bytes32 attestationDigest;
    uint256 seed;
    uint16 k;
    bytes32 proofsHash;
}

/// @notice EIP-712 hashing of {Receipt} and of the proofs it names.
library ReceiptLibrary {
    string internal constant RECEIPT_TYPE =
        "Receipt(uint256 jobId,address provider,bytes32 specHash,uint256[] outputRoots,bytes32 attestationDigest,uint256 seed,uint16 k,bytes32 proofsHash)";
    bytes32 internal constant RECEIPT_TYPEHASH = keccak256(bytes(RECEIPT_TYPE));

    /// @notice EIP-712 hashStruct(Receipt).
    function hash(Receipt memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECEIPT_TYPEHASH,
                r.jobId,
                r.provider,
                r.specHash,
                keccak256(abi.encodePacked(r.outputRoots)),
                r.attestationDigest,
                r.seed,
                r.k,
                r.proofsHash
            )
        );
    }

    /// @notice keccak256(proof_0 || proof_1 || ...) over the 256-byte proofs (spec §8.2).
    /// @dev A calldata uint256[8][] stores its elements contiguously, 256 bytes each, so one
    ///      calldatacopy yields exactly the concatenation.
    function proofsHash(uint256[8][] calldata proofs) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let len := mul(proofs.length, 256)
            let ptr := mload(0x40)
            calldatacopy(ptr, proofs.offset, len)
            h := keccak256(ptr, len)
        }
    }
}
