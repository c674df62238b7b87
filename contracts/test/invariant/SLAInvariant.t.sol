// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../../src/ShapeRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {ShapeLibrary} from "../../src/types/Shape.sol";
import {SLAHandler, ParityVerifier} from "./SLAHandler.sol";

/// @notice A deployed protocol with the handler as the only fuzz target.
abstract contract SLAInvariantBase is Test {
    DevToken internal token;
    ProviderRegistry internal providers;
    ShapeRegistry internal shapes;
    SLAManager internal manager;
    SLAHandler internal handler;
    uint256 internal supply;

    function setUp() public {
        vm.warp(1_800_000_000);
        vm.roll(100);
        address gov = makeAddr("gov");
        token = new DevToken(gov, 0);
        providers = new ProviderRegistry(IERC20(address(token)), 1 days, gov);
        shapes = new ShapeRegistry(gov);
        manager = new SLAManager(IERC20(address(token)), providers, shapes, gov);
        bytes32 shapeId = ShapeLibrary.id(16, 4, 3, 2);
        handler = new SLAHandler(token, providers, manager, shapeId);
        vm.startPrank(gov);
        providers.setManager(address(manager));
        shapes.registerShape(shapeId, address(new ParityVerifier()), 16, 4, 3, 2);
        for (uint256 i = 0; i < 3; ++i) {
            token.mint(handler.buyers(i), 1_000_000e18);
        }
        for (uint256 i = 0; i < 2; ++i) {
            token.mint(handler.provs(i), 1_000_000e18);
        }
        vm.stopPrank();
        supply = token.totalSupply();
        handler.init();
        targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](11);
        actions[0] = SLAHandler.postJob.selector;
        actions[1] = SLAHandler.cancel.selector;
        actions[2] = SLAHandler.lock.selector;
        actions[3] = SLAHandler.commit.selector;
        actions[4] = SLAHandler.submit.selector;
        actions[5] = SLAHandler.slash.selector;
        actions[6] = SLAHandler.withdraw.selector;
        actions[7] = SLAHandler.addStake.selector;
        actions[8] = SLAHandler.unbond.selector;
        actions[9] = SLAHandler.withdrawUnbonded.selector;
        actions[10] = SLAHandler.passTime.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: actions}));
    }
}

/// @notice Funds conservation and payout safety over random sequences of every SLA action.
contract SLAInvariantTest is SLAInvariantBase {
    /// @dev Every token the protocol holds is owed to someone: escrow, stake or credit.
    function invariant_solvent() public view {
        assertEq(
            token.balanceOf(address(manager)) + token.balanceOf(address(providers)),
            manager.totalEscrow() + manager.totalCredits() + providers.totalStaked(),
            "protocol balance != escrow + credits + stake"
        );
        assertEq(token.balanceOf(address(manager)), manager.totalEscrow() + manager.totalCredits());
        assertEq(token.balanceOf(address(providers)), providers.totalStaked());
    }

    function invariant_escrowMatchesLiveJobs() public view {
        assertEq(manager.totalEscrow(), handler.ghostEscrow());
        assertEq(manager.totalCredits(), handler.creditsOfActors());
    }

    function invariant_supplyConserved() public view {
        assertEq(token.totalSupply(), supply);
    }

    function invariant_noPayWithoutValidProof() public view {
        assertFalse(handler.paidWithoutValidProof());
        assertFalse(handler.paidTwice());
    }

    function invariant_slashOnlyAfterDeadline() public view {
        assertFalse(handler.slashedBeforeDeadline());
    }
}

/// @notice The handler's actions really reach every state (an invariant suite whose actions all
///         revert would prove nothing).
contract SLAHandlerSmokeTest is SLAInvariantBase {
    function test_handlerReachesSettledAndSlashed() public {
        handler.postJob(0, 10e18, 1);
        handler.lock(0, 0);
        handler.commit(0);
        handler.submit(0, true);
        assertEq(handler.timesPaid(1), 1);
        handler.postJob(1, 10e18, 2);
        handler.lock(1, 1);
        handler.commit(1);
        handler.submit(1, false);
        assertEq(uint8(manager.getJob(2).state), 5); // Slashed
        handler.postJob(2, 10e18, 3);
        handler.lock(2, 0);
        handler.passTime(2 hours, 1);
        handler.slash(2);
        assertEq(uint8(manager.getJob(3).state), 5);
        handler.withdraw(0);
        handler.withdraw(5);
        assertEq(
            token.balanceOf(address(manager)) + token.balanceOf(address(providers)),
            manager.totalEscrow() + manager.totalCredits() + providers.totalStaked()
        );
        assertEq(manager.totalEscrow(), handler.ghostEscrow());
    }
}
