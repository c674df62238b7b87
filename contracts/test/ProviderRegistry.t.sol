// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {Provider} from "../src/types/Provider.sol";
import {FeeOnTransferToken} from "./mocks/MaliciousTokens.sol";

/// @notice The provider registry on its own (the manager is an EOA here): stake in and out,
///         unbonding, key rotation and the manager's reserve, slash and credit calls.
contract ProviderRegistryTest is Test {
    address internal gov = makeAddr("gov");
    address internal alice = makeAddr("alice");
    address internal key = makeAddr("key");
    address internal mgr = makeAddr("manager");
    DevToken internal token;
    ProviderRegistry internal reg;

    function setUp() public {
        vm.warp(1_800_000_000);
        token = new DevToken(gov, 0);
        reg = new ProviderRegistry(IERC20(address(token)), 7 days, gov);
        vm.startPrank(gov);
        reg.setManager(mgr);
        token.mint(alice, 1_000e18);
        vm.stopPrank();
        vm.prank(alice);
        token.approve(address(reg), type(uint256).max);
    }

    function test_register_pullsStake() public {
        vm.expectEmit(address(reg));
        emit ProviderRegistry.ProviderRegistered(alice, key, 100e18);
        vm.prank(alice);
        reg.register(key, 100e18);
        assertTrue(reg.isRegistered(alice));
        assertEq(reg.nodeKeyOf(alice), key);
        assertEq(reg.freeStake(alice), 100e18);
        assertEq(reg.totalStaked(), 100e18);
        assertEq(token.balanceOf(address(reg)), 100e18);
    }

    function test_register_reverts() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAddress.selector));
        reg.register(address(0), 1);
        reg.register(key, 0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.AlreadyRegistered.selector, alice));
        reg.register(key, 0);
        vm.stopPrank();
    }

    function test_rotateNodeKey() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        reg.rotateNodeKey(key);
        reg.register(key, 0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAddress.selector));
        reg.rotateNodeKey(address(0));
        vm.expectEmit(address(reg));
        emit ProviderRegistry.NodeKeyRotated(alice, key, address(7));
        reg.rotateNodeKey(address(7));
        vm.stopPrank();
        assertEq(reg.nodeKeyOf(alice), address(7));
    }

    function test_addStake() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        reg.addStake(1);
        reg.register(key, 1e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAmount.selector));
        reg.addStake(0);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeAdded(alice, 2e18, 3e18);
        reg.addStake(2e18);
        vm.stopPrank();
        assertEq(reg.freeStake(alice), 3e18);
    }

    function test_unbond_waitsForDelay() public {
        vm.startPrank(alice);
        reg.register(key, 100e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NothingUnbonding.selector, alice));
        reg.withdrawUnbonded();
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAmount.selector));
        reg.requestUnbond(0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientFreeStake.selector, alice, 100e18, 101e18));
        reg.requestUnbond(101e18);
        uint64 readyAt = uint64(block.timestamp + 7 days);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.UnbondRequested(alice, 40e18, 40e18, readyAt);
        reg.requestUnbond(40e18);
        assertEq(reg.freeStake(alice), 60e18);
        vm.warp(readyAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.UnbondingNotReady.selector, alice, readyAt, readyAt - 1)
        );
        reg.withdrawUnbonded();
        vm.warp(readyAt);
        uint256 before = token.balanceOf(alice);
        reg.withdrawUnbonded();
        vm.stopPrank();
        assertEq(token.balanceOf(alice), before + 40e18);
        assertEq(reg.totalStaked(), 60e18);
        assertEq(reg.providerOf(alice).unbonding, 0);
    }

    function test_reservedStakeCannotBeUnbonded() public {
        vm.prank(alice);
        reg.register(key, 100e18);
        vm.prank(mgr);
        reg.reserve(alice, 1, 80e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientFreeStake.selector, alice, 20e18, 21e18));
        vm.prank(alice);
        reg.requestUnbond(21e18);
        Provider memory p = reg.providerOf(alice);
        assertEq(p.reserved, 80e18);
        assertEq(p.free, 20e18);
    }

    function test_managerOps() public {
        vm.prank(alice);
        reg.register(key, 100e18);
        vm.startPrank(mgr);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientFreeStake.selector, alice, 100e18, 101e18));
        reg.reserve(alice, 1, 101e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, gov));
        reg.reserve(gov, 1, 1);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeReserved(alice, 1, 50e18);
        reg.reserve(alice, 1, 50e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientReservedStake.selector, alice, 50e18, 51e18));
        reg.release(alice, 1, 51e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientReservedStake.selector, alice, 50e18, 51e18));
        reg.slash(alice, 1, 51e18, mgr, address(0), 0);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeReleased(alice, 1, 20e18);
        reg.release(alice, 1, 20e18);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeSlashed(alice, 1, 30e18, mgr, address(0), 0);
        reg.slash(alice, 1, 30e18, mgr, address(0), 0);
        vm.stopPrank();
        assertEq(reg.creditOf(mgr), 30e18);
        assertEq(reg.totalStaked(), 70e18);
        assertEq(reg.freeStake(alice), 70e18);
        assertEq(reg.reservedStake(alice), 0);
    }

    /// @dev An abandonment fee leaves reserved stake as a credit of the buyer, like a slash, but
    ///      under its own event, and only the manager can take it.
    function test_forfeitCreditsWithoutSlashEvent() public {
        vm.prank(alice);
        reg.register(key, 100e18);
        address buyer = makeAddr("buyer");
        vm.startPrank(mgr);
        reg.reserve(alice, 1, 40e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientReservedStake.selector, alice, 40e18, 41e18));
        reg.forfeit(alice, 1, 41e18, buyer);
        uint256 held = token.balanceOf(address(reg));
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeForfeited(alice, 1, 4e18, buyer);
        reg.forfeit(alice, 1, 4e18, buyer);
        vm.stopPrank();
        assertEq(token.balanceOf(address(reg)), held, "a forfeit moves no tokens");
        assertEq(reg.creditOf(buyer), 4e18);
        assertEq(reg.reservedStake(alice), 36e18);
        assertEq(reg.totalStaked(), 96e18);
        assertEq(token.balanceOf(address(reg)), reg.totalStaked() + reg.totalCredits());
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, buyer));
        vm.prank(buyer);
        reg.forfeit(alice, 1, 1, buyer);
    }

    /// @dev Slashed stake is credited inside the registry (no transfer), split between the
    ///      recipient and the bounty taker, and paid out only through the manager.
    function test_slashCreditsAndPayCredit() public {
        vm.prank(alice);
        reg.register(key, 100e18);
        address buyer = makeAddr("buyer");
        address taker = makeAddr("taker");
        address sink = makeAddr("sink");
        vm.startPrank(mgr);
        reg.reserve(alice, 1, 40e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientReservedStake.selector, alice, 40e18, 41e18));
        reg.slash(alice, 1, 40e18, buyer, taker, 41e18);
        uint256 held = token.balanceOf(address(reg));
        vm.expectEmit(address(reg));
        emit ProviderRegistry.StakeSlashed(alice, 1, 40e18, buyer, taker, 4e18);
        reg.slash(alice, 1, 40e18, buyer, taker, 4e18);
        assertEq(token.balanceOf(address(reg)), held, "a slash moves no tokens");
        assertEq(reg.creditOf(buyer), 36e18);
        assertEq(reg.creditOf(taker), 4e18);
        assertEq(reg.totalCredits(), 40e18);
        assertEq(reg.totalStaked(), 60e18);
        vm.expectEmit(address(reg));
        emit ProviderRegistry.CreditPaid(buyer, sink, 36e18);
        assertEq(reg.payCredit(buyer, sink), 36e18);
        assertEq(reg.payCredit(buyer, sink), 0, "nothing left to pay");
        vm.stopPrank();
        assertEq(token.balanceOf(sink), 36e18);
        assertEq(reg.totalCredits(), 4e18);
        assertEq(token.balanceOf(address(reg)), reg.totalStaked() + reg.totalCredits());
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, taker));
        vm.prank(taker);
        reg.payCredit(taker, taker);
    }

    function test_setManager_once() public {
        ProviderRegistry r2 = new ProviderRegistry(IERC20(address(token)), 1, gov);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        r2.setManager(mgr);
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAddress.selector));
        r2.setManager(address(0));
        r2.setManager(mgr);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ManagerAlreadySet.selector, mgr));
        r2.setManager(alice);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAddress.selector));
        new ProviderRegistry(IERC20(address(0)), 1, gov);
    }

    function test_rejectsFeeOnTransferToken() public {
        FeeOnTransferToken fot = new FeeOnTransferToken();
        ProviderRegistry r2 = new ProviderRegistry(IERC20(address(fot)), 1, gov);
        fot.mint(alice, 100e18);
        vm.startPrank(alice);
        fot.approve(address(r2), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.TransferAmountMismatch.selector, 100e18, 99e18));
        r2.register(key, 100e18);
        r2.register(key, 0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.TransferAmountMismatch.selector, 10e18, 9.9e18));
        r2.addStake(10e18);
        vm.stopPrank();
    }

    function testFuzz_stakeAccounting(uint96 a, uint96 b, uint96 u) public {
        a = uint96(bound(a, 1, 400e18));
        b = uint96(bound(b, 1, 400e18));
        vm.startPrank(alice);
        reg.register(key, a);
        reg.addStake(b);
        u = uint96(bound(u, 1, uint256(a) + b));
        reg.requestUnbond(u);
        vm.stopPrank();
        Provider memory p = reg.providerOf(alice);
        assertEq(p.free + p.reserved + p.unbonding, uint256(a) + b);
        assertEq(token.balanceOf(address(reg)), reg.totalStaked());
    }
}
