// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Request} from "./Request.sol";

/// @notice The states of specs/settlement.md §3. Settled, Slashed and Cancelled are final.
enum JobState {
    None,
    Open,
    Locked,
    Committed,
    Proved,
    Settled,
    Slashed,
    Cancelled
}

/// @notice A job as the SLA manager stores it: one slot of terms and a second that holds the
///         provider and its stake, replaced at commit by a hash that also binds the trace root
///         and attestation digest ({commitmentOf}); a third holds the seed only when it is fixed
///         before the submission. Everything else is in the request, whose digest is the job id,
///         or in calldata checked against the commitment. Rates that decide what a provider can
///         lose are copied in at lock, so governance changes never reach a locked job. A final
///         state keeps only `state` (the id can never be reused).
struct Job {
    // slot 0
    JobState state;
    /// @dev FLAG_COMMITMENT: the request has a seed commitment; FLAG_SEED: `seed` is fixed.
    uint8 flags;
    uint40 seedBlock;
    /// @dev Locked: commitBy. Committed: proveBy (0 while the seed waits for the buyer's reveal).
    ///      Proved: the end of the challenge window.
    uint40 deadline;
    uint32 proveWindow;
    uint16 bountyBps;
    uint16 abandonBps;
    uint96 price;
    // slot 1
    /// @dev Locked and Proved: the provider (high 160 bits) and its stake (low 96 bits).
    ///      Committed: keccak256(abi.encode(provider, uint256 stake, traceRoot, attestationDigest)).
    bytes32 holder;
    // slot 2
    uint256 seed;
}

/// @notice What a committed job's calldata must open (settlement.md §3): the provider, its
///         stake and what it committed.
struct Commitment {
    address provider;
    uint96 stake;
    /// @notice The committed trace root (specs/trace.md §5).
    uint256 traceRoot;
    /// @notice The committed attestation digest.
    bytes32 attestationDigest;
}

/// @notice One job's proof with everything the manager rebuilds its public inputs from
///         (settlement.md §5).
struct Submission {
    Request request;
    /// @notice The job's commitment; its provider must be the caller.
    Commitment commitment;
    /// @notice The generated tokens, packed ten per word (specs/trace.md §4).
    uint256[] result;
    /// @notice The Groth16 proof of the universal statement (specs/circuit.md §1).
    uint256[8] proof;
}

/// @notice The EIP-712 struct a provider's node key signs for a v1 job (settlement.md §6); the
///         manager emits its digest with the proof and checks a signature on request ({verifyReceipt}).
struct Receipt {
    uint256 jobId;
    address provider;
    uint256 modelRoot;
    uint256 jobDigest;
    uint256 traceRoot;
    bytes32 attestationDigest;
    uint256 seed;
    uint256 resultDigest;
    bytes32 proofHash;
}

/// @notice EIP-712 hashing of {Receipt}.
library ReceiptLibrary {
    string internal constant RECEIPT_TYPE =
        "Receipt(uint256 jobId,address provider,uint256 modelRoot,uint256 jobDigest,uint256 traceRoot,bytes32 attestationDigest,uint256 seed,uint256 resultDigest,bytes32 proofHash)";
    bytes32 internal constant RECEIPT_TYPEHASH = keccak256(bytes(RECEIPT_TYPE));

    /// @notice EIP-712 hashStruct(Receipt).
    function hash(Receipt memory r) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RECEIPT_TYPEHASH,
                r.jobId,
                r.provider,
                r.modelRoot,
                r.jobDigest,
                r.traceRoot,
                r.attestationDigest,
                r.seed,
                r.resultDigest,
                r.proofHash
            )
        );
    }

    /// @notice keccak256 of the proof's 256-byte encoding.
    function proofHash(uint256[8] calldata proof) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, proof, 0x100)
            h := keccak256(ptr, 0x100)
        }
    }
}
