// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ClassRegistry} from "../src/ClassRegistry.sol";
import {ResultHasher} from "../src/ResultHasher.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {Request} from "../src/types/Request.sol";
import {JobState} from "../src/types/Settlement.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";
import {FeeOnTransferToken, ReentrantToken} from "./mocks/MaliciousTokens.sol";
import {ReentrantReceiver} from "./mocks/ReentrantReceiver.sol";

/// @notice Hostile tokens and receivers: fee-on-transfer escrow is refused, and a token that
///         calls back into the manager during a transfer cannot withdraw twice or reenter.
contract MaliciousTokenTest is Test {
    uint96 internal constant PRICE = 100e18;
    address internal gov = makeAddr("gov");
    address internal buyer = makeAddr("buyer");
    bytes32 internal classId;
    uint256 internal salt;

    function setUp() public {
        vm.warp(1_800_000_000);
        vm.roll(1_000);
    }

    function _deploy(IERC20 token) internal returns (SLAManager manager) {
        ProviderRegistry providers = new ProviderRegistry(token, 1 days, gov);
        ClassRegistry classes = new ClassRegistry(gov);
        manager = new SLAManager(token, providers, classes, new ResultHasher(), gov);
        vm.startPrank(gov);
        providers.setManager(address(manager));
        classId = classes.registerClass("universal-test-class", address(SyntheticGroth16.deploy()), address(SyntheticGroth16.deployTargeted()), 1);
        vm.stopPrank();
    }

    function _request(address who) internal returns (Request memory) {
        return Request({
            buyer: who,
            classId: classId,
            modelRoot: 0x1111,
            jobDigest: 0x2222,
            newTokens: 48,
            price: PRICE,
            lockBy: uint64(block.timestamp + 1 days),
            execWindow: 1 hours,
            proveWindow: 1 hours,
            challengeWindow: 0,
            seedCommitment: bytes32(0),
            salt: ++salt
        });
    }

    function test_post_rejectsFeeOnTransfer() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        SLAManager manager = _deploy(IERC20(address(fot)));
        fot.mint(buyer, 100e18);
        vm.startPrank(buyer);
        fot.approve(address(manager), type(uint256).max);
        Request memory r = _request(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.TransferAmountMismatch.selector, 100e18, 99e18));
        manager.post(r, "");
        vm.stopPrank();
        assertEq(fot.balanceOf(address(manager)), 0);
    }

    function test_deposit_rejectsFeeOnTransfer() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        SLAManager manager = _deploy(IERC20(address(fot)));
        fot.mint(buyer, 100e18);
        vm.startPrank(buyer);
        fot.approve(address(manager), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.TransferAmountMismatch.selector, 100e18, 99e18));
        manager.deposit(100e18);
        vm.stopPrank();
        assertEq(fot.balanceOf(address(manager)), 0);
        assertEq(manager.balanceOf(buyer), 0);
    }

    function test_withdraw_reentrancyBlocked() public {
        ReentrantToken rt = new ReentrantToken();
        SLAManager manager = _deploy(IERC20(address(rt)));
        ReentrantReceiver attacker = new ReentrantReceiver(manager);
        rt.mint(address(attacker), 100e18);
        attacker.approve(IERC20(address(rt)), type(uint256).max);
        Request memory mine = _request(address(attacker));
        attacker.post(mine);
        // A second job's escrow sits in the manager: the prize a double withdrawal would steal.
        rt.mint(buyer, 100e18);
        vm.startPrank(buyer);
        rt.approve(address(manager), type(uint256).max);
        manager.post(_request(buyer), "");
        vm.stopPrank();
        attacker.cancel(mine);
        assertEq(manager.balanceOf(address(attacker)), 100e18);

        rt.arm(address(attacker), abi.encodeWithSelector(ReentrantReceiver.withdraw.selector));
        attacker.withdraw();
        assertEq(rt.attempts(), 1);
        assertFalse(rt.lastCallSucceeded());
        assertEq(
            rt.lastRevertData(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(rt.balanceOf(address(attacker)), 100e18);
        assertEq(rt.balanceOf(address(manager)), 100e18);
        assertEq(manager.balanceOf(address(attacker)), 0);
    }

    function test_post_reentrancyBlocked() public {
        ReentrantToken rt = new ReentrantToken();
        SLAManager manager = _deploy(IERC20(address(rt)));
        rt.mint(buyer, 200e18);
        vm.prank(buyer);
        rt.approve(address(manager), type(uint256).max);
        Request memory r = _request(buyer);
        // During the escrow pull the token calls cancel on the request being posted.
        rt.arm(address(manager), abi.encodeCall(SLAManager.cancel, (r)));
        vm.prank(buyer);
        uint256 jobId = manager.post(r, "");
        assertEq(rt.attempts(), 1);
        assertFalse(rt.lastCallSucceeded());
        assertEq(
            rt.lastRevertData(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Open));
        assertEq(rt.balanceOf(address(manager)), 100e18);
    }
}
