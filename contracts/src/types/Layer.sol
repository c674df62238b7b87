// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice One layer of a job (spec §6.1): the circuit shape that proves it, the commitment to its
///         parameters (weights transposed plus bias, §4.3) and its packed epilogue word (§3.2).
struct Layer {
    bytes32 shapeId;
    uint256 weightsRoot;
    uint256 epilogue;
}

/// @notice EIP-712 hashing of {Layer}.
library LayerLibrary {
    string internal constant LAYER_TYPE = "Layer(bytes32 shapeId,uint256 weightsRoot,uint256 epilogue)";
    bytes32 internal constant LAYER_TYPEHASH = keccak256(bytes(LAYER_TYPE));

    /// @notice EIP-712 hashStruct(Layer).
    function hash(Layer calldata layer) internal pure returns (bytes32) {
        return keccak256(abi.encode(LAYER_TYPEHASH, layer.shapeId, layer.weightsRoot, layer.epilogue));
    }
}
