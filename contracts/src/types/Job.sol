// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice States of the SLA state machine (spec §10). Settled, Slashed and Cancelled are final.
enum JobState {
    None,
    Open,
    Locked,
    Committed,
    Settled,
    Slashed,
    Cancelled
}

/// @notice What the SLA manager stores per job. The spec itself lives in calldata and events;
///         only its EIP-712 hash is kept, and calldata is checked against it when fields are needed.
struct Job {
    // slot 0
    address buyer;
    JobState state;
    uint16 kmin;
    uint8 numLayers;
    bool seedFixed;
    uint64 lockBy;
    // slot 1
    address provider;
    uint32 execWindow;
    uint32 proveWindow;
    // slot 2
    uint64 commitBy;
    uint64 proveBy;
    uint64 seedBlock;
    // slots 3..
    uint256 price;
    uint256 stake;
    bytes32 specHash;
    bytes32 outputsDigest;
    uint256 seed;
}
