// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ClassRegistry} from "../src/ClassRegistry.sol";
import {ResultHasher} from "../src/ResultHasher.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {IResultHasher} from "../src/interfaces/IResultHasher.sol";

/// @notice The broadcast cheatcodes a script needs (forge-std is not available offline).
interface ScriptVm {
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function addr(uint256 privateKey) external pure returns (address keyAddr);
}

/// @title Deploy
/// @notice Deploys a settlement stack (specs/settlement.md): the token (an existing one, or a
///         DevToken with its initial supply to the deployer), the provider registry, the class
///         registry, the result hasher and the SLA manager (whose constructor deploys its
///         ChallengeManager), wired together; the deployer is governance of all of them. Classes are registered separately (`ClassRegistry.registerClass`) once
///         their verifier is deployed from the class's verifying key.
/// @dev npx forge script contracts/script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast
///      Environment: PRIVATE_KEY (default: anvil's first account), TOKEN (an existing ERC-20;
///      default: deploy a DevToken), UNBONDING_DELAY seconds (default 86400), INITIAL_SUPPLY in
///      wei (default 10^27, DevToken only).
contract Deploy {
    ScriptVm internal constant vm = ScriptVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ANVIL_KEY_0 = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    /// @notice Runs the deployment and returns the addresses (forge prints them).
    function run()
        external
        returns (
            address token,
            address providers,
            address classes,
            address hasher,
            address manager,
            address challenges
        )
    {
        uint256 pk = vm.envOr("PRIVATE_KEY", ANVIL_KEY_0);
        token = address(uint160(vm.envOr("TOKEN", uint256(0))));
        uint256 unbonding = vm.envOr("UNBONDING_DELAY", uint256(1 days));
        address deployer = vm.addr(pk);
        vm.startBroadcast(pk);
        if (token == address(0)) token = address(new DevToken(deployer, vm.envOr("INITIAL_SUPPLY", uint256(1e27))));
        ProviderRegistry p = new ProviderRegistry(IERC20(token), uint64(unbonding), deployer);
        ClassRegistry c = new ClassRegistry(deployer);
        ResultHasher h = new ResultHasher();
        SLAManager m = new SLAManager(IERC20(token), p, c, IResultHasher(address(h)), deployer);
        p.setManager(address(m));
        vm.stopBroadcast();
        return (token, address(p), address(c), address(h), address(m), address(m.challenges()));
    }
}
