// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {StakeMath} from "../src/libraries/StakeMath.sol";

/// @notice Stake sizing (spec §11) bit for bit against testdata/vectors/stake.json.
contract StakeVectorsTest is Test {
    function test_stakeVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/stake.json"));
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]"))) {
            string memory c = string.concat(".cases[", vm.toString(n), "]");
            uint16 f0 = uint16(vm.parseJsonUint(json, string.concat(c, ".f0Bps")));
            uint16 k = uint16(vm.parseJsonUint(json, string.concat(c, ".k")));
            uint256 price = vm.parseJsonUint(json, string.concat(c, ".price"));
            StakeHarness h = new StakeHarness();
            if (keccak256(bytes(vm.parseJsonString(json, string.concat(c, ".expect")))) == keccak256("revert")) {
                vm.expectRevert(abi.encodeWithSelector(StakeMath.DetectionUndefined.selector, f0, k));
                h.requiredStake(price, f0, k);
            } else {
                assertEq(h.requiredStake(price, f0, k), vm.parseJsonUint(json, string.concat(c, ".stake")), c);
                assertEq(h.detection(f0, k), vm.parseJsonUint(json, string.concat(c, ".detection")), c);
            }
            n++;
        }
        assertGt(n, 10);
    }

    /// @dev grossStake (what lock reserves) and the bounty taken out of it, bit for bit.
    function test_grossStakeVector() public {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/stake.json"));
        StakeHarness h = new StakeHarness();
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(".grossStake[", vm.toString(n), "]"))) {
            string memory c = string.concat(".grossStake[", vm.toString(n), "]");
            uint256 net = vm.parseJsonUint(json, string.concat(c, ".net"));
            uint16 bps = uint16(vm.parseJsonUint(json, string.concat(c, ".bountyBps")));
            uint256 gross = h.grossStake(net, bps);
            assertEq(gross, vm.parseJsonUint(json, string.concat(c, ".grossStake")), c);
            uint256 bounty = (gross * bps) / 10_000;
            assertEq(bounty, vm.parseJsonUint(json, string.concat(c, ".bounty")), c);
            assertGe(gross - bounty, net, c);
            n++;
        }
        assertGt(n, 5);
    }
}

contract StakeHarness {
    function grossStake(uint256 net, uint16 bountyBps) external pure returns (uint256) {
        return StakeMath.grossStake(net, bountyBps);
    }

    function requiredStake(uint256 price, uint16 f0, uint16 k) external pure returns (uint256) {
        return StakeMath.requiredStake(price, f0, k);
    }

    function detection(uint16 f0, uint16 k) external pure returns (uint256) {
        return StakeMath.detectionProbability(f0, k);
    }
}
