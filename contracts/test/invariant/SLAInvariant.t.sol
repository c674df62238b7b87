// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ShapeRegistry} from "../../src/ShapeRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {Job, JobState} from "../../src/types/Job.sol";
import {ShapeLibrary} from "../../src/types/Shape.sol";
import {SwitchableFeeToken} from "../mocks/MaliciousTokens.sol";
import {SLAHandler, ParityVerifier, reachedNamesOf} from "./SLAHandler.sol";

/// @notice A deployed protocol with the handler as the only fuzz target, and the invariants of
///         issue 11 as internal checks so every invariant contract can run the ones it needs.
abstract contract SLAInvariantBase is Test {
    uint256 internal constant MINTED = 100_000_000e18;
    uint256 internal constant STAKE = 1_000_000e18;

    IERC20 internal token;
    SwitchableFeeToken internal feeToken;
    ProviderRegistry internal providers;
    ShapeRegistry internal shapes;
    SLAManager internal manager;
    SLAHandler internal handler;
    uint256 internal supply;

    /// @dev The token the campaign runs on: the dev token, or a fee token switched on mid-campaign.
    function _hostileToken() internal pure virtual returns (bool) {
        return false;
    }

    function setUp() public {
        vm.warp(1_800_000_000);
        vm.roll(1_000);
        address gov = makeAddr("gov");
        if (_hostileToken()) {
            feeToken = new SwitchableFeeToken();
            token = IERC20(address(feeToken));
        } else {
            token = IERC20(address(new DevToken(gov, 0)));
        }
        providers = new ProviderRegistry(token, 10 minutes, gov);
        shapes = new ShapeRegistry(gov);
        manager = new SLAManager(token, providers, shapes, gov);
        bytes32 shapeA = ShapeLibrary.id(16, 4, 3, 2);
        bytes32 shapeB = ShapeLibrary.id(4, 4, 3, 3);
        handler = new SLAHandler(token, providers, manager, shapeA, shapeB, gov, feeToken);
        ParityVerifier verifier = new ParityVerifier();
        vm.startPrank(gov);
        providers.setManager(address(manager));
        shapes.registerShape(shapeA, address(verifier), 16, 4, 3, 2);
        shapes.registerShape(shapeB, address(verifier), 4, 4, 3, 3);
        vm.stopPrank();
        address[8] memory holders = handler.holders();
        for (uint256 i = 0; i < 5; ++i) {
            _mint(gov, holders[i], MINTED);
        }
        supply = token.totalSupply();
        handler.init(STAKE);

        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: _actions()}));
    }

    function _mint(address gov, address to, uint256 amount) private {
        if (_hostileToken()) {
            feeToken.mint(to, amount);
        } else {
            vm.prank(gov);
            DevToken(address(token)).mint(to, amount);
        }
    }

    function _actions() internal view returns (bytes4[] memory a) {
        a = new bytes4[](_hostileToken() ? 15 : 14);
        a[0] = SLAHandler.postJob.selector;
        a[1] = SLAHandler.cancel.selector;
        a[2] = SLAHandler.reveal.selector;
        a[3] = SLAHandler.lock.selector;
        a[4] = SLAHandler.commit.selector;
        a[5] = SLAHandler.submit.selector;
        a[6] = SLAHandler.submitGasCapped.selector;
        a[7] = SLAHandler.abandon.selector;
        a[8] = SLAHandler.fixSeed.selector;
        a[9] = SLAHandler.slash.selector;
        a[10] = SLAHandler.withdraw.selector;
        a[11] = SLAHandler.admin.selector; // rotateKey, govern, addStake, unbond, withdrawUnbonded
        a[12] = SLAHandler.honestAct.selector;
        a[13] = SLAHandler.passTime.selector;
        if (_hostileToken()) a[14] = SLAHandler.switchFee.selector;
    }

    // ================================================================ the invariants

    /// @dev Every token either contract holds is owed to someone, and each one's books match its
    ///      own balance: slashed stake never leaves the registry, so a token fee cannot split them.
    function _checkSolvent() internal view {
        assertEq(
            token.balanceOf(address(manager)),
            manager.totalEscrow() + manager.totalCredits(),
            "manager balance != escrow + credits"
        );
        assertEq(
            token.balanceOf(address(providers)),
            providers.totalStaked() + providers.totalCredits(),
            "registry balance != stake + credits"
        );
        assertEq(manager.totalEscrow(), handler.ghostEscrow(), "escrow != prices of live jobs");
        address[8] memory h = handler.holders();
        uint256 credits;
        for (uint256 i = 0; i < h.length; ++i) {
            credits += manager.creditOf(h[i]);
        }
        assertEq(credits, manager.totalCredits() + providers.totalCredits(), "credits not all owned");
    }

    /// @dev No token is created or lost: supply (plus what a fee burned) is what was minted, and
    ///      all of it sits with the actors and the two contracts.
    function _checkSupply() internal view {
        uint256 burned = _hostileToken() ? feeToken.burned() : 0;
        assertEq(token.totalSupply() + burned, supply, "supply + burned != minted");
        address[8] memory h = handler.holders();
        uint256 held = token.balanceOf(address(manager)) + token.balanceOf(address(providers));
        for (uint256 i = 0; i < h.length; ++i) {
            held += token.balanceOf(h[i]);
        }
        assertEq(held, token.totalSupply(), "tokens outside the known holders");
    }

    /// @dev Per provider: free + reserved + unbonding == deposited - withdrawn - lost, and the
    ///      reserved stake is exactly the stakes of its live jobs.
    function _checkProviders() internal view {
        uint256 total;
        for (uint256 i = 0; i < 2; ++i) {
            address p = handler.provs(i);
            uint256 free = providers.freeStake(p);
            uint256 reserved = providers.reservedStake(p);
            uint256 unbonding = providers.providerOf(p).unbonding;
            assertEq(
                free + reserved + unbonding,
                handler.deposited(p) - handler.withdrawnUnbonded(p) - handler.lost(p),
                "provider stake != ghost accounting"
            );
            assertEq(reserved, handler.liveStakeOf(p), "reserved != stakes of live jobs");
            total += free + reserved + unbonding;
        }
        assertEq(total, providers.totalStaked(), "totalStaked != sum over providers");
    }

    /// @dev Settled, Slashed and Cancelled never change, and a fixed seed never changes.
    function _checkJobsAbsorbing() internal view {
        uint256 n = handler.jobCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = handler.allJobs(i);
            Job memory j = manager.getJob(jobId);
            (,,,,,, JobState finalState, bool seedSeen, uint256 seed) = handler.ghost(jobId);
            if (finalState != JobState.None) assertEq(uint8(j.state), uint8(finalState), "a final state changed");
            if (seedSeen) {
                assertTrue(j.seedFixed, "a fixed seed was unfixed");
                assertEq(j.seed, seed, "a fixed seed changed");
            }
        }
    }

    /// @dev Everything the handler checked on the spot: the honest provider was never slashed and
    ///      met every deadline, the cheater lost at least the net bound on every slash, the buyer
    ///      of every slashed job got price + stake - bounty, slashes came exactly when allowed,
    ///      capped submissions reverted instead of slashing, seeds followed spec §6.2.
    function _checkNoViolation() internal view {
        string[] memory v = handler.violations();
        if (v.length > 0) fail(string.concat(vm.toString(v.length), " violation(s), first: ", v[0]));
    }

    function _checkAll() internal view {
        _checkSolvent();
        _checkSupply();
        _checkProviders();
        _checkJobsAbsorbing();
        _checkNoViolation();
    }
}

/// @notice Runs the campaign, checks every invariant after every call, and accumulates what the
///         campaign reached over its runs, asserting the totals: an invariant suite whose actions
///         mostly no-op would prove nothing. One invariant function per contract on purpose:
///         forge runs a separate campaign per invariant function, all from the same fuzz seed,
///         so several functions would replay the identical call sequences; one campaign that
///         checks everything costs a fifth. forge calls afterInvariant after every run (checked:
///         forge 1.7.1), on that run's fresh state, so totals live in the process environment,
///         keyed per contract.
abstract contract SLAReachBase is SLAInvariantBase {
    /// @dev Calls after which the totals are asserted (the default profile's runs x depth).
    uint256 internal constant REACH_CALLS = 10_000;

    function _reachName() internal pure virtual returns (string memory);

    function _reachSuffix() internal pure virtual returns (string memory);

    /// @dev `total` over the runs so far; `end`: the default campaign's last run.
    function _assertReach(uint256[34] memory total, bool end) internal pure virtual;

    /// @dev Solvency, supply, per-provider stake, absorbing final states and seeds, and the
    ///      on-the-spot checks (honest never slashed, cheater loses the net bound, exact slash
    ///      payouts and timing, capped submissions revert); see the _check functions.
    function invariant_issue11() public view {
        _checkAll();
    }

    function afterInvariant() public {
        uint256[34] memory run = handler.reachedAll();
        string memory prefix = string.concat("PROBITY_REACH_", _reachName(), "_");
        // forge replays the last run once more to collect traces; the same counts twice in a row
        // are that replay, not a new run.
        string memory digest = vm.toString(keccak256(abi.encode(run)));
        if (keccak256(bytes(vm.envOr(string.concat(prefix, "last"), string("")))) == keccak256(bytes(digest))) return;
        vm.setEnv(string.concat(prefix, "last"), digest);
        string[34] memory names = handler.reachedNames();
        uint256[34] memory total;
        uint256 runs = vm.envOr(string.concat(prefix, "runs"), uint256(0)) + 1;
        vm.setEnv(string.concat(prefix, "runs"), vm.toString(runs));
        string memory json = string.concat('{\n  "runs": ', vm.toString(runs));
        for (uint256 i = 0; i < names.length; ++i) {
            string memory key = string.concat(prefix, names[i]);
            total[i] = vm.envOr(key, uint256(0)) + run[i];
            vm.setEnv(key, vm.toString(total[i]));
            json = string.concat(json, ',\n  "', names[i], '": ', vm.toString(total[i]));
        }
        json = string.concat(json, "\n}\n");
        // Only the default profile's campaign is the committed snapshot; heavy runs (deeper, and
        // forge does not pass FOUNDRY_PROFILE on to cheatcodes) and shrinking replays (shorter)
        // assert only. A full default run is exactly `[invariant] depth` calls.
        string memory toml = vm.readFile(string.concat(vm.projectRoot(), "/foundry.toml"));
        // Written only on request (`make snapshot-reach`): forge's campaign is not bit-for-bit
        // repeatable across runs, and a test run must not leave the tree dirty.
        if (vm.envOr("PROBITY_WRITE_REACH", false) && run[0] == vm.parseTomlUint(toml, ".invariant.depth")) {
            vm.writeFile(
                string.concat(vm.projectRoot(), "/contracts/snapshots/invariant-reach", _reachSuffix(), ".json"), json
            );
        }
        // The issue's floor holds from 10,000 calls on; rarer paths are asserted once the
        // default campaign's runs are complete (in heavy, after as many, deeper, runs).
        if (total[0] >= REACH_CALLS) _assertReach(total, runs == vm.parseTomlUint(toml, ".invariant.runs"));
    }
}

/// @notice The issue-11 invariants over random sequences of every SLA action on the dev token.
///         Its reach is written to contracts/snapshots/invariant-reach.json and asserted: at least
///         100 settlements and 100 slashes per default campaign, every other outcome at least once.
contract SLAInvariantTest is SLAReachBase {
    function _reachName() internal pure override returns (string memory) {
        return "DEV";
    }

    function _reachSuffix() internal pure override returns (string memory) {
        return "";
    }

    function _assertReach(uint256[34] memory t, bool end) internal pure override {
        assertGe(t[uint256(SLAHandler.Reached.Settled)], 100, "settlements");
        uint256 slashes = t[uint256(SLAHandler.Reached.SlashedInvalidProof)]
            + t[uint256(SLAHandler.Reached.SlashedCommitMissed)] + t[uint256(SLAHandler.Reached.SlashedProveMissed)]
            + t[uint256(SLAHandler.Reached.SlashedSeedExpired)];
        assertGe(slashes, 100, "slashes");
        if (!end) return;
        // Every outcome and path, at least once (the fee ones need the hostile token).
        string[34] memory names = reachedNamesOf();
        for (uint256 i = 0; i < uint256(SLAHandler.Reached.FeeSwitched); ++i) {
            assertGt(t[i], 0, string.concat("never reached: ", names[i]));
        }
    }
}

/// @notice The same campaign on a token that starts charging a transfer fee mid-campaign: jobs
///         locked before keep ending (settled, slashed, abandoned), deposits are refused while
///         the fee is on, withdrawals pay what the token delivers, and both contracts stay solvent.
contract SLAHostileTokenInvariantTest is SLAReachBase {
    function _hostileToken() internal pure override returns (bool) {
        return true;
    }

    function _reachName() internal pure override returns (string memory) {
        return "FEE";
    }

    function _reachSuffix() internal pure override returns (string memory) {
        return "-hostile-token";
    }

    function _assertReach(uint256[34] memory t, bool) internal pure override {
        assertGt(t[uint256(SLAHandler.Reached.FeeSwitched)], 0, "fee never switched");
        assertGe(t[uint256(SLAHandler.Reached.EndedWhileFeeOn)], 20, "jobs ended while the fee was on");
        assertGt(t[uint256(SLAHandler.Reached.FeeRefusedDeposit)], 0, "no deposit refused under the fee");
        assertGe(t[uint256(SLAHandler.Reached.Settled)], 50, "settlements");
    }
}

/// @notice The handler's actions really reach each outcome, step by step (an invariant suite
///         whose actions all no-op would prove nothing), and the campaign budget is what issue 11
///         asks of CI.
contract SLAHandlerSmokeTest is SLAInvariantBase {
    /// @dev A window seed for postJob whose windows the honest node accepts.
    uint256 internal W;

    function _findWindowSeed() internal {
        for (uint256 w = 0;; ++w) {
            (uint32 exec, uint32 prove, bool tooShort) = handler.previewWindows(w);
            if (!tooShort && exec >= handler.HONEST_WINDOW() && prove >= handler.HONEST_WINDOW()) {
                W = w;
                return;
            }
        }
    }

    function test_handlerReachesEveryOutcome() public {
        _findWindowSeed();
        // Honest: post, lock, its own turn commits, blocks pass, its turn settles.
        handler.postJob(0, 10e18, 1, W, false); // two layers, no commitment
        handler.lock(0, 0);
        handler.honestAct();
        vm.roll(block.number + 3);
        handler.honestAct();
        assertEq(handler.reached(SLAHandler.Reached.Settled), 1, "honest settled");
        assertEq(handler.reached(SLAHandler.Reached.SettledMultiLayer), 1, "two layers");
        // Cheater: invalid proof at layer 1 of a two-layer job.
        handler.postJob(1, 10e18, 1, W, false);
        handler.lock(0, 1);
        handler.forcePlan(2, SLAHandler.Plan.Invalid);
        handler.commit(0);
        vm.roll(block.number + 3);
        handler.submit(0, 1);
        assertEq(handler.reached(SLAHandler.Reached.SlashedInvalidProof), 1, "invalid proof");
        // Cheater: silent after lock, slashed by its own second address.
        handler.postJob(2, 10e18, 0, W, false);
        handler.lock(0, 1);
        handler.forcePlan(3, SLAHandler.Plan.Silent);
        handler.commit(0);
        handler.slash(0, true, true); // early: refused with DeadlineNotPassed
        assertEq(handler.reached(SLAHandler.Reached.SlashRefused), 1, "early slash refused");
        vm.warp(block.timestamp + 20 minutes);
        handler.slash(0, true, false);
        assertEq(handler.reached(SLAHandler.Reached.SelfSlashed), 1, "self slash");
        assertEq(handler.reached(SLAHandler.Reached.SlashedCommitMissed), 1, "commit missed");
        // Cheater: commits with a buyer commitment, nobody fixes the seed, it expires.
        handler.postJob(0, 10e18, 0, W, true);
        handler.lock(0, 1);
        handler.forcePlan(4, SLAHandler.Plan.CommitLetSeedExpire);
        handler.commit(0);
        vm.roll(block.number + 3);
        handler.forcePlan(4, SLAHandler.Plan.CommitNoProof); // so the refusals below can pick it
        handler.fixSeed(0, true); // during the reveal window: refused
        handler.reveal(0, false); // a wrong secret: refused
        handler.forcePlan(4, SLAHandler.Plan.CommitLetSeedExpire);
        vm.roll(block.number + 300);
        handler.slash(0, false, false);
        assertEq(handler.reached(SLAHandler.Reached.SlashedSeedExpired), 1, "seed expired");
        assertEq(handler.reached(SLAHandler.Reached.RevealPendingRefused), 1, "reveal pending");
        assertEq(handler.reached(SLAHandler.Reached.BadRevealRefused), 1, "bad reveal");
        // Cheater: commits, the keeper fixes the seed, no proof comes.
        handler.postJob(1, 10e18, 0, W, false);
        handler.lock(0, 1);
        handler.forcePlan(5, SLAHandler.Plan.CommitNoProof);
        handler.commit(0);
        vm.roll(block.number + 3);
        handler.fixSeed(0, false);
        assertEq(handler.reached(SLAHandler.Reached.SeedFallbackFixSeed), 1, "fallback seed");
        vm.warp(block.timestamp + 20 minutes);
        handler.slash(0, false, false);
        assertEq(handler.reached(SLAHandler.Reached.SlashedProveMissed), 1, "prove missed");
        // Abandon, reveal, gas-capped submit, governance, key rotation, withdrawals.
        handler.postJob(1, 10e18, 0, W, false);
        handler.lock(0, 1);
        handler.forcePlan(6, SLAHandler.Plan.Abandon);
        handler.abandon(0);
        assertEq(handler.reached(SLAHandler.Reached.AbandonedReopened), 1, "abandon reopens");
        handler.rotateKey(1);
        handler.govern(0, 2_000);
        handler.postJob(2, 10e18, 0, W, true);
        handler.lock(0, 1);
        handler.forcePlan(6, SLAHandler.Plan.Valid);
        handler.lock(0, 1);
        handler.forcePlan(7, SLAHandler.Plan.Valid);
        handler.commit(0);
        handler.commit(0);
        vm.roll(block.number + 3);
        handler.reveal(0, true);
        assertEq(handler.reached(SLAHandler.Reached.Revealed), 1, "revealed");
        handler.submitGasCapped(0, 100_000, false);
        assertEq(handler.reached(SLAHandler.Reached.GasCappedReverted), 1, "capped submit reverted");
        handler.submit(0, 0);
        handler.submit(0, 0);
        assertEq(handler.reached(SLAHandler.Reached.Settled), 3, "cheater settled twice with the rotated key");
        handler.withdraw(0, true);
        handler.withdraw(6, false);
        assertEq(handler.reached(SLAHandler.Reached.WithdrawnTo), 1, "withdrawn to the sink");
        assertEq(handler.reached(SLAHandler.Reached.Withdrawn), 1, "withdrawn");
        _checkAll();
    }

    /// @dev Issue 11: at least 10,000 calls per invariant in the profile CI runs, more in heavy.
    function test_invariantBudget() public view {
        string memory toml = vm.readFile(string.concat(vm.projectRoot(), "/foundry.toml"));
        uint256 calls = vm.parseTomlUint(toml, ".invariant.runs") * vm.parseTomlUint(toml, ".invariant.depth");
        assertGe(calls, 10_000, "default invariant calls");
        uint256 heavy = vm.parseTomlUint(toml, ".profile.heavy.invariant.runs")
            * vm.parseTomlUint(toml, ".profile.heavy.invariant.depth");
        assertGt(heavy, calls, "heavy profile not deeper");
    }
}
