// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Layer, LayerLibrary} from "./Layer.sol";

/// @notice What a buyer asks for (spec §6.1): the committed input activation, its row count and
///         the chain of layers. The contract stores only its EIP-712 hash.
struct JobSpec {
    uint256 inputRoot;
    uint32 rows;
    Layer[] layers;
}

/// @notice EIP-712 hashing of {JobSpec}.
library JobSpecLibrary {
    using LayerLibrary for Layer;

    /// @dev EIP-712 appends referenced struct types, sorted by name, to the primary type.
    string internal constant JOBSPEC_TYPE =
        "JobSpec(uint256 inputRoot,uint32 rows,Layer[] layers)Layer(bytes32 shapeId,uint256 weightsRoot,uint256 epilogue)";
    bytes32 internal constant JOBSPEC_TYPEHASH = keccak256(bytes(JOBSPEC_TYPE));

    /// @notice EIP-712 hashStruct(JobSpec): an array of structs hashes as the keccak of the
    ///         concatenated struct hashes.
    function hash(JobSpec calldata spec) internal pure returns (bytes32) {
        uint256 n = spec.layers.length;
        bytes32[] memory layerHashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            layerHashes[i] = spec.layers[i].hash();
        }
        return keccak256(
            abi.encode(JOBSPEC_TYPEHASH, spec.inputRoot, spec.rows, keccak256(abi.encodePacked(layerHashes)))
        );
    }
}
