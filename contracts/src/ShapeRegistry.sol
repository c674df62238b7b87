// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Shape, ShapeStatus, ShapeLibrary} from "./types/Shape.sol";

/// @title ShapeRegistry
/// @notice Governance's catalogue of circuit shapes (spec §5) and the Groth16 verifier of each.
///         A shape id is derived from its parameters, so the registry checks it rather than
///         trusting it. Retiring is final: the id is tombstoned and can never be registered again,
///         so a verifier is never swapped under a name buyers already rely on. Jobs posted before
///         a retirement still verify with the recorded verifier.
contract ShapeRegistry is Ownable2Step {
    mapping(bytes32 shapeId => Shape) private _shapes;

    /// @notice A shape and its verifier were registered.
    event ShapeRegistered(bytes32 indexed shapeId, address indexed verifier, uint32 K, uint32 N, uint8 D, uint16 k);
    /// @notice A shape was retired (tombstoned).
    event ShapeRetired(bytes32 indexed shapeId);

    /// @notice The id does not match keccak256("probity/shape/v0", K, N, D, k).
    error ShapeIdMismatch(bytes32 given, bytes32 expected);
    /// @notice The id was registered before (active or retired).
    error ShapeAlreadyRegistered(bytes32 shapeId, ShapeStatus status);
    /// @notice The id is not active.
    error ShapeNotActive(bytes32 shapeId, ShapeStatus status);
    /// @notice A parameter is out of range (K, N, k zero, or D above 32).
    error InvalidShapeParameters(uint32 K, uint32 N, uint8 D, uint16 k);
    /// @notice The verifier address holds no code.
    error VerifierHasNoCode(address verifier);

    /// @param owner_ Governance.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Registers a shape and its verifier.
    /// @param shapeId keccak256(abi.encodePacked("probity/shape/v0", K, N, D, k)).
    /// @param verifier A contract implementing IGroth16Verifier for this shape's verifying key.
    /// @param K Input width.
    /// @param N Output width.
    /// @param D Rows depth (at most 2^D rows).
    /// @param k Samples per proof.
    function registerShape(bytes32 shapeId, address verifier, uint32 K, uint32 N, uint8 D, uint16 k)
        external
        onlyOwner
    {
        bytes32 expected = ShapeLibrary.id(K, N, D, k);
        if (shapeId != expected) revert ShapeIdMismatch(shapeId, expected);
        if (K == 0 || N == 0 || k == 0 || D > 32) revert InvalidShapeParameters(K, N, D, k);
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        Shape storage s = _shapes[shapeId];
        if (s.status != ShapeStatus.None) revert ShapeAlreadyRegistered(shapeId, s.status);
        _shapes[shapeId] = Shape({verifier: verifier, K: K, N: N, D: D, k: k, status: ShapeStatus.Active});
        emit ShapeRegistered(shapeId, verifier, K, N, D, k);
    }

    /// @notice Retires a shape: no new job may use it, and the id can never be registered again.
    /// @param shapeId The shape.
    function retire(bytes32 shapeId) external onlyOwner {
        Shape storage s = _shapes[shapeId];
        if (s.status != ShapeStatus.Active) revert ShapeNotActive(shapeId, s.status);
        s.status = ShapeStatus.Retired;
        emit ShapeRetired(shapeId);
    }

    /// @notice The shape record (status None when unknown).
    /// @param shapeId The shape.
    function shape(bytes32 shapeId) external view returns (Shape memory) {
        return _shapes[shapeId];
    }

    /// @notice Whether new jobs may use the shape.
    /// @param shapeId The shape.
    function isActive(bytes32 shapeId) external view returns (bool) {
        return _shapes[shapeId].status == ShapeStatus.Active;
    }

    /// @notice The verifier recorded for a shape, active or retired (zero when unknown).
    /// @param shapeId The shape.
    function verifierOf(bytes32 shapeId) external view returns (address) {
        return _shapes[shapeId].verifier;
    }

    /// @notice The shape id of parameters (spec §5).
    /// @param K Input width.
    /// @param N Output width.
    /// @param D Rows depth.
    /// @param k Samples.
    function shapeIdOf(uint32 K, uint32 N, uint8 D, uint16 k) external pure returns (bytes32) {
        return ShapeLibrary.id(K, N, D, k);
    }
}
