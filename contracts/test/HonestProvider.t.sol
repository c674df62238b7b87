// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Fixture} from "./helpers/Fixture.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {StakeMath} from "../src/libraries/StakeMath.sol";
import {Request} from "../src/types/Request.sol";
import {Job, JobState, Commitment, Submission} from "../src/types/Settlement.sol";
import {SwitchableFeeToken} from "./mocks/MaliciousTokens.sol";

/// @notice The honest-provider promises (protocol.md §10.2, settlement.md): every
///         window leaves room for the step after it, the proof clock runs from the seed, the
///         seed is one draw, rates are fixed at lock, cheaters lose at least the bound net of
///         any bounty they collect themselves, and a token that starts charging fees freezes
///         nothing.
contract HonestProviderTest is Fixture {
    address internal cheaterAlt = makeAddr("cheaterAlt");
    address internal sink = makeAddr("sink");

    // ------------------------------------------------------------ windows

    function testFuzz_honest_windowsBelowMinimumRefused(uint32 minExec, uint32 minProve, uint32 exec, uint32 prove)
        public
    {
        minExec = uint32(bound(minExec, 1, 30 days));
        minProve = uint32(bound(minProve, 1, 30 days));
        vm.prank(gov);
        manager.setMinWindows(minExec, minProve);
        Request memory r = request();
        r.execWindow = uint32(bound(exec, 0, 30 days));
        r.proveWindow = uint32(bound(prove, 0, 30 days));
        bool ok = r.execWindow >= minExec && r.proveWindow >= minProve;
        bytes memory sig = signRequest(r);
        if (!ok) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindows.selector, r.execWindow, r.proveWindow, 0));
        }
        vm.prank(provider);
        manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
    }

    function test_honest_minWindowChangeKeepsPostedJobs() public {
        Request memory r = request();
        uint256 jobId = post(r);
        vm.prank(gov);
        manager.setMinWindows(2 hours, 2 hours);
        vm.prank(provider);
        manager.lock(r, ANY_STAKE, ANY_ABANDON);
        assertEq(manager.getJob(jobId).deadline, block.timestamp + EXEC, "the posted window, not the new minimum");
    }

    /// @notice With a seed commitment the proof clock starts when the seed is fixed, however late.
    function testFuzz_honest_proveWindowRunsFromTheSeed(uint16 blocksLate, uint32 secondsLate) public {
        bytes32 secret = keccak256("s");
        Request memory r = requestWithSecret(secret);
        uint256 jobId = lockedCommitted(r);
        uint256 seedBlock = manager.getJob(jobId).seedBlock;
        vm.roll(seedBlock + 1 + bound(blocksLate, 0, 31));
        vm.warp(block.timestamp + bound(secondsLate, 0, 30 days));
        manager.revealSeed(r, secret);
        assertEq(manager.getJob(jobId).deadline, block.timestamp + PROVE);
        vm.warp(block.timestamp + PROVE);
        assertTrue(submit(submission(r)), "on time at the last second");
    }

    /// @notice Without a commitment the clock runs from the commit; the seed needs nobody and the
    ///         whole window is there to prove, up to the last second.
    function testFuzz_honest_seedlessJobProvesUntilItsDeadline(uint32 proveAfter) public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        uint256 proveBy = manager.getJob(jobId).deadline;
        assertEq(proveBy, block.timestamp + PROVE);
        vm.roll(block.number + 3);
        vm.warp(block.timestamp + bound(proveAfter, 0, PROVE));
        assertTrue(submit(submission(r)));
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    /// @notice However little gas a submission of a valid proof is given, it never slashes: the
    ///         verifier's precompiles get all the gas there is and a failure reverts, so the job
    ///         stays committed and a later submission with enough gas settles it (the promise a
    ///         fixed precompile allowance broke on a fork that reprices the precompiles).
    function testFuzz_honest_tooLittleGasNeverSlashes(uint32 gas) public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        vm.roll(block.number + 3);
        Submission memory s = submission(r);
        bytes memory data = abi.encodeCall(manager.submit, (s));
        vm.prank(provider);
        (bool ok,) = address(manager).call{gas: bound(gas, 30_000, 400_000)}(data);
        if (!ok) assertEq(uint256(state(jobId)), uint256(JobState.Committed), "reverted but concluded");
        else assertEq(uint256(state(jobId)), uint256(JobState.Settled), "concluded other than settled");
        if (!ok) assertTrue(submit(s));
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    // ------------------------------------------------------------ the seed is one draw

    function test_cheater_onlyTheSecretFixesTheSeedDuringTheRevealWindow() public {
        bytes32 secret = keccak256("s");
        Request memory r = requestWithSecret(secret);
        uint256 jobId = lockedCommitted(r);
        uint64 seedBlock = manager.getJob(jobId).seedBlock;
        for (uint256 b = seedBlock + 1; b <= seedBlock + 32; b += 7) {
            vm.roll(b);
            vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealPending.selector, jobId, seedBlock + 32, b));
            manager.fixSeed(jobId);
        }
        vm.roll(seedBlock + 33);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealClosed.selector, jobId, seedBlock + 32, seedBlock + 33));
        manager.revealSeed(r, secret);
        manager.fixSeed(jobId);
        assertTrue(manager.getJob(jobId).flags & 2 != 0, "fixed without the secret");
    }

    /// @notice While the buyer may still reveal, seedOf names no seed: a provider that proved
    ///         against the secret-less value would be slashed once the reveal replaced it.
    function test_honest_seedOfWaitsForTheRevealWindow() public {
        bytes32 secret = keccak256("s");
        Request memory r = requestWithSecret(secret);
        uint256 jobId = lockedCommitted(r);
        uint64 seedBlock = manager.getJob(jobId).seedBlock;
        for (uint256 b = seedBlock + 1; b <= seedBlock + 32; b += 7) {
            vm.roll(b);
            vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealPending.selector, jobId, seedBlock + 32, b));
            manager.seedOf(jobId);
        }
        manager.revealSeed(r, secret);
        uint256 revealed = manager.seedOf(jobId);
        assertEq(revealed, manager.getJob(jobId).seed);
        assertTrue(submit(submission(r)));
    }

    /// @notice A chain whose blockhash names no recent block (zero) gives no seed: the value
    ///         would be a function of the commitment alone, which the provider chose and could
    ///         grind, so neither the view, the fix nor a submission derives one.
    function test_cheater_zeroBlockhashGivesNoSeed() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        uint64 seedBlock = manager.getJob(jobId).seedBlock;
        vm.roll(seedBlock + 2);
        Submission memory s = submission(r);
        vm.setBlockhash(seedBlock, bytes32(0));
        bytes memory unavailable =
            abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, seedBlock, seedBlock + 2);
        vm.expectRevert(unavailable);
        manager.seedOf(jobId);
        vm.expectRevert(unavailable);
        manager.fixSeed(jobId);
        vm.prank(provider);
        vm.expectRevert(unavailable);
        manager.submit(s);
        assertEq(uint256(state(jobId)), uint256(JobState.Committed));
    }

    function testFuzz_cheater_badSecretRefused(bytes32 guess) public {
        bytes32 secret = keccak256("s");
        vm.assume(guess != secret);
        Request memory r = requestWithSecret(secret);
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReveal.selector, jobId, r.seedCommitment));
        manager.revealSeed(r, guess);
    }

    function testFuzz_cheater_seedExpiry(uint16 blocksAfter) public {
        Request memory r = requestWithSecret(keccak256("never"));
        uint256 jobId = lockedCommitted(r);
        uint256 seedBlock = manager.getJob(jobId).seedBlock;
        uint256 at = seedBlock + bound(blocksAfter, 1, 600);
        vm.roll(at);
        Commitment memory sc1 = commitmentFor(r);
        vm.prank(keeper);
        if (at <= seedBlock + 256) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, seedBlock, at));
        }
        manager.slash(r, sc1);
    }

    // ------------------------------------------------------------ what a cheater loses

    function testFuzz_cheater_selfSlashLosesNetStake(uint96 price, uint16 bountyBps, uint16 floorBps) public {
        price = uint96(bound(price, 1, 5_000e18));
        bountyBps = uint16(bound(bountyBps, 0, manager.MAX_BOUNTY_BPS()));
        floorBps = uint16(bound(floorBps, 1000, 9999));
        vm.startPrank(gov);
        manager.setBountyBps(bountyBps);
        manager.setDetectionFloorBps(floorBps);
        vm.stopPrank();
        Request memory r = request();
        r.price = price;
        uint256 held = _cheaterHoldings();
        uint256 buyerBefore = manager.balanceOf(buyer);
        uint256 jobId = lockSigned(r);
        Job memory j = manager.getJob(jobId);
        uint256 stake = stakeOf(jobId);
        assertEq(stake, manager.requiredStake(price, 1), "lock reserves the view's amount");
        vm.warp(uint256(j.deadline) + 1);
        Commitment memory sc2 = commitmentFor(r);
        vm.prank(cheaterAlt);
        manager.slash(r, sc2);
        assertGe(held - _cheaterHoldings(), StakeMath.requiredStake(price, floorBps, 1), "kept part of the bound");
        uint256 bounty = manager.balanceOf(cheaterAlt);
        assertEq(bounty, stake * bountyBps / 10_000);
        assertEq(manager.balanceOf(buyer) - buyerBefore, uint256(price) + stake - bounty);
    }

    function testFuzz_cheater_ratesFixedAtLock(uint16 bountyAtLock, uint16 bountyLater, uint16 abandonLater) public {
        bountyAtLock = uint16(bound(bountyAtLock, 0, 2_000));
        vm.prank(gov);
        manager.setBountyBps(bountyAtLock);
        Request memory r = request();
        uint256 jobId = lockSigned(r);
        Job memory j = manager.getJob(jobId);
        uint256 stakeAtLock = stakeOf(jobId);
        vm.startPrank(gov);
        manager.setBountyBps(uint16(bound(bountyLater, 0, 2_000)));
        manager.setAbandonBps(uint16(bound(abandonLater, 100, 5_000)));
        manager.setDetectionFloorBps(9_000);
        vm.stopPrank();
        Job memory after_ = manager.getJob(jobId);
        assertEq(after_.bountyBps, bountyAtLock);
        assertEq(after_.abandonBps, j.abandonBps);
        assertEq(stakeOf(jobId), stakeAtLock);
        vm.warp(uint256(j.deadline) + 1);
        Commitment memory sc3 = commitmentFor(r);
        vm.prank(keeper);
        manager.slash(r, sc3);
        assertEq(manager.balanceOf(keeper), stakeAtLock * bountyAtLock / 10_000);
    }

    function testFuzz_honest_abandon(uint16 abandonBps, uint32 dt) public {
        abandonBps = uint16(bound(abandonBps, 100, 5_000));
        vm.prank(gov);
        manager.setAbandonBps(abandonBps);
        Request memory r = request();
        r.lockBy = uint64(block.timestamp + EXEC / 2);
        uint256 jobId = lockSigned(r);
        uint256 stake = stakeOf(jobId);
        uint256 freeBefore = providers.freeStake(provider);
        vm.warp(block.timestamp + bound(dt, 0, EXEC));
        bool reopens = block.timestamp <= r.lockBy;
        vm.prank(provider);
        manager.abandon(r);
        uint256 fee = stake * abandonBps / 10_000;
        assertEq(providers.freeStake(provider) - freeBefore, stake - fee, "the rest released");
        assertEq(providers.reservedStake(provider), 0);
        assertEq(manager.balanceOf(buyer), fee + (reopens ? 0 : PRICE));
        assertEq(uint256(state(jobId)), uint256(reopens ? JobState.Open : JobState.Cancelled));
    }

    // ------------------------------------------------------------ money

    function test_honest_withdrawToAnotherAddressAndZeroRefused() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        assertTrue(submit(submission(r)));
        vm.prank(provider);
        vm.expectRevert(SLAManager.ZeroValue.selector);
        manager.withdrawTo(address(0));
        vm.prank(provider);
        manager.withdrawTo(sink);
        assertEq(token.balanceOf(sink), PRICE);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NothingToWithdraw.selector, provider));
        manager.withdraw();
    }

    /// @notice A token that starts charging transfer fees after jobs are escrowed cannot make a
    ///         settlement, an abandonment or a slash revert: none of them moves a token.
    function test_honest_feeTurnedOnLaterFreezesNothing() public {
        SwitchableFeeToken t = new SwitchableFeeToken();
        ProviderRegistry reg = new ProviderRegistry(IERC20(address(t)), UNBONDING, gov);
        SLAManager m = new SLAManager(IERC20(address(t)), reg, classes, hasher, gov);
        vm.prank(gov);
        reg.setManager(address(m));
        manager = m; // the fixture's helpers sign and submit against this manager
        providers = reg;
        t.mint(buyer, 10_000e18);
        t.mint(provider, 1_000_000e18);
        vm.prank(buyer);
        t.approve(address(m), type(uint256).max);
        vm.startPrank(provider);
        t.approve(address(reg), type(uint256).max);
        reg.register(nodeKey, 1_000_000e18);
        vm.stopPrank();

        Request[3] memory rs;
        uint256[3] memory ids;
        for (uint256 i = 0; i < 3; ++i) {
            rs[i] = request();
            ids[i] = lockSigned(rs[i]);
        }
        uint256 stake = stakeOf(ids[0]);
        t.setFeeBps(100);

        commit(ids[0]);
        toSeed(ids[0]);
        assertTrue(submit(submission(rs[0])));
        vm.prank(provider);
        m.abandon(rs[1]);
        vm.warp(uint256(m.getJob(ids[2]).deadline) + 1);
        Commitment memory sc4 = commitmentFor(ids[2]);
        vm.prank(keeper);
        m.slash(rs[2], sc4);

        assertEq(t.balanceOf(address(m)), PRICE * 3, "escrow intact");
        assertEq(m.balanceOf(buyer), PRICE + stake / 10 + stake - stake * 500 / 10_000);
        vm.prank(buyer);
        m.withdrawTo(sink);
        vm.prank(provider);
        m.withdraw();
        vm.prank(keeper);
        m.withdraw();
        assertEq(reg.totalCredits(), 0);
        // New escrow is refused while the fee is on: the manager cannot receive less than it credits.
        Request memory r = request();
        vm.prank(buyer);
        vm.expectRevert();
        m.post(r, "");
    }

    function _cheaterHoldings() internal view returns (uint256) {
        return providers.freeStake(provider) + providers.reservedStake(provider) + manager.balanceOf(provider)
            + manager.balanceOf(cheaterAlt);
    }
}
