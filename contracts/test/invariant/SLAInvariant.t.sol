// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {DevToken} from "../../src/dev/DevToken.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ClassRegistry} from "../../src/ClassRegistry.sol";
import {ResultHasher} from "../../src/ResultHasher.sol";
import {ChallengeManager, Challenge, ChallengeState} from "../../src/ChallengeManager.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {Job, JobState} from "../../src/types/Settlement.sol";
import {SyntheticGroth16} from "../helpers/SyntheticGroth16.sol";
import {SLAHandler, reachedNames} from "./SLAHandler.sol";

/// @notice The protocol (real Groth16 verifier under SyntheticGroth16's key, so every proof
///         is a real pairing check) with SLAHandler as the only fuzz target, and the
///         invariants of the state machine (specs/settlement.md) as internal checks.
abstract contract SLAInvariantBase is Test {
    uint256 internal constant MINTED = 100_000_000e18;
    uint256 internal constant STAKE = 10_000_000e18;
    uint16 internal constant MIN_SLOTS = 4;

    DevToken internal token;
    ProviderRegistry internal providers;
    ClassRegistry internal classes;
    SLAManager internal manager;
    ChallengeManager internal challenges;
    SLAHandler internal handler;
    uint256 internal supply;

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        vm.roll(1_000);
        address gov = makeAddr("gov");
        token = new DevToken(gov, 0);
        providers = new ProviderRegistry(IERC20(address(token)), 7 days, gov);
        classes = new ClassRegistry(gov);
        ResultHasher hasher = new ResultHasher();
        manager = new SLAManager(IERC20(address(token)), providers, classes, hasher, gov);
        challenges = manager.challenges();
        vm.startPrank(gov);
        providers.setManager(address(manager));
        bytes32 classId = classes.registerClass(
            "universal-v1-invariant", address(SyntheticGroth16.deploy()), address(SyntheticGroth16.deployTargeted()), MIN_SLOTS
        );
        handler = new SLAHandler(IERC20(address(token)), providers, manager, hasher, classId, MIN_SLOTS);
        address[5] memory a = handler.accounts();
        for (uint256 i = 0; i < a.length; ++i) {
            token.mint(a[i], MINTED);
        }
        vm.stopPrank();
        supply = token.totalSupply();
        handler.init(STAKE);

        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: _actions()}));
    }

    function _actions() internal pure returns (bytes4[] memory a) {
        a = new bytes4[](26);
        a[0] = SLAHandler.post.selector;
        a[1] = SLAHandler.sign.selector;
        a[2] = SLAHandler.cancel.selector;
        a[3] = SLAHandler.deposit.selector;
        a[4] = SLAHandler.reveal.selector;
        a[5] = SLAHandler.lockSigned.selector;
        a[6] = SLAHandler.lockAndCommit.selector;
        a[7] = SLAHandler.lock.selector;
        a[8] = SLAHandler.commit.selector;
        a[9] = SLAHandler.submit.selector;
        a[10] = SLAHandler.cheat.selector;
        a[11] = SLAHandler.submitBatch.selector;
        a[12] = SLAHandler.abandon.selector;
        a[13] = SLAHandler.fixSeed.selector;
        a[14] = SLAHandler.slash.selector;
        a[15] = SLAHandler.finalize.selector;
        a[16] = SLAHandler.withdraw.selector;
        a[17] = SLAHandler.warp.selector;
        a[18] = SLAHandler.drive.selector;
        a[19] = SLAHandler.badCommitment.selector;
        a[20] = SLAHandler.challenge.selector;
        a[21] = SLAHandler.answer.selector;
        a[22] = SLAHandler.enforce.selector;
        a[23] = SLAHandler.reclaim.selector;
        a[24] = SLAHandler.withdrawBonds.selector;
        a[25] = SLAHandler.release.selector;
    }

    // ================================================================ the invariants

    /// @dev 1. Funds conservation. The manager holds exactly its accounts' balances (what
    ///      withdraw pays less the registry credit) plus the escrowed price of every job not
    ///      final; the registry holds exactly its stake and credits; every credit is an
    ///      actor's; no token is created or lost; and each balance, credit and stake is the one
    ///      the model computed from the calls.
    function _checkFunds(SLAHandler.JobView[] memory v, Job[] memory jobs) internal view {
        address[5] memory a = handler.accounts();
        uint256 balances;
        uint256 credits;
        for (uint256 i = 0; i < a.length; ++i) {
            uint256 credit = providers.creditOf(a[i]);
            uint256 own = manager.balanceOf(a[i]) - credit;
            assertEq(own, handler.gBal(a[i]), "a manager balance differs from the model");
            assertEq(credit, handler.gCredit(a[i]), "a registry credit differs from the model");
            balances += own;
            credits += credit;
        }
        uint256 escrow;
        for (uint256 i = 0; i < v.length; ++i) {
            JobState s = jobs[i].state;
            if (s == JobState.Open || s == JobState.Locked || s == JobState.Committed || s == JobState.Proved) {
                escrow += v[i].price;
            }
        }
        assertEq(token.balanceOf(address(manager)), balances + escrow, "manager balance != balances + escrow");
        assertEq(
            token.balanceOf(address(providers)),
            providers.totalStaked() + providers.totalCredits(),
            "registry balance != stake + credits"
        );
        assertEq(credits, providers.totalCredits(), "registry credits not all owned by actors");
        // The ChallengeManager holds exactly its accounts' balances, the bonds of Open
        // challenges and those of answered data challenges not released yet.
        uint256 bonds;
        for (uint256 i = 0; i < a.length; ++i) {
            assertEq(challenges.balanceOf(a[i]), handler.gBond(a[i]), "a bond balance differs from the model");
            bonds += handler.gBond(a[i]);
        }
        uint256 held = _checkChallenges();
        assertEq(
            token.balanceOf(address(challenges)),
            held + bonds,
            "challenge balance != open bonds + held data bonds + balances"
        );
        assertEq(token.totalSupply(), supply, "supply changed");
        held =
            token.balanceOf(address(manager)) + token.balanceOf(address(providers)) + token.balanceOf(handler.sink())
                + token.balanceOf(address(challenges));
        for (uint256 i = 0; i < a.length; ++i) {
            held += token.balanceOf(a[i]);
        }
        assertEq(held, supply, "tokens outside the actors and the contracts");
        uint256 staked;
        for (uint256 i = 0; i < 2; ++i) {
            address p = a[2 + i];
            uint256 free = providers.freeStake(p);
            uint256 reserved = providers.reservedStake(p);
            assertEq(free + reserved, handler.gStake(p), "provider stake differs from the model");
            assertEq(reserved, handler.gReserved(p), "reserved stake != stakes of the provider's live jobs");
            staked += free + reserved + providers.providerOf(p).unbonding;
        }
        assertEq(staked, providers.totalStaked(), "totalStaked != sum over providers");
    }

    /// @dev Every challenge against the model: its state; an Open challenge's bond and an
    ///      answered data challenge's (held until released) summed, which is the model's; a
    ///      released data bond went to the provider of a Settled job (an honest provider's answered
    ///      data bonds end with it) and back to the challenger of a Slashed one.
    function _checkChallenges() internal view returns (uint256 held) {
        uint256 n = handler.challengeCount();
        uint256 open;
        uint256 answered;
        for (uint256 i = 0; i < n; ++i) {
            (uint256 id, uint256 element, SLAHandler.GChallenge memory g) = handler.challengeAt(i);
            Challenge memory c = challenges.challengeOf(id, element);
            assertEq(uint256(c.state), uint256(g.state), "a challenge's state differs from the model");
            bool data = element >> 96 >= challenges.FIRST_DATA_KIND();
            if (c.state == ChallengeState.Open) open += c.bond;
            if (c.state == ChallengeState.Answered && data) answered += c.bond;
            if (c.state == ChallengeState.Released) {
                assertTrue(data, "an element challenge was released");
                JobState s = manager.getJob(id).state;
                address to = handler.gReleasedTo(id, element);
                if (s == JobState.Settled) {
                    assertEq(to, handler.ghostOf(id).provider, "a paid job's data bond released to other than its provider");
                } else {
                    assertEq(uint256(s), uint256(JobState.Slashed), "a data bond released while the job was live");
                    assertEq(to, c.challenger, "a slashed job's data bond released to other than its challenger");
                }
                if (!handler.falsified(id)) {
                    assertEq(to, handler.ghostOf(id).provider, "an honest provider's data bond went to another");
                }
            }
        }
        assertEq(open, handler.gOpenBonds(), "open bonds differ from the model");
        assertEq(answered, handler.gHeldBonds(), "held data bonds differ from the model");
        held = open + answered;
    }

    /// @dev 2 and 4 over every job. Its state is the model's (so final states never change,
    ///      and no job is slashed, settled or reopened unless the model predicted it); every
    ///      stored field is the model's (_checkFields); a Slashed job has a cause the model saw
    ///      (an invalid proof submitted for it, or a deadline the model computed had passed), so
    ///      an honestly driven job never is; a Settled job was credited exactly once, any other
    ///      job never.
    function _checkJobs(SLAHandler.JobView[] memory v, Job[] memory jobs) internal view {
        address[5] memory a = handler.accounts();
        uint256[2] memory settledPrices;
        for (uint256 i = 0; i < v.length; ++i) {
            Job memory j = jobs[i];
            SLAHandler.Ghost memory g = v[i].ghost;
            assertEq(uint256(j.state), uint256(g.state), "job state differs from the model");
            _checkFields(v[i], j);
            assertEq(challenges.openCount(v[i].id), handler.gOpen(v[i].id), "open challenges differ from the model");
            assertEq(challenges.dataUntilOf(v[i].id), handler.gDataUntil(v[i].id), "dataUntil differs from the model");
            assertEq(
                challenges.holds(v[i].id),
                handler.gOpen(v[i].id) != 0 || block.timestamp <= handler.gDataUntil(v[i].id),
                "holds differs from the model (open challenges, or now <= dataUntil)"
            );
            if (j.state == JobState.Slashed) {
                assertTrue(g.cause != SLAHandler.Cause.None, "a job was slashed without a cause");
                // An honest provider never loses to a challenge: only a falsified trace does.
                if (g.cause == SLAHandler.Cause.Challenged) {
                    assertTrue(handler.falsified(v[i].id), "a challenge slashed an honest trace");
                }
                assertEq(g.cause == SLAHandler.Cause.InvalidProof, g.cheated, "proof slash without an invalid proof");
            } else {
                assertTrue(g.cause == SLAHandler.Cause.None, "a cause recorded for a job not slashed");
            }
            if (j.state == JobState.Settled) {
                assertEq(g.paid, 1, "a settled job was credited other than once");
                settledPrices[g.provider == a[2] ? 0 : 1] += v[i].price;
            } else {
                assertEq(g.paid, 0, "a job not settled was credited");
            }
        }
        // 4, measured on the contract: what each provider was credited by the manager (its
        // balance now, plus what it withdrew, less what it deposited) is the sum of the prices
        // of its Settled jobs.
        for (uint256 i = 0; i < 2; ++i) {
            address p = a[2 + i];
            uint256 credited = manager.balanceOf(p) - providers.creditOf(p) + handler.withdrawnInternal(p)
                - handler.depositedInternal(p);
            assertEq(credited, settledPrices[i], "a provider was credited other than its settled prices");
        }
    }

    /// @dev The stored job field by field against the model (settlement.md §3). A live job
    ///      (Locked, Committed, Proved) keeps the request's price and prove window and the rates
    ///      the model saw at its lock; its flags say whether the request has a seed commitment
    ///      and whether the seed is fixed; its deadline is commitBy, proveBy or payableAt, its
    ///      seed block (from the commit on) and stored seed (once fixed) the model's. Its second
    ///      slot is provider << 96 | stake while Locked or Proved, which holderOf returns, and
    ///      while Committed the commitment the model hashes from its provider and stake and the
    ///      committed trace root and attestation, which commitmentOf also gives. An Open job
    ///      keeps only its price; an unposted or final one (Settled, Slashed, Cancelled) nothing
    ///      but its state.
    function _checkFields(SLAHandler.JobView memory v, Job memory j) internal view {
        SLAHandler.Ghost memory g = v.ghost;
        JobState s = j.state;
        bool live = s == JobState.Locked || s == JobState.Committed || s == JobState.Proved;
        bool seeded = s == JobState.Committed || s == JobState.Proved;
        // A Proved job's flags say only that its third slot holds the challenge anchor.
        uint256 flags = s == JobState.Proved ? 2 : (live ? (v.seedCommitment ? 1 : 0) | (g.seedFixed ? 2 : 0) : 0);
        assertEq(j.flags, flags, "flags differ from the model");
        uint256 deadline = s == JobState.Locked
            ? g.commitBy
            : (s == JobState.Committed ? g.proveBy : (s == JobState.Proved ? g.payableAt : 0));
        assertEq(j.deadline, deadline, "deadline differs from the model (commitBy, proveBy, payableAt)");
        assertEq(j.seedBlock, seeded ? g.seedBlock : 0, "seed block differs from the model");
        assertEq(j.proveWindow, live ? v.proveWindow : 0, "prove window differs from the request");
        assertEq(j.bountyBps, live ? g.bountyBps : 0, "bounty rate differs from the one at lock");
        assertEq(j.abandonBps, live ? g.abandonBps : 0, "abandon rate differs from the one at lock");
        assertEq(j.price, live || s == JobState.Open ? v.price : 0, "price differs from the request");
        if (s == JobState.Proved) {
            assertEq(bytes32(j.seed), handler.anchorModel(v.id), "a proved job's anchor differs from the model");
        } else {
            assertEq(j.seed, seeded && g.seedFixed ? g.seed : 0, "stored seed differs from settlement.md section 4");
        }
        assertEq(j.holder, v.holder, "second slot differs from the model's holder or commitment");
        (address provider, uint256 stake) = manager.holderOf(v.id);
        if (s == JobState.Locked || s == JobState.Proved) {
            assertEq(provider, g.provider, "provider differs from the model");
            assertEq(stake, g.stake, "stake differs from the model");
        } else {
            assertEq(provider, address(0), "holderOf names a provider outside Locked and Proved");
            assertEq(stake, 0, "holderOf gives a stake outside Locked and Proved");
        }
        if (s == JobState.Committed) {
            assertEq(v.commitment.provider, g.provider, "model commitment names another provider");
            assertEq(manager.commitmentOf(v.commitment), j.holder, "commitmentOf differs from the stored commitment");
        }
    }

    /// @dev 2 and 3 on the spot (see SLAHandler): an invalid proof slashes in the same call,
    ///      single or batch; a valid batch member is never slashed; the buyer of a slashed job
    ///      gets price + stake - bounty; refusals carry the exact error.
    function _checkNoViolation() internal view {
        string[] memory v = handler.violations();
        if (v.length > 0) fail(string.concat(vm.toString(v.length), " violation(s), first: ", v[0]));
    }

    function _checkAll() internal view {
        _checkNoViolation();
        SLAHandler.JobView[] memory v = handler.jobsView();
        Job[] memory jobs = new Job[](v.length);
        for (uint256 i = 0; i < v.length; ++i) {
            jobs[i] = manager.getJob(v[i].id);
        }
        _checkFunds(v, jobs);
        _checkJobs(v, jobs);
    }
}

/// @notice The campaign: random sequences of every action, every invariant after every call.
///         One invariant function on purpose: forge runs one campaign per invariant function,
///         all from the same seed, so several would replay the same calls.
contract SLAInvariantTest is SLAInvariantBase {
    /// @dev Conservation of funds and stake, the model's states and fields for every job,
    ///      honest jobs never slashed, invalid proofs always slashed at once, exact slash
    ///      payouts, no job paid twice, final states final.
    function invariant_settlement() public view {
        _checkAll();
    }

    /// @dev forge calls this after every run, on that run's state. The totals over the
    ///      campaign live in the process environment (each run has a fresh state); once the
    ///      default campaign's runs are done every outcome must have been reached, settlements
    ///      and slashes included. A single run is not held to that: 256 random calls over
    ///      several jobs can end before any job completes (a changed contract or seed made one
    ///      such run), and failing it would make the campaign's verdict a matter of its seed. On request (PROBITY_WRITE_REACH=true, `make snapshot-reach`) each full
    ///      default-depth run writes the totals so far to contracts/snapshots/invariant-reach.json,
    ///      so the file ends with the whole campaign's.
    function afterInvariant() public {
        uint256[53] memory run = handler.reachedAll();
        string memory toml = vm.readFile(string.concat(vm.projectRoot(), "/foundry.toml"));
        string memory prefix = "PROBITY_REACH_";
        // forge replays the last run once more for its traces: the same counts twice in a row
        // are that replay, not a new run.
        string memory digest = vm.toString(keccak256(abi.encode(run)));
        if (keccak256(bytes(vm.envOr(string.concat(prefix, "last"), string("")))) == keccak256(bytes(digest))) return;
        vm.setEnv(string.concat(prefix, "last"), digest);
        uint256 runs = vm.envOr(string.concat(prefix, "runs"), uint256(0)) + 1;
        vm.setEnv(string.concat(prefix, "runs"), vm.toString(runs));
        string[53] memory names = reachedNames();
        uint256[53] memory total;
        string memory json = string.concat('{"runs": ', vm.toString(runs));
        string memory file = string.concat('{\n  "runs": ', vm.toString(runs));
        for (uint256 i = 0; i < names.length; ++i) {
            string memory key = string.concat(prefix, names[i]);
            total[i] = vm.envOr(key, uint256(0)) + run[i];
            vm.setEnv(key, vm.toString(total[i]));
            json = string.concat(json, ', "', names[i], '": ', vm.toString(total[i]));
            file = string.concat(file, ',\n  "', names[i], '": ', vm.toString(total[i]));
        }
        // Only the default profile's campaign is the snapshot: heavy runs are deeper (forge does
        // not pass FOUNDRY_PROFILE on to cheatcodes) and shrinking replays shorter. Written only
        // on request: forge's campaign is not bit-for-bit repeatable across runs, and a test run
        // must not leave the tree dirty.
        if (vm.envOr("PROBITY_WRITE_REACH", false) && run[0] == vm.parseTomlUint(toml, ".invariant.depth")) {
            vm.writeFile(
                string.concat(vm.projectRoot(), "/contracts/snapshots/invariant-reach.json"),
                string.concat(file, "\n}\n")
            );
        }
        uint256 settled = vm.envOr(string.concat(prefix, "settlements"), uint256(0)) + handler.settlements();
        uint256 slashed = vm.envOr(string.concat(prefix, "slashes"), uint256(0)) + handler.slashes();
        vm.setEnv(string.concat(prefix, "settlements"), vm.toString(settled));
        vm.setEnv(string.concat(prefix, "slashes"), vm.toString(slashed));
        if (runs != vm.parseTomlUint(toml, ".invariant.runs")) return;
        for (uint256 i = 0; i < names.length; ++i) {
            assertGt(total[i], 0, string.concat("never reached: ", names[i]));
        }
        // Near the rates the campaign reaches (6.5 settlements and 13.3 slashes a run at 64 x
        // 256), with room for a seed's variance: a handler change that starves either fails.
        assertGe(settled, 3 * runs, "the campaign settled fewer than 3 jobs a run");
        assertGe(slashed, 6 * runs, "the campaign slashed fewer than 6 jobs a run");
        // forge shows no logs of a passing invariant test: on request the campaign fails at its
        // end with the totals as the reason (PROBITY_REACH_REPORT=true, with
        // FOUNDRY_INVARIANT_SHRINK_RUN_LIMIT=0 so that forge does not shrink the last run).
        if (vm.envOr("PROBITY_REACH_REPORT", false)) {
            revert(
                string.concat(
                    "invariant reach: ", json, ', "settlements": ', vm.toString(settled), ', "slashes": ', vm.toString(slashed), "}"
                )
            );
        }
    }
}

/// @notice Every handler action in a fixed sequence, each outcome's counter asserted: every
///         outcome the campaign counts is reachable, and the invariants hold along the way.
contract SLAHandlerSmokeTest is SLAInvariantBase {
    uint256 internal constant P0 = 0;
    uint256 internal constant P1 = 1;

    function _last() internal view returns (uint256) {
        return handler.jobCount() - 1;
    }

    function _r(SLAHandler.Reached what) internal view returns (uint256) {
        return handler.reached(what);
    }

    function _terms(uint256 lockIn, uint256 exec, uint256 prove, uint256 challenge) internal view returns (uint256) {
        return handler.encodeTerms(lockIn, exec, prove, challenge, 12);
    }

    /// @dev Posts a job and has provider `p` lock and commit it; returns its index.
    function _committed(uint256 terms, bool commitment, uint256 p) internal returns (uint256 i) {
        handler.post(0, 100e18, terms, commitment);
        i = _last();
        handler.lock(i, p);
        handler.commit(i, false);
    }

    /// @dev handler.warp's encoding: `secs` seconds (below two hours) and `blocks` (below 25).
    function _pass(uint256 secs, uint256 blocks) internal {
        handler.warp(secs < 10 minutes ? (secs << 3) | 1 : secs << 3, (blocks << 4) | 1);
    }

    /// @dev A windowed job proved by provider 0 whose model trace is falsified (`lying`) or not;
    ///      jobs of the other kind are paid out of the way.
    function _provedWindowed(uint256 terms, bool lying) internal returns (uint256 i) {
        for (;;) {
            i = _committed(terms, false, P0);
            _pass(0, 3);
            handler.submit(i);
            if (handler.falsified(handler.jobIds(i)) == lying) return i;
            _pass(10 minutes + 1, 1);
            handler.finalize(i, 0, false);
        }
    }

    /// @dev A windowed job proved by provider 0 whose model trace is falsified and whose
    ///      cheater withholds its trace (`withhold`) or answers data challenges; other jobs are
    ///      paid out of the way.
    function _provedCheater(uint256 terms, bool withhold) internal returns (uint256 i) {
        for (;;) {
            i = _committed(terms, false, P0);
            _pass(0, 3);
            handler.submit(i);
            uint256 id = handler.jobIds(i);
            if (handler.falsified(id) && handler.withholds(id) == withhold) return i;
            if (handler.falsified(id)) {
                // Slashed out of the way by its false element.
                handler.challenge(i, 0, 3);
                _pass(1 hours + 1, 1);
                handler.enforce(0);
            } else {
                _pass(10 minutes + 1, 1);
                handler.finalize(i, 0, false);
            }
        }
    }

    /// @notice The held bonds of answered data challenges: an honest job's, whose release is
    ///         refused while the job is Proved and goes to the provider once it is paid (a
    ///         second release refused); a cheater's that answers the openings and is slashed by
    ///         its false element, whose bonds go back to the watcher.
    function test_handlerReleasesHeldDataBonds() public {
        uint256 windowed = _terms(1 hours, 1 hours, 1 hours, 10 minutes);
        uint256 dc = _provedWindowed(windowed, false);
        handler.challenge(dc, 0, 6);
        uint256 n = handler.jobCount();
        for (uint256 k = 1; _r(SLAHandler.Reached.DataChallengeOpened) == 1 && k < 8; ++k) {
            handler.challenge(dc + k * 256 * n, 0, 7);
        }
        assertEq(_r(SLAHandler.Reached.DataChallengeOpened), 2, "two data challenges");
        handler.answer(0);
        handler.answer(1);
        assertEq(_r(SLAHandler.Reached.DataChallengeAnswered), 2, "data challenges answered");
        _releaseRefused();
        _pass(1 hours + 1, 1);
        handler.finalize(dc, 0, false);
        assertEq(uint256(manager.getJob(handler.jobIds(dc)).state), uint256(JobState.Settled), "paid");
        _checkAll();
        _releasedToProvider();
        _answeringCheaterRefunded(windowed);
        uint256[53] memory all = handler.reachedAll();
        string[53] memory names = reachedNames();
        for (uint256 i = names.length - 2; i < names.length; ++i) {
            assertGt(all[i], 0, string.concat("never reached: ", names[i]));
        }
    }

    /// @dev A release of the one held data bond while its job is Proved: refused.
    function _releaseRefused() internal {
        uint256 refused = _r(SLAHandler.Reached.ChallengeRefused);
        handler.release(0);
        assertEq(_r(SLAHandler.Reached.ChallengeRefused), refused + 1, "release refused while Proved");
    }

    /// @dev Once the job is paid, both held data bonds go to the provider; a second release is
    ///      refused.
    function _releasedToProvider() internal {
        uint256 refused = _r(SLAHandler.Reached.ChallengeRefused);
        handler.release(1);
        assertEq(_r(SLAHandler.Reached.DataBondReleasedToProvider), 1, "data bond released to the provider");
        assertEq(_r(SLAHandler.Reached.ChallengeRefused), refused + 1, "second release refused");
        handler.release(0);
        assertEq(_r(SLAHandler.Reached.DataBondReleasedToProvider), 2, "both data bonds released");
        _checkAll();
    }

    /// @dev A cheater that answers the watcher's data challenges (collecting nothing: the
    ///      bonds are held) is slashed by its false element, and the data bonds go back to the
    ///      watcher.
    function _answeringCheaterRefunded(uint256 windowed) internal {
        uint256 oc = _provedCheater(windowed, false);
        uint256 answeredBefore = _r(SLAHandler.Reached.DataChallengeAnswered);
        uint256 upheldBefore = _r(SLAHandler.Reached.ChallengeUpheld);
        handler.challenge(oc, 0, 6);
        for (uint256 k = 0; _r(SLAHandler.Reached.DataChallengeAnswered) == answeredBefore && k < 4; ++k) {
            handler.answer(k);
        }
        assertEq(_r(SLAHandler.Reached.DataChallengeAnswered), answeredBefore + 1, "a cheater answers a data challenge");
        handler.challenge(oc, 0, 3);
        _pass(1 hours + 30 minutes, 1);
        _pass(30 minutes + 1, 1);
        for (uint256 k = 0; _r(SLAHandler.Reached.ChallengeUpheld) == upheldBefore && k < 4; ++k) {
            handler.enforce(k);
        }
        assertEq(uint256(manager.getJob(handler.jobIds(oc)).state), uint256(JobState.Slashed), "the cheater slashed");
        handler.release(1);
        assertEq(_r(SLAHandler.Reached.DataBondRefunded), 1, "data bond back to the watcher");
        _checkAll();
    }

    function test_handlerReachesEveryOutcome() public {
        uint256 quick = _terms(1 hours, 1 hours, 1 hours, 0);
        uint256 windowed = _terms(1 hours, 1 hours, 1 hours, 10 minutes);

        // Post, lock, commit, wait for the seed block, a valid proof settles at once.
        handler.post(0, 100e18, quick, false);
        assertEq(_r(SLAHandler.Reached.Posted), 1, "posted");
        handler.lock(_last(), P0);
        assertEq(_r(SLAHandler.Reached.LockedOpen), 1, "locked open");
        handler.commit(_last(), false);
        assertEq(_r(SLAHandler.Reached.Committed), 1, "committed");
        handler.submit(_last()); // seed block not mined yet
        assertEq(_r(SLAHandler.Reached.SubmitRefused), 1, "early submission refused");
        _pass(0, 3);
        handler.submit(_last());
        assertEq(_r(SLAHandler.Reached.SettledSingle), 1, "settled single");
        _checkAll();

        // A challenge window: Proved, then finalized once it ends; then collected.
        uint256 w = _committed(windowed, false, P0);
        _pass(0, 3);
        handler.submit(w);
        assertEq(_r(SLAHandler.Reached.ProvedSingle), 1, "proved single");
        _pass(10 minutes + 1, 1);
        handler.finalize(w, 0, false);
        assertEq(_r(SLAHandler.Reached.Finalized), 1, "finalized");
        w = _committed(windowed, false, P1);
        _pass(0, 3);
        handler.submit(w);
        _pass(10 minutes + 1, 1);
        handler.finalize(w, 3, true); // who 3: provider 1 collects
        assertEq(_r(SLAHandler.Reached.Collected), 1, "collected");
        _checkAll();

        // The provider cheats alone: slashed in the same call.
        w = _committed(quick, false, P1);
        _pass(0, 3);
        handler.cheat(w, 0);
        assertEq(_r(SLAHandler.Reached.SlashedInvalidSingle), 1, "slashed invalid single");

        // A batch of provider 0: valid, invalid (windowed) and valid members, and provider 0's
        // first job, settled long ago (skipped).
        uint256 first = _committed(quick, false, P0);
        _committed(windowed, false, P0);
        _committed(quick, false, P0);
        _pass(0, 3);
        handler.submitBatch(first, P0, _mixedMask(), 1);
        assertEq(_r(SLAHandler.Reached.SettledBatch), 2, "settled in batch");
        assertEq(_r(SLAHandler.Reached.SlashedInvalidBatch), 1, "slashed invalid in batch");
        assertEq(_r(SLAHandler.Reached.SkippedBatchMember), 1, "skipped batch member");
        _checkAll();
        // All valid (the aggregate check passes), windowed.
        first = _committed(windowed, false, P1);
        _committed(windowed, false, P1);
        _pass(0, 3);
        handler.submitBatch(first, P1, 0, 0);
        assertEq(_r(SLAHandler.Reached.ProvedBatch), 2, "proved in batch");
        _checkAll();

        // Signed requests: a forged signature, locked, locked and committed at once, revoked.
        handler.sign(1, 50e18, quick, false);
        assertEq(_r(SLAHandler.Reached.Signed), 1, "signed");
        uint256 signed = _last();
        handler.lockSigned(signed, P0, 1); // probe 1: the other buyer's signature
        assertEq(_r(SLAHandler.Reached.LockRefused), 1, "forged signature refused");
        handler.lockSigned(signed, P0, 0);
        assertEq(_r(SLAHandler.Reached.LockedSigned), 1, "locked signed");
        handler.commit(signed, false);
        handler.sign(0, 50e18, quick, true);
        uint256 both = _last();
        handler.lockAndCommit(both, P1);
        assertEq(_r(SLAHandler.Reached.LockedAndCommitted), 1, "lock and commit");
        handler.sign(1, 50e18, quick, false);
        handler.cancel(_last(), false);
        assertEq(_r(SLAHandler.Reached.Revoked), 1, "revoked");
        handler.cancel(both, true); // committed: not cancellable
        assertEq(_r(SLAHandler.Reached.CancelRefused), 1, "cancel refused");
        _pass(0, 3);
        handler.reveal(both, false);
        assertEq(_r(SLAHandler.Reached.Revealed), 1, "revealed");
        handler.submit(signed);
        handler.submit(both);
        assertEq(_r(SLAHandler.Reached.SettledSingle), 3, "signed jobs settled");
        _checkAll();

        // Seeds: fixSeed during the reveal window, a wrong secret, a reveal; the fallback.
        w = _committed(quick, true, P0);
        handler.fixSeed(w);
        assertEq(_r(SLAHandler.Reached.SeedRefused), 1, "early fixSeed refused");
        _pass(0, 3);
        handler.reveal(w, true);
        assertEq(_r(SLAHandler.Reached.SeedRefused), 2, "wrong secret refused");
        handler.reveal(w, false);
        handler.submit(w);
        assertEq(_r(SLAHandler.Reached.SettledSingle), 4, "revealed job settled");
        w = _committed(quick, true, P1);
        _pass(0, 20);
        _pass(0, 20);
        handler.fixSeed(w);
        assertEq(_r(SLAHandler.Reached.SeedFixed), 1, "seed fixed");
        handler.submit(w);
        assertEq(_r(SLAHandler.Reached.SettledSingle), 5, "fixed-seed job settled");
        _checkAll();

        // Abandon: reopened before lockBy (then cancelled), refunded after it (lockBy 60 s).
        handler.post(0, 100e18, quick, false);
        handler.lock(_last(), P1);
        handler.abandon(_last());
        assertEq(_r(SLAHandler.Reached.AbandonedReopened), 1, "abandoned, reopened");
        handler.cancel(_last(), false);
        assertEq(_r(SLAHandler.Reached.Cancelled), 1, "cancelled");
        handler.post(1, 100e18, _terms(60, 1 hours, 1 hours, 0), false);
        handler.lock(_last(), P1);
        _pass(61, 1);
        handler.abandon(_last());
        assertEq(_r(SLAHandler.Reached.AbandonedRefunded), 1, "abandoned, refunded");
        // A late lock refused, then the buyer cancels.
        handler.post(0, 100e18, _terms(0, 1 hours, 1 hours, 0), false);
        _pass(1, 1);
        handler.lock(_last(), P0);
        assertEq(_r(SLAHandler.Reached.LockRefused), 2, "late lock refused");
        handler.cancel(_last(), false);
        assertEq(_r(SLAHandler.Reached.Cancelled), 2, "cancelled late");
        _checkAll();

        // Deadlines: an early slash refused; commit missed (a late commit and a late abandon
        // refused first); proof missed, slashed by the other provider; seed expired.
        handler.post(0, 100e18, _terms(1 hours, 60, 60, 0), false);
        uint256 late = _last();
        handler.lock(late, P0);
        handler.slash(late, false);
        assertEq(_r(SLAHandler.Reached.SlashRefused), 1, "early slash refused");
        _pass(61, 1);
        handler.commit(late, false);
        assertEq(_r(SLAHandler.Reached.CommitRefused), 1, "late commit refused");
        handler.abandon(late);
        assertEq(_r(SLAHandler.Reached.AbandonRefused), 1, "late abandon refused");
        handler.slash(late, false);
        assertEq(_r(SLAHandler.Reached.SlashedCommitMissed), 1, "slashed, commit missed");
        w = _committed(_terms(1 hours, 1 hours, 60, 0), false, P1);
        _pass(61, 3);
        handler.slash(w, true);
        assertEq(_r(SLAHandler.Reached.SlashedProofMissed), 1, "slashed, proof missed");
        w = _committed(quick, true, P0);
        handler.warp(1, 0); // blocks % 16 == 0: past the seed horizon
        assertEq(_r(SLAHandler.Reached.HorizonPassed), 1, "horizon passed");
        handler.slash(w, false);
        assertEq(_r(SLAHandler.Reached.SlashedSeedExpired), 1, "slashed, seed expired");
        _checkAll();

        // commitMany, deposits, escrow from the deposit, withdrawals, drive.
        handler.post(0, 100e18, quick, false);
        handler.lock(_last(), P0);
        handler.post(0, 100e18, quick, false);
        handler.lock(_last(), P0);
        handler.commit(_last() - 1, true);
        assertEq(_r(SLAHandler.Reached.CommittedMany), 1, "commitMany");
        handler.deposit(0, 1_000e18);
        assertEq(_r(SLAHandler.Reached.Deposited), 1, "deposited");
        uint256 fromBalance = _r(SLAHandler.Reached.EscrowFromBalance);
        handler.post(0, 100e18, quick, false);
        assertEq(_r(SLAHandler.Reached.EscrowFromBalance), fromBalance + 1, "escrow from the deposit");
        handler.withdraw(0, false);
        handler.withdraw(2, true);
        assertEq(_r(SLAHandler.Reached.Withdrawn), 3, "withdrawn (and collected once)");
        handler.withdraw(0, false);
        assertEq(_r(SLAHandler.Reached.WithdrawRefused), 1, "empty withdrawal refused");
        for (uint256 i = 0; i < 8; ++i) {
            handler.drive(i);
        }
        assertEq(_r(SLAHandler.Reached.Driven), 8, "driven");
        _checkAll();

        // Commitments that do not open, each refused with nothing changed and followed by the
        // honest call: a submission with another stake, naming the other provider, sent by the
        // other provider in its own name, a batch member; a slash with another stake (by the
        // keeper) and naming another provider (by the other provider).
        uint256 settledBefore = _r(SLAHandler.Reached.SettledSingle);
        for (uint256 k = 0; k < 4; ++k) {
            w = _committed(quick, false, k % 2);
            _pass(0, 3);
            handler.badCommitment(w, k);
            assertEq(_r(SLAHandler.Reached.BadCommitmentSubmitRefused), k + 1, "bad commitment refused");
            assertEq(_r(SLAHandler.Reached.SettledSingle), settledBefore + k + 1, "then settled");
        }
        uint256 missedBefore = _r(SLAHandler.Reached.SlashedProofMissed);
        for (uint256 k = 0; k < 2; ++k) {
            w = _committed(_terms(1 hours, 1 hours, 60, 0), false, k);
            _pass(61, 3);
            handler.badCommitment(w | (k << 8) | (k << 9), 4);
            assertEq(_r(SLAHandler.Reached.BadCommitmentSlashRefused), k + 1, "bad commitment slash refused");
            assertEq(_r(SLAHandler.Reached.SlashedProofMissed), missedBefore + k + 1, "then slashed");
        }
        _checkAll();

        // Challenges. An honest job: a challenge is opened, a non-canonical one refused, an
        // early enforce refused; the provider answers and withdraws the bond (twice: the second
        // refused); the job is paid after its window.
        uint256 ch = _provedWindowed(windowed, false);
        handler.challenge(ch, 0, 4);
        assertEq(_r(SLAHandler.Reached.ChallengeOpened), 1, "challenge opened");
        handler.challenge(ch, 0, 0);
        handler.enforce(0);
        assertEq(_r(SLAHandler.Reached.ChallengeRefused), 2, "bad element and early enforce refused");
        handler.answer(0);
        assertEq(_r(SLAHandler.Reached.ChallengeAnswered), 1, "challenge answered");
        handler.withdrawBonds(2);
        assertEq(_r(SLAHandler.Reached.BondsWithdrawn), 1, "bonds withdrawn");
        _pass(10 minutes + 1, 1);
        handler.finalize(ch, 0, false);
        assertEq(uint256(manager.getJob(handler.jobIds(ch)).state), uint256(JobState.Settled), "paid after answering");
        _checkAll();
        // A falsified job: its false element is challenged and an honest one a minute later; the
        // forged answer is refused; past the first respondBy (not the second) the provider has
        // answered neither, the false one is upheld (the job slashed) and the other reclaimed.
        ch = _provedWindowed(windowed, true);
        handler.challenge(ch, 0, 3);
        _pass(60, 1);
        handler.challenge(ch, 4, 5);
        assertEq(_r(SLAHandler.Reached.ChallengeOpened), 3, "both challenges opened");
        for (uint256 k = 0; _r(SLAHandler.Reached.FalseAnswerRefused) == 0 && k < 4; ++k) {
            handler.answer(k);
        }
        assertEq(_r(SLAHandler.Reached.FalseAnswerRefused), 1, "a falsified element cannot be answered");
        _pass(1 hours - 30, 1);
        for (uint256 k = 0; _r(SLAHandler.Reached.ChallengeUpheld) == 0 && k < 4; ++k) {
            handler.enforce(k);
        }
        assertEq(_r(SLAHandler.Reached.ChallengeUpheld), 1, "challenge upheld");
        assertEq(uint256(manager.getJob(handler.jobIds(ch)).state), uint256(JobState.Slashed), "slashed by the challenge");
        handler.reclaim(0);
        assertEq(_r(SLAHandler.Reached.ChallengeVoided), 1, "challenge voided");
        _checkAll();

        // Data challenges. An honest job: a data element is challenged and answered with the
        // opening of the committed trace, which holds the window one proveWindow (1 hour) past
        // its 10 minutes: finalize waits, and a second data challenge after payableAt is
        // accepted and answered; once dataUntil passes the job is paid.
        uint256 dc = _provedWindowed(windowed, false);
        handler.challenge(dc, 0, 6);
        assertEq(_r(SLAHandler.Reached.DataChallengeOpened), 1, "data challenge opened");
        handler.answer(0);
        assertEq(_r(SLAHandler.Reached.DataChallengeAnswered), 1, "data challenge answered");
        uint256 dcId = handler.jobIds(dc);
        assertEq(challenges.dataUntilOf(dcId), block.timestamp + 1 hours, "dataUntil one proveWindow on");
        _pass(10 minutes + 1, 1);
        handler.finalize(dc, 0, false);
        assertEq(uint256(manager.getJob(dcId).state), uint256(JobState.Proved), "held by dataUntil");
        uint256 n = handler.jobCount();
        for (uint256 k = 1; _r(SLAHandler.Reached.DataChallengeOpened) == 1 && k < 8; ++k) {
            handler.challenge(dc + k * 256 * n, 0, 7);
        }
        assertEq(_r(SLAHandler.Reached.DataChallengeOpened), 2, "a data challenge after payableAt");
        handler.answer(0);
        assertEq(_r(SLAHandler.Reached.DataChallengeAnswered), 2, "answered after payableAt");
        _pass(1 hours + 1, 1);
        handler.finalize(dc, 0, false);
        assertEq(uint256(manager.getJob(dcId).state), uint256(JobState.Settled), "paid once dataUntil passed");
        _checkAll();
        // A falsified job withholds its trace: a data challenge gets only a forged opening
        // (refused) and is upheld past its respondBy, slashing the job.
        uint256 refusedBefore = _r(SLAHandler.Reached.FalseAnswerRefused);
        uint256 fc = _provedCheater(windowed, true);
        handler.challenge(fc, 0, 6);
        assertEq(_r(SLAHandler.Reached.DataChallengeOpened), 3, "data challenge of a withheld trace");
        handler.answer(0);
        assertEq(_r(SLAHandler.Reached.FalseAnswerRefused), refusedBefore + 1, "a forged opening refused");
        _pass(1 hours + 1, 1);
        handler.enforce(0);
        assertEq(_r(SLAHandler.Reached.DataChallengeUpheld), 1, "data challenge upheld");
        assertEq(uint256(manager.getJob(handler.jobIds(fc)).state), uint256(JobState.Slashed), "slashed by it");
        _checkAll();

        // Every counter moved (but the releases of held data bonds: the next test, which this
        // one's gas leaves no room for).
        uint256[53] memory all = handler.reachedAll();
        string[53] memory names = reachedNames();
        for (uint256 i = 0; i < names.length - 2; ++i) {
            assertGt(all[i], 0, string.concat("never reached: ", names[i]));
        }
    }

    /// @dev A submitBatch mask, not all valid (mask % 3 != 0), whose first three members are
    ///      drawn valid, invalid, valid by the handler.
    function _mixedMask() internal pure returns (uint256 mask) {
        for (mask = 1;; ++mask) {
            if (mask % 3 == 0) continue;
            bool valid0 = uint256(keccak256(abi.encode(mask, uint256(0)))) % 3 != 0;
            bool bad1 = uint256(keccak256(abi.encode(mask, uint256(1)))) % 3 == 0;
            bool valid2 = uint256(keccak256(abi.encode(mask, uint256(2)))) % 3 != 0;
            if (valid0 && bad1 && valid2) return mask;
        }
    }
}
