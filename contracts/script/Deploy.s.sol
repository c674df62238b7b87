// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../src/ShapeRegistry.sol";
import {SLAManager} from "../src/SLAManager.sol";

/// @notice The broadcast cheatcodes a script needs (forge-std is not available offline).
interface ScriptVm {
    function startBroadcast(uint256 privateKey) external;
    function stopBroadcast() external;
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    function addr(uint256 privateKey) external pure returns (address keyAddr);
}

/// @title Deploy
/// @notice Deploys a development stack: DevToken (initial supply to the deployer), the two
///         registries and the SLA manager, wired together; the deployer is governance.
///         Shapes are registered separately, once their verifying keys exist.
/// @dev npx forge script contracts/script/Deploy.s.sol --rpc-url http://127.0.0.1:8545 --broadcast
///      Environment: PRIVATE_KEY (default: anvil's first account), UNBONDING_DELAY seconds
///      (default 86400), INITIAL_SUPPLY in wei (default 10^27).
contract Deploy {
    ScriptVm internal constant vm = ScriptVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant ANVIL_KEY_0 = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    /// @notice Runs the deployment and returns the addresses (forge prints them).
    function run()
        external
        returns (address token, address providers, address shapes, address manager, address deployer)
    {
        uint256 pk = vm.envOr("PRIVATE_KEY", ANVIL_KEY_0);
        uint256 unbonding = vm.envOr("UNBONDING_DELAY", uint256(1 days));
        uint256 supply = vm.envOr("INITIAL_SUPPLY", uint256(1e27));
        deployer = vm.addr(pk);
        vm.startBroadcast(pk);
        DevToken t = new DevToken(deployer, supply);
        ProviderRegistry p = new ProviderRegistry(IERC20(address(t)), uint64(unbonding), deployer);
        ShapeRegistry s = new ShapeRegistry(deployer);
        SLAManager m = new SLAManager(IERC20(address(t)), p, s, deployer);
        p.setManager(address(m));
        vm.stopBroadcast();
        return (address(t), address(p), address(s), address(m), deployer);
    }
}
