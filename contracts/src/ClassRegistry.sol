// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @notice Lifecycle of a class id. Retired is a tombstone: the id can never be registered
///         again, so a verifier is never swapped under a name buyers already rely on.
enum ClassStatus {
    None,
    Active,
    Retired
}

/// @notice A width class (specs/circuit.md §2), the Groth16 verifier of its one setup and the
///         verifier of its targeted statement (the answers to challenges, specs/settlement.md).
struct Class {
    address verifier;
    /// @notice The fewest sample slots of any family in the class: the k of the stake bound
    ///         (specs/settlement.md §7).
    uint16 minSlots;
    ClassStatus status;
    /// @notice Verifies answers to targeted challenges: public inputs
    ///         [modelRoot, jobDigest, traceRoot, resultDigest, element]. In a second slot, so
    ///         that a lock reads one ({termsOf}).
    address targetedVerifier;
}

/// @notice A model a registrant catalogued under a class, and where its files are.
struct ModelEntry {
    bytes32 classId;
    address registrant;
    string uri;
}

/// @title ClassRegistry
/// @notice Governance's catalogue of width classes and their verifiers (one verifier serves
///         every model of its class), and an open catalogue of models by root. Retiring a class
///         stops new jobs, not jobs in flight: the verifier stays recorded. A model entry is a
///         claim by its registrant, not a check, for discovery (which class, where the file
///         is): the manager does not consult it, providers check that a model fits its class
///         before they lock, and governance corrects a wrong entry (specs/settlement.md §2).
contract ClassRegistry is Ownable2Step {
    /// @notice BN254 scalar field order (model roots are field elements).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    mapping(bytes32 classId => Class) private _classes;
    mapping(uint256 modelRoot => ModelEntry) private _models;

    /// @notice A class and its verifier were registered.
    event ClassRegistered(
        bytes32 indexed classId, address indexed verifier, address indexed targetedVerifier, uint16 minSlots, string name
    );
    /// @notice A class was retired (tombstoned).
    event ClassRetired(bytes32 indexed classId);
    /// @notice A model was catalogued under a class.
    event ModelRegistered(uint256 indexed modelRoot, bytes32 indexed classId, address indexed registrant, string uri);

    /// @notice The id is not keccak256 of the class name.
    error ClassIdMismatch(bytes32 given, bytes32 expected);
    /// @notice The id was registered before (active or retired).
    error ClassAlreadyRegistered(bytes32 classId, ClassStatus status);
    /// @notice The class is not active.
    error ClassNotActive(bytes32 classId, ClassStatus status);
    /// @notice minSlots is zero.
    error ZeroSlots();
    /// @notice The verifier address holds no code.
    error VerifierHasNoCode(address verifier);
    /// @notice The model root is not below the BN254 scalar order.
    error NotFieldElement(uint256 value);
    /// @notice The model is not catalogued.
    error ModelNotRegistered(uint256 modelRoot);
    /// @notice The model was catalogued before (governance may correct it).
    error ModelAlreadyRegistered(uint256 modelRoot, bytes32 classId);

    /// @param owner_ Governance.
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Registers a class and its two verifiers.
    /// @param name The class string (`universal.Class.String()`, e.g. "universal-small-e9-..."):
    ///        its keccak256 is the id, so the name in the event is the one the id commits to.
    /// @param verifier A contract implementing IGroth16BatchVerifier for the class's verifying key.
    /// @param targetedVerifier A contract implementing IGroth16Verifier for the verifying key of
    ///        the class's targeted statement (`universal.TargetedClass`).
    /// @param minSlots The fewest sample slots of any family of the class.
    function registerClass(string calldata name, address verifier, address targetedVerifier, uint16 minSlots)
        external
        onlyOwner
        returns (bytes32 classId)
    {
        classId = keccak256(bytes(name));
        if (minSlots == 0) revert ZeroSlots();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (targetedVerifier.code.length == 0) revert VerifierHasNoCode(targetedVerifier);
        Class storage c = _classes[classId];
        if (c.status != ClassStatus.None) revert ClassAlreadyRegistered(classId, c.status);
        _classes[classId] = Class({
            verifier: verifier, minSlots: minSlots, status: ClassStatus.Active, targetedVerifier: targetedVerifier
        });
        emit ClassRegistered(classId, verifier, targetedVerifier, minSlots, name);
    }

    /// @notice Retires a class: no new job may use it, and the id can never be registered again.
    /// @param classId The class.
    function retire(bytes32 classId) external onlyOwner {
        Class storage c = _classes[classId];
        if (c.status != ClassStatus.Active) revert ClassNotActive(classId, c.status);
        c.status = ClassStatus.Retired;
        emit ClassRetired(classId);
    }

    /// @notice Catalogues a model under an active class, once per root. Anyone may: the entry
    ///         only names the class the registrant says the model fits and where to fetch it.
    /// @param modelRoot The model root.
    /// @param classId An active class.
    /// @param uri Where the model file is (for providers and auditors).
    function registerModel(uint256 modelRoot, bytes32 classId, string calldata uri) external {
        if (modelRoot >= R) revert NotFieldElement(modelRoot);
        Class storage c = _classes[classId];
        if (c.status != ClassStatus.Active) revert ClassNotActive(classId, c.status);
        ModelEntry storage m = _models[modelRoot];
        if (m.classId != bytes32(0)) revert ModelAlreadyRegistered(modelRoot, m.classId);
        m.classId = classId;
        m.registrant = msg.sender;
        m.uri = uri;
        emit ModelRegistered(modelRoot, classId, msg.sender, uri);
    }

    /// @notice Governance corrects a catalogue entry (a squatted or stale claim, or a model whose
    ///         class was retired and replaced).
    /// @param modelRoot A catalogued model root.
    /// @param classId An active class.
    /// @param uri Where the model file is.
    function correctModel(uint256 modelRoot, bytes32 classId, string calldata uri) external onlyOwner {
        Class storage c = _classes[classId];
        if (c.status != ClassStatus.Active) revert ClassNotActive(classId, c.status);
        ModelEntry storage m = _models[modelRoot];
        if (m.classId == bytes32(0)) revert ModelNotRegistered(modelRoot);
        m.classId = classId;
        m.registrant = msg.sender;
        m.uri = uri;
        emit ModelRegistered(modelRoot, classId, msg.sender, uri);
    }

    /// @notice The class record (status None when unknown).
    /// @param classId The class.
    function classOf(bytes32 classId) external view returns (Class memory) {
        return _classes[classId];
    }

    /// @notice What a lock needs of a class, from its first storage slot: its status and minSlots.
    /// @param classId The class.
    function termsOf(bytes32 classId) external view returns (ClassStatus status, uint16 minSlots) {
        Class storage c = _classes[classId];
        return (c.status, c.minSlots);
    }

    /// @notice The verifier recorded for a class, active or retired (zero when unknown).
    /// @param classId The class.
    function verifierOf(bytes32 classId) external view returns (address) {
        return _classes[classId].verifier;
    }

    /// @notice The targeted verifier recorded for a class, active or retired (zero when unknown).
    /// @param classId The class.
    function targetedVerifierOf(bytes32 classId) external view returns (address) {
        return _classes[classId].targetedVerifier;
    }

    /// @notice The catalogue entry of a model (class zero when not catalogued).
    /// @param modelRoot The model root.
    function modelOf(uint256 modelRoot) external view returns (ModelEntry memory) {
        return _models[modelRoot];
    }

    /// @notice The class of a catalogued model (zero when not catalogued).
    /// @param modelRoot The model root.
    function modelClass(uint256 modelRoot) external view returns (bytes32) {
        return _models[modelRoot].classId;
    }

    /// @notice keccak256 of a class name.
    /// @param name The class string.
    function classIdOf(string calldata name) external pure returns (bytes32) {
        return keccak256(bytes(name));
    }
}
