// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice Lifecycle of a shape id in the {ShapeRegistry}. Retired is a tombstone: the id can
///         never be registered again, so a retired verifier can never be silently replaced.
enum ShapeStatus {
    None,
    Active,
    Retired
}

/// @notice A compiled circuit shape (spec §5) and the Groth16 verifier that checks its proofs.
struct Shape {
    address verifier;
    uint32 K;
    uint32 N;
    uint8 D;
    uint16 k;
    ShapeStatus status;
}

/// @notice Shape identifiers.
library ShapeLibrary {
    /// @notice shapeId = keccak256(abi.encodePacked("probity/shape/v0", uint32 K, uint32 N, uint8 D, uint16 k)).
    function id(uint32 K, uint32 N, uint8 D, uint16 k) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("probity/shape/v0", K, N, D, k));
    }
}
