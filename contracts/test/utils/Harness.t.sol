// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {Vm} from "./Vm.sol";

/// @dev A deliberately tiny escrow so the harness is exercised against real reverts, events,
///      time and callers rather than against itself.
contract TinyEscrow {
    error NotOwner(address caller, address owner);
    error TooEarly(uint256 now_, uint256 unlockAt);
    error TooLarge(uint256 amount, uint256 limit);
    error ZeroAmount();

    event Deposited(address indexed from, uint256 amount, uint256 total);

    address public immutable owner;
    uint256 public immutable unlockAt;
    uint256 public constant LIMIT = 1_000_000;
    uint256 public total;
    mapping(address => uint256) public balanceOf;

    constructor(address owner_, uint256 unlockAt_) {
        owner = owner_;
        unlockAt = unlockAt_;
    }

    function deposit(uint256 amount) external {
        if (amount > LIMIT) revert TooLarge(amount, LIMIT);
        balanceOf[msg.sender] += amount;
        total += amount;
        emit Deposited(msg.sender, amount, total);
    }

    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        balanceOf[msg.sender] -= amount;
        total -= amount;
    }

    function sweep() external view returns (uint256) {
        if (msg.sender != owner) revert NotOwner(msg.sender, owner);
        if (block.timestamp < unlockAt) revert TooEarly(block.timestamp, unlockAt);
        return total;
    }
}

/// @dev Handler for the invariant run: keeps ghost totals so the invariant compares the
///      contract against an independent model, and bounds inputs so most calls succeed.
contract TinyEscrowHandler is Test {
    TinyEscrow public immutable escrow;
    address[3] internal actors;
    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    uint256 public calls;

    constructor(TinyEscrow escrow_) {
        escrow = escrow_;
        actors = [address(0xA11CE), address(0xB0B), address(0xCA7)];
    }

    function deposit(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        amount = bound(amount, 0, escrow.LIMIT());
        vm.prank(actor);
        escrow.deposit(amount);
        ghostDeposited += amount;
        calls++;
    }

    function withdraw(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        uint256 balance = escrow.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(actor);
        escrow.withdraw(amount);
        ghostWithdrawn += amount;
        calls++;
    }

    function sumOfBalances() external view returns (uint256 sum) {
        for (uint256 i = 0; i < actors.length; i++) {
            sum += escrow.balanceOf(actors[i]);
        }
    }
}

/// @notice Proves the offline harness (Vm.sol, Test.sol) works against forge 1.7: every
///         cheatcode family the suite relies on is called at least once here.
contract HarnessTest is Test {
    TinyEscrow internal escrow;
    address internal owner;
    uint256 internal constant UNLOCK = 1_700_000_000;

    event Deposited(address indexed from, uint256 amount, uint256 total);

    function setUp() public {
        owner = makeAddr("owner");
        escrow = new TinyEscrow(owner, UNLOCK);
    }

    function test_PrankAndWarp() public {
        vm.warp(UNLOCK);
        vm.prank(owner);
        assertEq(escrow.sweep(), 0);

        vm.startPrank(owner);
        escrow.deposit(5);
        assertEq(escrow.balanceOf(owner), 5, "startPrank deposit is credited to the pranked caller");
        vm.stopPrank();
        assertEq(escrow.balanceOf(address(this)), 0);
    }

    function test_ExpectRevertCustomErrorWithArguments() public {
        vm.warp(UNLOCK - 1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(TinyEscrow.TooEarly.selector, UNLOCK - 1, UNLOCK));
        escrow.sweep();

        vm.expectRevert(abi.encodeWithSelector(TinyEscrow.NotOwner.selector, address(this), owner));
        escrow.sweep();

        vm.expectRevert(abi.encodeWithSelector(TinyEscrow.TooLarge.selector, 1_000_001, 1_000_000));
        escrow.deposit(1_000_001);
    }

    function test_ExpectRevertSelectorAndPartial() public {
        vm.expectRevert(TinyEscrow.ZeroAmount.selector);
        escrow.withdraw(0);
        vm.expectRevert(abi.encodeWithSelector(TinyEscrow.NotOwner.selector, address(this), owner), address(escrow));
        escrow.sweep();
        vm.expectPartialRevert(TinyEscrow.TooLarge.selector);
        escrow.deposit(type(uint256).max);
    }

    function test_ExpectRevertPanic() public {
        // 0x11: arithmetic underflow in withdraw.
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        escrow.withdraw(1);
    }

    function test_ExpectEmitAndRecordLogs() public {
        vm.expectEmit(true, false, false, true, address(escrow));
        emit Deposited(address(this), 7, 7);
        escrow.deposit(7);

        vm.recordLogs();
        escrow.deposit(3);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].emitter, address(escrow));
        assertEq(logs[0].topics[0], Deposited.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(address(this)))));
        assertEq(logs[0].data, abi.encode(uint256(3), uint256(10)));
    }

    function test_SignRecovers() public {
        (address signer, uint256 key) = makeAddrAndKey("signer");
        bytes32 digest = keccak256("probity harness");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        assertEq(ecrecover(digest, v, r, s), signer);
        assertEq(vm.addr(key), signer);
    }

    function test_RollDealAndState() public {
        vm.roll(1234);
        assertEq(block.number, 1234);
        vm.deal(owner, 3 ether);
        assertEq(owner.balance, 3 ether);
        uint256 snap = vm.snapshotState();
        escrow.deposit(9);
        assertTrue(vm.revertToState(snap));
        assertEq(escrow.total(), 0, "revertToState undoes the deposit");
    }

    function test_GasSnapshotsAndEnv() public {
        escrow.deposit(1);
        uint256 gasUsed = vm.snapshotGasLastCall("harness", "deposit_warm");
        assertGt(gasUsed, 0);
        vm.startSnapshotGas("harness", "withdraw");
        escrow.withdraw(1);
        assertGt(vm.stopSnapshotGas(), 0);
        assertEq(vm.envOr("PROBITY_HARNESS_UNSET_VARIABLE", uint256(42)), 42);
        vm.setEnv("PROBITY_HARNESS_SET_VARIABLE", "43");
        assertEq(vm.envOr("PROBITY_HARNESS_SET_VARIABLE", uint256(0)), 43);
        assertEq(vm.parseTomlUint("[a]\nn = 7\n", ".a.n"), 7);
        // fs_permissions allow writing only the invariant reach snapshots.
        try vm.writeFile(string.concat(vm.projectRoot(), "/contracts/snapshots/harness-not-allowed.txt"), "x") {
            revert("writeFile outside fs_permissions succeeded");
        } catch {}
        assertTrue(vm.exists(string.concat(vm.projectRoot(), "/foundry.toml")));
        string memory json = '{"a":{"n":7,"h":"0x0000000000000000000000000000000000000000000000000000000000000001"}}';
        assertEq(vm.parseJsonUint(json, ".a.n"), 7);
        assertEq(vm.parseJsonBytes32(json, ".a.h"), bytes32(uint256(1)));
    }

    function test_AssertionsFailWithValues() public {
        vm.expectRevert(bytes("assertEq(uint256) failed: 1 != 2"));
        this.callAssertEq(1, 2, "");
        vm.expectRevert(bytes("ctx: assertEq(uint256) failed: 1 != 2"));
        this.callAssertEq(1, 2, "ctx");
        this.callAssertEq(2, 2, "ctx");
    }

    function callAssertEq(uint256 a, uint256 b, string memory err) external pure {
        assertEq(a, b, err);
    }

    function test_BoundKeepsInRangeValues() public pure {
        assertEq(bound(uint256(5), 0, 10), 5);
        assertEq(bound(uint256(11), 0, 10), 0);
        assertEq(bound(type(uint256).max, 5, 10), 10);
        assertEq(bound(int256(3), -5, 5), int256(3));
        // -7 is 2 below the range, so it wraps to 2 below the top: 4.
        assertEq(bound(int256(-7), -5, 5), int256(4));
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_DepositBounded(uint256 amount, address who) public {
        vm.assume(who != address(0));
        amount = bound(amount, 1, escrow.LIMIT());
        assertGe(amount, 1);
        assertLe(amount, escrow.LIMIT());
        vm.prank(who);
        escrow.deposit(amount);
        assertEq(escrow.balanceOf(who), amount);
        assertEq(escrow.total(), amount);
    }

    function testFuzz_BoundIsInRange(uint256 x, uint256 min, uint256 max) public pure {
        vm.assume(min <= max);
        uint256 r = bound(x, min, max);
        assertGe(r, min);
        assertLe(r, max);
        if (x >= min && x <= max) assertEq(r, x, "in-range values are kept");
    }

    function testFuzz_BoundSignedIsInRange(int256 x, int256 min, int256 max) public pure {
        vm.assume(min <= max);
        int256 r = bound(x, min, max);
        assertGe(r, min);
        assertLe(r, max);
    }
}

/// @notice A tiny invariant suite through the Test base's target registry.
contract HarnessInvariantTest is Test {
    TinyEscrow internal escrow;
    TinyEscrowHandler internal handler;

    function setUp() public {
        escrow = new TinyEscrow(address(this), 0);
        handler = new TinyEscrowHandler(escrow);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](2);
        selectors[0] = TinyEscrowHandler.deposit.selector;
        selectors[1] = TinyEscrowHandler.withdraw.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function invariant_TotalMatchesGhostModel() public view {
        assertEq(escrow.total(), handler.ghostDeposited() - handler.ghostWithdrawn());
    }

    function invariant_TotalIsSumOfBalances() public view {
        assertEq(escrow.total(), handler.sumOfBalances());
    }

    function invariant_HandlerIsCalled() public view {
        // Only the handler is targeted, so the escrow sees no calls from elsewhere.
        assertEq(targetContracts().length, 1);
        assertEq(targetContracts()[0], address(handler));
    }
}
