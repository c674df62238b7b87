// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The states of spec §10. Settled, Slashed and Cancelled are final.
enum JobState {
    None,
    Open,
    Locked,
    Committed,
    Settled,
    Slashed,
    Cancelled
}

/// @notice A job as the SLA manager stores it (spec §10). Rates that decide what a provider
///         can lose (`bountyBps`, `abandonBps`) are copied in at lock, so governance changes
///         never reach a job already locked.
struct Job {
    // slot 0 (buyer..seedFixed: 25 bytes; lockBy does not fit and opens slot 1)
    address buyer;
    JobState state;
    uint16 kmin;
    uint8 numLayers;
    bool seedFixed;
    uint64 lockBy;
    // slot 1 (lockBy, provider, execWindow)
    address provider;
    uint32 execWindow;
    // slot 2 (proveWindow..seedBlock: 32 bytes)
    uint32 proveWindow;
    uint16 bountyBps;
    uint16 abandonBps;
    uint64 commitBy;
    uint64 proveBy;
    uint64 seedBlock;
    // slots 3..
    uint256 price;
    uint256 stake;
    bytes32 specHash;
    bytes32 outputsDigest;
    uint256 seed;
    bytes32 seedCommitment;
}
