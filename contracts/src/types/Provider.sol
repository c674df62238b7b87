// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice A provider's account in the {ProviderRegistry}. All amounts are in the deployment's
///         token. Free stake backs new jobs; reserved stake backs locked jobs and is what a slash
///         takes; unbonding stake has left both and waits out the unbonding delay.
struct Provider {
    address nodeKey;
    uint64 unbondReadyAt;
    uint256 free;
    uint256 reserved;
    uint256 unbonding;
}
