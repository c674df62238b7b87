// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice A provider's account in the {ProviderRegistry}. All amounts are in the deployment's
///         token. Free stake backs new jobs; reserved stake backs locked jobs and is what a slash
///         takes; unbonding stake has left both and waits out the unbonding delay.
///         Free and reserved share one slot, so moving stake between them at lock and settlement
///         is one storage write; their sum never exceeds 2^128 - 1 (register and addStake check).
struct Provider {
    address nodeKey;
    uint64 unbondReadyAt;
    uint128 free;
    uint128 reserved;
    uint256 unbonding;
}
