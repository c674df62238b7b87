// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./helpers/Fixture.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../src/ShapeRegistry.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {StakeMath} from "../src/libraries/StakeMath.sol";
import {Provider} from "../src/types/Provider.sol";
import {Job, JobState} from "../src/types/Job.sol";
import {JobSpec} from "../src/types/JobSpec.sol";
import {Layer} from "../src/types/Layer.sol";
import {Receipt} from "../src/types/Receipt.sol";
import {ShapeLibrary} from "../src/types/Shape.sol";
import {AcceptingVerifier} from "./mocks/AcceptingVerifier.sol";
import {SwitchableFeeToken} from "./mocks/MaliciousTokens.sol";

/// @notice Issue 11, one test per case: an honest provider that follows the protocol's timing
///         is never slashed, and a cheater always loses at least the stake the detection bound
///         requires. Every test here fails on the contracts before the fix (proof deadline from
///         the commit, rates read at slash time, stake sent to the manager on slash, no windows
///         minimum, no reveal, no abandon, no withdrawTo); `test_honest_*` are the ways an honest
///         provider used to lose its stake, `test_cheater_*` the ways a cheater kept it.
contract Issue11Test is Fixture {
    bytes32 internal constant SECRET = keccak256("buyer secret");
    address internal cheaterAlt = makeAddr("cheaterAlt");
    address internal sink = makeAddr("sink");

    // ============================================================ windows

    /// @dev A window below the governance minimum is refused at post: no honest provider could
    ///      meet it (the old contract accepted any nonzero window, e.g. a 1 s proveWindow).
    function test_honest_shortWindowsRefused() public {
        JobSpec memory spec = oneLayerSpec();
        uint64 lockBy = uint64(block.timestamp + 1 hours);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WindowTooShort.selector, 59, PROVE, 60, 60));
        manager.postJob(spec, PRICE, lockBy, 59, PROVE, bytes32(0), "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WindowTooShort.selector, EXEC, 1, 60, 60));
        manager.postJob(spec, PRICE, lockBy, EXEC, 1, bytes32(0), "");
        // Exactly the minimum is allowed.
        uint256 jobId = manager.postJob(spec, PRICE, lockBy, 60, 60, bytes32(0), "");
        vm.stopPrank();
        assertEq(manager.getJob(jobId).execWindow, 60);
        assertEq(manager.getJob(jobId).proveWindow, 60);
        assertEq(manager.totalEscrow(), PRICE);
    }

    function testFuzz_honest_windowsBelowMinimumRefused(uint32 minExec, uint32 minProve, uint32 exec, uint32 prove)
        public
    {
        minExec = uint32(bound(minExec, 1, manager.MAX_MIN_WINDOW()));
        minProve = uint32(bound(minProve, 1, manager.MAX_MIN_WINDOW()));
        vm.prank(gov);
        manager.setMinWindows(minExec, minProve);
        JobSpec memory spec = oneLayerSpec();
        uint64 lockBy = uint64(block.timestamp + 1);
        vm.prank(buyer);
        if (exec < minExec || prove < minProve) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.WindowTooShort.selector, exec, prove, minExec, minProve));
            manager.postJob(spec, PRICE, lockBy, exec, prove, bytes32(0), "");
        } else {
            uint256 jobId = manager.postJob(spec, PRICE, lockBy, exec, prove, bytes32(0), "");
            assertEq(manager.getJob(jobId).proveWindow, prove);
        }
    }

    /// @dev Minimums apply to jobs posted after the change only: a job already posted keeps its
    ///      windows, so a provider that locked it is not surprised.
    function test_honest_minWindowChangeKeepsPostedJobs() public {
        uint256 jobId = post(oneLayerSpec());
        vm.prank(gov);
        manager.setMinWindows(2 hours, 2 hours);
        vm.prank(provider);
        manager.lock(jobId);
        assertEq(manager.getJob(jobId).commitBy, block.timestamp + EXEC);
    }

    // ============================================================ proof deadline from the seed

    /// @dev The seed is fixed 200 blocks and two proof windows after the commit: the old proveBy
    ///      (commit + proveWindow) has long passed, yet the provider still has all of proveWindow.
    function test_honest_lateSeedStillGetsFullProveWindow() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        uint64 sb = manager.getJob(jobId).seedBlock;
        vm.roll(sb + 200);
        vm.warp(block.timestamp + 2 * PROVE);
        uint64 proveBy = uint64(block.timestamp) + PROVE;
        vm.expectEmit(address(manager));
        emit SLAManager.SeedFixed(jobId, expectedSeed(jobId, bytes32(0)), proveBy, false);
        vm.prank(keeper);
        manager.fixSeed(jobId);
        assertEq(manager.getJob(jobId).proveBy, proveBy);

        vm.warp(proveBy);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, proveBy));
        vm.prank(keeper);
        manager.slash(jobId);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Settled));
        assertEq(manager.creditOf(provider), PRICE);
    }

    function testFuzz_honest_proveWindowRunsFromSeedFixing(uint16 blocksLate, uint32 secondsLate, uint32 proveWindow)
        public
    {
        blocksLate = uint16(bound(blocksLate, 1, manager.SEED_HORIZON()));
        secondsLate = uint32(bound(secondsLate, 0, 30 days));
        proveWindow = uint32(bound(proveWindow, 60, 7 days));
        JobSpec memory spec = oneLayerSpec();
        vm.prank(buyer);
        uint256 jobId =
            manager.postJob(spec, PRICE, uint64(block.timestamp + 1 hours), EXEC, proveWindow, bytes32(0), "");
        vm.prank(provider);
        manager.lock(jobId);
        uint256[] memory roots = rootsFor(1);
        vm.prank(provider);
        manager.commit(jobId, roots, ATTESTATION);
        vm.roll(manager.getJob(jobId).seedBlock + blocksLate);
        vm.warp(block.timestamp + secondsLate);
        vm.prank(keeper);
        manager.fixSeed(jobId);
        uint64 proveBy = uint64(block.timestamp) + proveWindow;
        assertEq(manager.getJob(jobId).proveBy, proveBy);
        // The last second of the window is the provider's, the next one the keeper's.
        vm.warp(proveBy);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
    }

    /// @dev A job committed right before a long stall (no block for an hour, the minimum 60 s
    ///      proveWindow) cannot be slashed: its proof clock has not started. The old contract
    ///      slashed it at commit + proveWindow although no proof was possible yet.
    function test_honest_commitBeforeLongSeedDelayNotSlashable() public {
        JobSpec memory spec = oneLayerSpec();
        vm.prank(buyer);
        uint256 jobId = manager.postJob(spec, PRICE, uint64(block.timestamp + 1 hours), EXEC, 60, bytes32(0), "");
        vm.prank(provider);
        manager.lock(jobId);
        uint256[] memory roots = rootsFor(1);
        vm.prank(provider);
        manager.commit(jobId, roots, ATTESTATION);
        uint64 sb = manager.getJob(jobId).seedBlock;
        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, block.number));
        vm.prank(keeper);
        manager.slash(jobId);
        // Blocks resume: the provider fixes the seed by submitting and settles.
        vm.roll(sb + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, block.number));
        vm.prank(keeper);
        manager.slash(jobId);
        assertTrue(_submitFixingSeed(jobId, spec, roots));
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Settled));
    }

    // ============================================================ seed expiry

    /// @dev At seedBlock + SEED_HORIZON the seed can still be fixed, so nobody may slash; one
    ///      block later it never can be, and the job is slashable at once, with no wait for a
    ///      time deadline (the old contract waited for commit + proveWindow).
    function test_cheater_seedExpirySlashesAtOnce() public {
        (uint256 jobId,) = postCommitted(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        uint256 horizon = uint256(j.seedBlock) + manager.SEED_HORIZON();
        vm.roll(horizon);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, j.seedBlock, horizon));
        vm.prank(keeper);
        manager.slash(jobId);

        vm.roll(horizon + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, j.seedBlock, horizon + 1));
        manager.fixSeed(jobId);
        uint256 bounty = j.stake * 500 / 10_000;
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(jobId, provider, keeper, j.stake, bounty);
        vm.expectEmit(address(manager));
        emit SLAManager.Credited(buyer, PRICE);
        vm.expectEmit(address(providers));
        emit ProviderRegistry.StakeSlashed(provider, jobId, j.stake, buyer, keeper, bounty);
        vm.prank(keeper);
        manager.slash(jobId);
        assertEq(block.timestamp, START_TIME, "no time had to pass");
        assertEq(manager.creditOf(buyer), PRICE + j.stake - bounty);
        assertEq(manager.creditOf(keeper), bounty);
    }

    function testFuzz_cheater_seedExpiry(uint16 blocksAfter) public {
        (uint256 jobId,) = postCommitted(oneLayerSpec());
        uint64 sb = manager.getJob(jobId).seedBlock;
        uint256 at = uint256(sb) + bound(blocksAfter, 0, 2 * manager.SEED_HORIZON());
        vm.roll(at);
        vm.prank(keeper);
        if (at <= uint256(sb) + manager.SEED_HORIZON()) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, at));
            manager.slash(jobId);
        } else {
            manager.slash(jobId);
            assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Slashed));
        }
    }

    // ============================================================ self-slash and the bound

    /// @dev The cheater locks, stays silent, and slashes itself from a second address it controls
    ///      just after commitBy, collecting the bounty. What it loses, net of that bounty, is still
    ///      the stake the detection bound requires (the old contract reserved exactly the net
    ///      stake, so the bounty came back out of it).
    function test_cheater_selfSlashFromSecondAddressLosesNetStake() public {
        _selfSlashLosesNet(PRICE, 500, 1000, 2);
        _selfSlashLosesNet(PRICE, 2000, 1000, 3);
    }

    function testFuzz_cheater_selfSlashLosesNetStake(uint96 price, uint16 bountyBps, uint16 floorBps, bool twoLayers)
        public
    {
        price = uint96(bound(price, 1, 5_000e18));
        bountyBps = uint16(bound(bountyBps, 0, manager.MAX_BOUNTY_BPS()));
        floorBps = uint16(bound(floorBps, 1000, 9999));
        _selfSlashLosesNet(price, bountyBps, floorBps, twoLayers ? 2 : 3);
    }

    function _selfSlashLosesNet(uint256 price, uint16 bountyBps, uint16 floorBps, uint16 k) private {
        vm.startPrank(gov);
        manager.setBountyBps(bountyBps);
        manager.setDetectionFloorBps(floorBps);
        vm.stopPrank();
        uint256 jobId = _postWithK(price, k);
        // What the cheater controls: its stake, its own credits and those of its second address.
        uint256 heldBefore = _cheaterHoldings();
        uint256 bountyBefore = manager.creditOf(cheaterAlt);
        uint256 buyerBefore = manager.creditOf(buyer);
        vm.prank(provider);
        manager.lock(jobId);
        Job memory j = manager.getJob(jobId);
        assertEq(j.stake, manager.requiredStake(price, k), "lock reserves the view's amount");
        vm.warp(j.commitBy + 1);
        vm.prank(cheaterAlt);
        manager.slash(jobId);
        assertGe(heldBefore - _cheaterHoldings(), StakeMath.requiredStake(price, floorBps, k), "kept part of the bound");
        uint256 bounty = manager.creditOf(cheaterAlt) - bountyBefore;
        assertEq(bounty, j.stake * bountyBps / 10_000);
        assertEq(manager.creditOf(buyer) - buyerBefore, price + j.stake - bounty);
        vm.warp(START_TIME);
    }

    /// @dev k = 2: the tiny shape alone; k = 3: the next shape alone.
    function _postWithK(uint256 price, uint16 k) private returns (uint256) {
        JobSpec memory spec = oneLayerSpec();
        if (k == 3) {
            spec.layers[0].shapeId = shapeNext;
            spec.layers[0].weightsRoot = 333;
        }
        vm.prank(buyer);
        return manager.postJob(spec, price, uint64(block.timestamp + 1 hours), EXEC, PROVE, bytes32(0), "");
    }

    function _cheaterHoldings() private view returns (uint256) {
        return _staked(provider) + manager.creditOf(provider) + manager.creditOf(cheaterAlt);
    }

    /// @dev A bounty of 100% made walking away free; it is capped at MAX_BOUNTY_BPS.
    function test_cheater_fullBountyRefused() public {
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 10_000));
        manager.setBountyBps(10_000);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 2_001));
        manager.setBountyBps(2_001);
        vm.expectEmit(address(manager));
        emit SLAManager.BountySet(2_000);
        manager.setBountyBps(2_000);
        vm.stopPrank();
    }

    function testFuzz_cheater_bountyCap(uint16 bps) public {
        bool tooHigh = bps > manager.MAX_BOUNTY_BPS();
        if (tooHigh) vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, bps));
        vm.prank(gov);
        manager.setBountyBps(bps);
        if (!tooHigh) assertEq(manager.bountyBps(), bps);
    }

    /// @dev Rates are the job's from the lock on: a bounty raised after the lock, a lower
    ///      detection floor and a higher abandonment fee do not reach it.
    function test_cheater_governanceAfterLockDoesNotApply() public {
        uint256 jobId = postLocked(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        assertEq(j.bountyBps, 500);
        assertEq(j.abandonBps, 1_000);
        vm.startPrank(gov);
        manager.setBountyBps(2_000);
        manager.setDetectionFloorBps(100);
        manager.setAbandonBps(5_000);
        vm.stopPrank();
        assertGt(manager.requiredStake(PRICE, 2), j.stake, "the new floor would require more");
        assertEq(providers.reservedStake(provider), j.stake);
        vm.warp(j.commitBy + 1);
        uint256 bounty = j.stake * 500 / 10_000;
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(jobId, provider, cheaterAlt, j.stake, bounty);
        vm.prank(cheaterAlt);
        manager.slash(jobId);
        assertEq(manager.creditOf(cheaterAlt), bounty);
    }

    function testFuzz_cheater_bountyFixedAtLock(uint16 atLock, uint16 later) public {
        atLock = uint16(bound(atLock, 0, manager.MAX_BOUNTY_BPS()));
        later = uint16(bound(later, 0, manager.MAX_BOUNTY_BPS()));
        vm.prank(gov);
        manager.setBountyBps(atLock);
        uint256 jobId = postLocked(oneLayerSpec());
        vm.prank(gov);
        manager.setBountyBps(later);
        Job memory j = manager.getJob(jobId);
        assertEq(j.stake, StakeMath.grossStake(StakeMath.requiredStake(PRICE, 1000, 2), atLock));
        vm.warp(j.commitBy + 1);
        vm.prank(keeper);
        manager.slash(jobId);
        assertEq(manager.creditOf(keeper), j.stake * atLock / 10_000);
    }

    // ============================================================ seed commit-reveal

    function _postWithCommitment() private returns (uint256 jobId, uint256[] memory roots, JobSpec memory spec) {
        spec = oneLayerSpec();
        bytes32 commitment = keccak256(abi.encode(SECRET));
        vm.expectEmit(address(manager));
        emit SLAManager.JobPosted(
            manager.jobCount() + 1,
            buyer,
            manager.specHashOf(spec),
            PRICE,
            uint64(block.timestamp + 1 hours),
            EXEC,
            PROVE,
            commitment,
            spec,
            "x"
        );
        vm.prank(buyer);
        jobId = manager.postJob(spec, PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, commitment, "x");
        assertEq(manager.getJob(jobId).seedCommitment, commitment);
        vm.prank(provider);
        manager.lock(jobId);
        roots = rootsFor(1);
        vm.prank(provider);
        manager.commit(jobId, roots, ATTESTATION);
    }

    /// @dev With a seed commitment, the seed block's producer no longer controls the seed alone:
    ///      during REVEAL_BLOCKS only the buyer's secret can fix it (fixSeed and a submission
    ///      that would fix it both wait), and the seed mixes the secret in.
    function test_cheater_onlySecretFixesSeedDuringRevealBlocks() public {
        (uint256 jobId, uint256[] memory roots, JobSpec memory spec) = _postWithCommitment();
        uint64 sb = manager.getJob(jobId).seedBlock;
        uint64 until = sb + manager.REVEAL_BLOCKS();
        vm.roll(sb);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, sb));
        manager.revealSeed(jobId, SECRET);
        for (uint256 b = sb + 1; b <= until; b += 31) {
            vm.roll(b);
            vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealPending.selector, jobId, until, b));
            vm.prank(provider);
            manager.fixSeed(jobId);
            vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealPending.selector, jobId, until, b));
            vm.prank(provider);
            manager.submitProof(jobId, spec, roots, ATTESTATION, proofsFor(1), "");
        }
        vm.roll(until);
        uint256 seed = expectedSeed(jobId, SECRET);
        assertTrue(seed != expectedSeed(jobId, bytes32(0)), "secret changes the seed");
        vm.expectEmit(address(manager));
        emit SLAManager.SeedFixed(jobId, seed, uint64(block.timestamp) + PROVE, true);
        vm.prank(buyer);
        manager.revealSeed(jobId, SECRET);
        assertEq(manager.getJob(jobId).seed, seed);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedAlreadyFixed.selector, jobId));
        manager.revealSeed(jobId, SECRET);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
    }

    function test_cheater_badSecretRefused() public {
        (uint256 jobId,,) = _postWithCommitment();
        bytes32 commitment = keccak256(abi.encode(SECRET));
        vm.roll(manager.getJob(jobId).seedBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReveal.selector, jobId, commitment));
        manager.revealSeed(jobId, bytes32(uint256(SECRET) ^ 1));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReveal.selector, jobId, commitment));
        manager.revealSeed(jobId, bytes32(0));
        // A job posted without a commitment has nothing to reveal.
        (uint256 plain,) = postCommitted(oneLayerSpec());
        vm.roll(manager.getJob(plain).seedBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReveal.selector, plain, bytes32(0)));
        manager.revealSeed(plain, SECRET);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, 99, JobState.None));
        manager.revealSeed(99, SECRET);
    }

    function testFuzz_cheater_badSecretRefused(bytes32 guess) public {
        vm.assume(guess != SECRET);
        (uint256 jobId,,) = _postWithCommitment();
        vm.roll(manager.getJob(jobId).seedBlock + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReveal.selector, jobId, keccak256(abi.encode(SECRET))));
        manager.revealSeed(jobId, guess);
    }

    /// @dev A buyer that never reveals cannot stall the job: after REVEAL_BLOCKS anyone fixes the
    ///      seed without the secret, and the proof clock starts then.
    function test_honest_seedFallbackAfterRevealWindow() public {
        (uint256 jobId, uint256[] memory roots, JobSpec memory spec) = _postWithCommitment();
        uint64 until = manager.getJob(jobId).seedBlock + manager.REVEAL_BLOCKS();
        vm.roll(until + 1);
        uint256 seed = expectedSeed(jobId, bytes32(0));
        vm.expectEmit(address(manager));
        emit SLAManager.SeedFixed(jobId, seed, uint64(block.timestamp) + PROVE, false);
        vm.prank(keeper);
        manager.fixSeed(jobId);
        assertEq(manager.getJob(jobId).seed, seed);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
    }

    function test_honest_submitFallsBackAfterRevealWindow() public {
        (uint256 jobId, uint256[] memory roots, JobSpec memory spec) = _postWithCommitment();
        vm.roll(manager.getJob(jobId).seedBlock + manager.REVEAL_BLOCKS() + 1);
        assertTrue(_submitFixingSeed(jobId, spec, roots));
        assertEq(manager.getJob(jobId).seed, expectedSeed(jobId, bytes32(0)));
    }

    /// @dev The same job and block hash give different seeds with and without the secret, and
    ///      different secrets give different seeds.
    function testFuzz_cheater_seedDependsOnSecret(bytes32 secret, bytes32 blockHash) public {
        vm.assume(secret != bytes32(0));
        bytes32 commitment = keccak256(abi.encode(secret));
        vm.prank(buyer);
        uint256 jobId =
            manager.postJob(oneLayerSpec(), PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, commitment, "");
        vm.prank(provider);
        manager.lock(jobId);
        vm.prank(provider);
        manager.commit(jobId, rootsFor(1), ATTESTATION);
        uint64 sb = manager.getJob(jobId).seedBlock;
        uint256 snap = vm.snapshotState();
        vm.roll(sb + 1);
        vm.setBlockhash(sb, blockHash);
        manager.revealSeed(jobId, secret);
        uint256 revealed = manager.getJob(jobId).seed;
        assertEq(revealed, expectedSeed(jobId, secret));
        vm.revertToState(snap);
        vm.roll(sb + manager.REVEAL_BLOCKS() + 1);
        vm.setBlockhash(sb, blockHash);
        manager.fixSeed(jobId);
        uint256 fallback_ = manager.getJob(jobId).seed;
        assertEq(fallback_, expectedSeed(jobId, bytes32(0)));
        assertTrue(revealed != fallback_);
    }

    // ============================================================ abandon

    /// @dev A provider whose executor fails gives the job back before commitBy: it pays the
    ///      buyer abandonBps of the stake instead of losing all of it at commitBy, and while
    ///      lockBy allows another provider can take the job.
    function test_honest_abandonBeforeLockByReopens() public {
        uint256 jobId = postLocked(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        uint256 fee = j.stake * 1_000 / 10_000;
        vm.expectEmit(address(manager));
        emit SLAManager.JobAbandoned(jobId, provider, fee, true);
        vm.expectEmit(address(providers));
        emit ProviderRegistry.StakeForfeited(provider, jobId, fee, buyer);
        vm.expectEmit(address(providers));
        emit ProviderRegistry.StakeReleased(provider, jobId, j.stake - fee);
        vm.prank(provider);
        manager.abandon(jobId);
        Job memory after_ = manager.getJob(jobId);
        assertEq(uint8(after_.state), uint8(JobState.Open));
        assertEq(after_.provider, address(0));
        assertEq(after_.stake, 0);
        assertEq(manager.creditOf(buyer), fee);
        assertEq(providers.reservedStake(provider), 0);
        assertEq(providers.freeStake(provider), 100_000e18 - fee);
        assertEq(manager.totalEscrow(), PRICE);

        address other = _registerProvider("other");
        vm.prank(other);
        manager.lock(jobId);
        assertEq(manager.getJob(jobId).provider, other);
    }

    function test_honest_abandonAfterLockByRefunds() public {
        vm.prank(buyer);
        uint256 jobId =
            manager.postJob(oneLayerSpec(), PRICE, uint64(block.timestamp + 10 minutes), EXEC, PROVE, bytes32(0), "");
        vm.prank(provider);
        manager.lock(jobId);
        Job memory j = manager.getJob(jobId);
        // Lock at t, lockBy = t + 10 min, commitBy = t + 1 h: pick a moment between the two.
        vm.prank(gov);
        manager.setAbandonBps(2_500);
        vm.warp(j.lockBy + 1);
        assertLe(block.timestamp, j.commitBy);
        uint256 fee = j.stake * 1_000 / 10_000; // the rate at lock, not the new one
        vm.expectEmit(address(manager));
        emit SLAManager.Credited(buyer, PRICE);
        vm.expectEmit(address(manager));
        emit SLAManager.JobAbandoned(jobId, provider, fee, false);
        vm.prank(provider);
        manager.abandon(jobId);
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Cancelled));
        assertEq(manager.creditOf(buyer), PRICE + fee);
        assertEq(manager.totalEscrow(), 0);
        assertEq(providers.freeStake(provider), 100_000e18 - fee);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Cancelled));
        vm.prank(provider);
        manager.lock(jobId);
    }

    function test_honest_abandonReverts() public {
        uint256 jobId = post(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Open));
        vm.prank(provider);
        manager.abandon(jobId);
        vm.prank(provider);
        manager.lock(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, buyer, provider));
        vm.prank(buyer);
        manager.abandon(jobId);
        uint64 commitBy = manager.getJob(jobId).commitBy;
        vm.warp(commitBy + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, jobId, commitBy));
        vm.prank(provider);
        manager.abandon(jobId);

        (uint256 committed,) = postCommitted(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, committed, JobState.Committed));
        vm.prank(provider);
        manager.abandon(committed);
    }

    function testFuzz_honest_abandon(uint16 abandonBps, uint32 dt, uint32 execWindow) public {
        abandonBps = uint16(bound(abandonBps, manager.MIN_ABANDON_BPS(), manager.MAX_ABANDON_BPS()));
        execWindow = uint32(bound(execWindow, 60, 4 hours));
        vm.prank(gov);
        manager.setAbandonBps(abandonBps);
        uint64 lockBy = uint64(block.timestamp + 1 hours);
        vm.prank(buyer);
        uint256 jobId = manager.postJob(oneLayerSpec(), PRICE, lockBy, execWindow, PROVE, bytes32(0), "");
        vm.prank(provider);
        manager.lock(jobId);
        uint256 stake = manager.getJob(jobId).stake;
        uint64 commitBy = manager.getJob(jobId).commitBy;
        vm.warp(block.timestamp + bound(dt, 0, execWindow + 60));
        vm.prank(provider);
        if (block.timestamp > commitBy) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, jobId, commitBy));
            manager.abandon(jobId);
            return;
        }
        manager.abandon(jobId);
        uint256 fee = stake * abandonBps / 10_000;
        bool reopened = block.timestamp <= lockBy;
        assertEq(uint8(manager.getJob(jobId).state), uint8(reopened ? JobState.Open : JobState.Cancelled));
        assertEq(manager.creditOf(buyer), fee + (reopened ? 0 : PRICE));
        assertEq(providers.freeStake(provider), 100_000e18 - fee);
        assertEq(providers.totalStaked() + providers.totalCredits(), 100_000e18);
    }

    // ============================================================ withdrawTo, withdrawUnbondedTo

    function test_honest_withdrawToAnotherAddress() public {
        // The buyer holds both kinds of credit: a refund here and slashed stake in the registry.
        uint256 jobId = postLocked(oneLayerSpec());
        uint256 stake = manager.getJob(jobId).stake;
        vm.warp(manager.getJob(jobId).commitBy + 1);
        vm.prank(keeper);
        manager.slash(jobId);
        uint256 bounty = stake * 500 / 10_000;
        uint256 owed = PRICE + stake - bounty;
        assertEq(manager.creditOf(buyer), owed);
        vm.expectEmit(address(manager));
        emit SLAManager.Withdrawn(buyer, sink, owed);
        vm.expectEmit(address(providers));
        emit ProviderRegistry.CreditPaid(buyer, sink, stake - bounty);
        vm.prank(buyer);
        manager.withdrawTo(sink);
        assertEq(token.balanceOf(sink), owed);
        assertEq(manager.creditOf(buyer), 0);
        assertEq(manager.totalCredits(), 0);
        assertEq(providers.totalCredits(), bounty);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NothingToWithdraw.selector, buyer));
        vm.prank(buyer);
        manager.withdrawTo(sink);
        // The keeper's bounty lives only in the registry; withdraw pays it just the same.
        vm.prank(keeper);
        manager.withdraw();
        assertEq(token.balanceOf(keeper), bounty);
        assertEq(token.balanceOf(address(providers)), providers.totalStaked());
    }

    function test_honest_withdrawUnbondedToAnotherAddress() public {
        vm.prank(provider);
        providers.requestUnbond(10e18);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectEmit(address(providers));
        emit ProviderRegistry.UnbondedWithdrawn(provider, 10e18);
        vm.prank(provider);
        providers.withdrawUnbondedTo(sink);
        assertEq(token.balanceOf(sink), 10e18);
        assertEq(providers.providerOf(provider).unbonding, 0);
        assertEq(providers.totalStaked(), 100_000e18 - 10e18);
    }

    function test_honest_zeroRecipientRefused() public {
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ZeroRecipient.selector));
        vm.prank(buyer);
        manager.withdrawTo(address(0));
        vm.prank(provider);
        providers.requestUnbond(10e18);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ZeroAddress.selector));
        vm.prank(provider);
        providers.withdrawUnbondedTo(address(0));
    }

    // ============================================================ a token that turns on a fee

    /// @dev Jobs are locked while the token behaves; then it starts burning 1% of every transfer.
    ///      The old contract moved slashed stake from the registry to the manager and checked the
    ///      amount received, so every slash reverted and stakes froze. Now slash, settlement and
    ///      abandonment move no tokens at all, withdrawals still pay (less, as the token decides)
    ///      and both contracts stay exactly solvent.
    function test_honest_feeTurnedOnLaterFreezesNothing() public {
        SwitchableFeeToken t = new SwitchableFeeToken();
        (SLAManager m, ProviderRegistry reg) = _deployWith(IERC20(address(t)));
        t.mint(buyer, 10_000e18);
        t.mint(provider, 100_000e18);
        vm.prank(buyer);
        t.approve(address(m), type(uint256).max);
        vm.startPrank(provider);
        t.approve(address(reg), type(uint256).max);
        reg.register(nodeKey, 100_000e18);
        vm.stopPrank();

        uint256[3] memory ids;
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(buyer);
            ids[i] = m.postJob(oneLayerSpec(), PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, bytes32(0), "");
            vm.prank(provider);
            m.lock(ids[i]);
        }
        uint256 stake = m.getJob(ids[0]).stake;
        t.setFeeBps(100);

        // Settle job 0.
        uint256[] memory roots = rootsFor(1);
        vm.prank(provider);
        m.commit(ids[0], roots, ATTESTATION);
        vm.roll(m.getJob(ids[0]).seedBlock + 1);
        m.fixSeed(ids[0]);
        Receipt memory r = Receipt({
            jobId: ids[0],
            provider: provider,
            specHash: m.specHashOf(oneLayerSpec()),
            outputRoots: roots,
            attestationDigest: ATTESTATION,
            seed: m.getJob(ids[0]).seed,
            k: 2,
            proofsHash: proofsHash(proofsFor(1))
        });
        bytes memory sig = signDigest(nodeKeyPk, m.receiptDigest(r));
        vm.prank(provider);
        assertTrue(m.submitProof(ids[0], oneLayerSpec(), roots, ATTESTATION, proofsFor(1), sig));
        // Abandon job 1, slash job 2 after its commit deadline.
        vm.prank(provider);
        m.abandon(ids[1]);
        vm.warp(m.getJob(ids[2]).commitBy + 1);
        vm.prank(keeper);
        m.slash(ids[2]);
        _assertSolvent(t, m, reg);

        // Withdrawals pay what the token delivers; accounting follows the sender's side.
        uint256 fromRegistry = reg.creditOf(buyer);
        uint256 fromManager = m.creditOf(buyer) - fromRegistry;
        assertEq(fromManager, PRICE, "the slashed job's escrow");
        assertEq(fromRegistry, stake / 10 + stake - stake * 500 / 10_000, "abandon fee + slashed stake - bounty");
        vm.expectEmit(address(m));
        emit SLAManager.Withdrawn(buyer, sink, fromManager + fromRegistry);
        vm.prank(buyer);
        m.withdrawTo(sink);
        // Two transfers, each burning 1% on the way: the sink gets what the token delivers.
        assertEq(t.balanceOf(sink), fromManager - fromManager / 100 + fromRegistry - fromRegistry / 100, "delivered");
        vm.prank(provider);
        m.withdraw();
        vm.prank(keeper);
        m.withdraw();
        _assertSolvent(t, m, reg);
        assertEq(t.balanceOf(address(m)), m.totalEscrow());
        assertEq(reg.totalCredits(), 0);
        assertEq(reg.totalStaked(), 100_000e18 - stake - stake / 10);
        // New escrow and stake are refused while the fee is on: the contracts cannot receive less
        // than they would account for.
        vm.expectRevert(abi.encodeWithSelector(SLAManager.TransferAmountMismatch.selector, PRICE, PRICE - PRICE / 100));
        vm.prank(buyer);
        m.postJob(oneLayerSpec(), PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, bytes32(0), "");
    }

    // ============================================================ helpers

    function _staked(address p) private view returns (uint256) {
        return providers.freeStake(p) + providers.reservedStake(p) + providers.providerOf(p).unbonding;
    }

    function _registerProvider(string memory name) private returns (address p) {
        p = makeAddr(name);
        vm.prank(gov);
        token.mint(p, 100_000e18);
        vm.startPrank(p);
        token.approve(address(providers), type(uint256).max);
        providers.register(p, 100_000e18);
        vm.stopPrank();
    }

    /// @dev Submits with the seed the submission itself fixes (the fallback seed of this block).
    function _submitFixingSeed(uint256 jobId, JobSpec memory spec, uint256[] memory roots) private returns (bool) {
        uint256[8][] memory proofs = proofsFor(spec.layers.length);
        Receipt memory r = receiptFor(jobId, spec, roots, proofs);
        r.seed = expectedSeed(jobId, bytes32(0));
        bytes memory sig = signDigest(nodeKeyPk, digestOf(r, domainSeparator()));
        vm.prank(provider);
        return manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);
    }

    function _deployWith(IERC20 t) private returns (SLAManager m, ProviderRegistry reg) {
        reg = new ProviderRegistry(t, UNBONDING, gov);
        ShapeRegistry sh = new ShapeRegistry(gov);
        m = new SLAManager(t, reg, sh, gov);
        vm.startPrank(gov);
        reg.setManager(address(m));
        sh.registerShape(shapeTiny, address(verifier), 16, 4, 3, 2);
        vm.stopPrank();
    }

    function _assertSolvent(SwitchableFeeToken t, SLAManager m, ProviderRegistry reg) private view {
        assertEq(t.balanceOf(address(m)), m.totalEscrow() + m.totalCredits(), "manager balance");
        assertEq(t.balanceOf(address(reg)), reg.totalStaked() + reg.totalCredits(), "registry balance");
    }

    // ============================================================ review findings

    /// @dev Once the reveal window has passed, only the fallback fixes the seed. Before this rule
    ///      a cheater whose buyer revealed late chose between the fallback seed (known from
    ///      seedBlock + 1) and the late reveal: two draws, breaking the §11 bound.
    function test_cheater_lateRevealRefused() public {
        bytes32 secret = keccak256("late");
        vm.prank(buyer);
        uint256 jobId = manager.postJob(
            oneLayerSpec(), PRICE, uint64(block.timestamp + 1 hours), EXEC, PROVE, keccak256(abi.encode(secret)), ""
        );
        vm.prank(provider);
        manager.lock(jobId);
        vm.prank(provider);
        manager.commit(jobId, rootsFor(1), ATTESTATION);
        uint64 until = manager.getJob(jobId).seedBlock + manager.REVEAL_BLOCKS();
        vm.roll(until + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.RevealClosed.selector, jobId, until, until + 1));
        vm.prank(buyer);
        manager.revealSeed(jobId, secret);
        manager.fixSeed(jobId);
        assertEq(manager.getJob(jobId).seed, expectedSeed(jobId, bytes32(0)));
    }

    /// @dev A secret revealed for one job is public: the same buyer may not commit to it again
    ///      (another job's provider would know both its seed candidates). Another buyer's post of
    ///      the same commitment does not block this buyer (no front-running grief).
    function test_cheater_reusedCommitmentRefused() public {
        bytes32 c = keccak256(abi.encode(keccak256("reused")));
        uint64 lockBy = uint64(block.timestamp + 1 hours);
        address other = makeAddr("other");
        vm.prank(gov);
        token.mint(other, PRICE);
        vm.startPrank(other);
        token.approve(address(manager), PRICE);
        manager.postJob(oneLayerSpec(), PRICE, lockBy, EXEC, PROVE, c, "");
        vm.stopPrank();
        vm.startPrank(buyer);
        manager.postJob(oneLayerSpec(), PRICE, lockBy, EXEC, PROVE, c, "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedCommitmentReused.selector, c));
        manager.postJob(oneLayerSpec(), PRICE, lockBy, EXEC, PROVE, c, "");
        vm.stopPrank();
    }

    /// @dev The abandonment fee has a floor: holding a job and giving it back is never free.
    function test_honest_abandonFeeFloor() public {
        uint16 floor = manager.MIN_ABANDON_BPS();
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, floor - 1));
        manager.setAbandonBps(floor - 1);
        manager.setAbandonBps(floor);
        vm.stopPrank();
        assertEq(manager.abandonBps(), floor);
    }


    /// @dev A stake near 2^256 / 10000 once made `stake * bps` overflow in slash and abandon, so a
    ///      locked job could never end; both now compute the share with mulDiv.
    function test_cheater_hugeStakeStillSlashable() public {
        // The registry holds at most 2^128 - 1 of a provider's free and reserved stake, so the
        // largest stake a job can reserve is just below that: it must still abandon and slash
        // exactly (the shares are 512-bit mulDivs either way).
        uint256 p = 7e37;
        vm.startPrank(gov);
        token.mint(buyer, p);
        Provider memory before = providers.providerOf(provider);
        uint256 room = type(uint128).max - uint256(before.free) - before.reserved;
        token.mint(provider, room);
        vm.stopPrank();
        vm.prank(provider);
        providers.addStake(room);
        vm.prank(buyer);
        uint256 jobId = manager.postJob(oneLayerSpec(), p, uint64(block.timestamp + 1 hours), EXEC, PROVE, bytes32(0), "");
        vm.prank(provider);
        manager.lock(jobId);
        Job memory j = manager.getJob(jobId);
        assertGt(j.stake, uint256(1) << 127, "a stake near the registry's bound");
        uint256 snap = vm.snapshotState();
        vm.prank(provider);
        manager.abandon(jobId);
        assertEq(manager.creditOf(buyer), (j.stake / 10_000) * j.abandonBps + ((j.stake % 10_000) * j.abandonBps) / 10_000);
        vm.revertToState(snap);
        vm.warp(j.commitBy + 1);
        vm.prank(keeper);
        manager.slash(jobId);
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Slashed));
        assertEq(manager.creditOf(buyer) + manager.creditOf(keeper), p + j.stake);
    }

}
