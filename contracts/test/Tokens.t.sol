// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../src/ShapeRegistry.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {JobSpec} from "../src/types/JobSpec.sol";
import {Layer} from "../src/types/Layer.sol";
import {ShapeLibrary} from "../src/types/Shape.sol";
import {AcceptingVerifier} from "./mocks/AcceptingVerifier.sol";
import {FeeOnTransferToken, ReentrantToken} from "./mocks/MaliciousTokens.sol";
import {ReentrantReceiver} from "./mocks/ReentrantReceiver.sol";

/// @notice Hostile tokens and receivers: fee-on-transfer escrow is refused, and a token that
///         calls back into the manager during a payout cannot withdraw twice.
contract MaliciousTokenTest is Test {
    uint256 internal constant EPILOGUE = (1 << 30) + (31 << 32) + (128 << 40);
    address internal gov = makeAddr("gov");
    address internal buyer = makeAddr("buyer");

    function _deploy(IERC20 token) internal returns (SLAManager manager, bytes32 shapeId) {
        ProviderRegistry providers = new ProviderRegistry(token, 1 days, gov);
        ShapeRegistry shapes = new ShapeRegistry(gov);
        manager = new SLAManager(token, providers, shapes, gov);
        shapeId = ShapeLibrary.id(16, 4, 3, 2);
        vm.startPrank(gov);
        providers.setManager(address(manager));
        shapes.registerShape(shapeId, address(new AcceptingVerifier()), 16, 4, 3, 2);
        vm.stopPrank();
    }

    function _spec(bytes32 shapeId) internal pure returns (JobSpec memory spec) {
        spec.inputRoot = 1;
        spec.rows = 4;
        spec.layers = new Layer[](1);
        spec.layers[0] = Layer({shapeId: shapeId, weightsRoot: 2, epilogue: EPILOGUE});
    }

    function test_postJob_rejectsFeeOnTransfer() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        (SLAManager manager, bytes32 shapeId) = _deploy(IERC20(address(fot)));
        fot.mint(buyer, 100e18);
        vm.startPrank(buyer);
        fot.approve(address(manager), type(uint256).max);
        JobSpec memory spec = _spec(shapeId);
        uint64 lockBy = uint64(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.TransferAmountMismatch.selector, 100e18, 99e18));
        manager.postJob(spec, 100e18, lockBy, 60, 60, bytes32(0), "");
        vm.stopPrank();
        assertEq(fot.balanceOf(address(manager)), 0);
    }

    function test_withdraw_reentrancyBlocked() public {
        ReentrantToken rt = new ReentrantToken();
        (SLAManager manager, bytes32 shapeId) = _deploy(IERC20(address(rt)));
        ReentrantReceiver attacker = new ReentrantReceiver(manager);
        rt.mint(address(attacker), 100e18);
        attacker.approve(IERC20(address(rt)), type(uint256).max);
        uint256 jobId = attacker.post(_spec(shapeId), 100e18, uint64(block.timestamp + 1));
        // A second job's escrow sits in the manager: the prize a double withdrawal would steal.
        rt.mint(buyer, 100e18);
        vm.startPrank(buyer);
        rt.approve(address(manager), type(uint256).max);
        manager.postJob(_spec(shapeId), 100e18, uint64(block.timestamp + 1), 60, 60, bytes32(0), "");
        vm.stopPrank();
        attacker.cancel(jobId);

        rt.arm(address(attacker), abi.encodeWithSelector(ReentrantReceiver.withdraw.selector));
        attacker.withdraw();
        assertEq(rt.attempts(), 1);
        assertFalse(rt.lastCallSucceeded());
        assertEq(
            rt.lastRevertData(), abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(rt.balanceOf(address(attacker)), 100e18);
        assertEq(rt.balanceOf(address(manager)), 100e18);
        assertEq(manager.creditOf(address(attacker)), 0);
    }

    function test_postJob_reentrancyBlocked() public {
        ReentrantToken rt = new ReentrantToken();
        (SLAManager manager, bytes32 shapeId) = _deploy(IERC20(address(rt)));
        rt.mint(buyer, 200e18);
        vm.prank(buyer);
        rt.approve(address(manager), type(uint256).max);
        // During the escrow pull the token calls cancel(1) on the job being posted.
        rt.arm(address(manager), abi.encodeWithSelector(SLAManager.cancel.selector, 1));
        vm.prank(buyer);
        manager.postJob(_spec(shapeId), 100e18, uint64(block.timestamp + 1), 60, 60, bytes32(0), "");
        assertFalse(rt.lastCallSucceeded());
        assertEq(
            rt.lastRevertData(), abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(manager.totalEscrow(), 100e18);
    }
}
