// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SwitchableFeeToken, ReentrantToken} from "./mocks/MaliciousTokens.sol";
import {Fixture} from "./helpers/Fixture.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ChallengeManager, Challenge, ChallengeState} from "../src/ChallengeManager.sol";
import {Request} from "../src/types/Request.sol";
import {Job, JobState, Submission} from "../src/types/Settlement.sol";

/// @notice Targeted challenges of proved jobs (specs/settlement.md, "Challenges"): every
///         function, error and event of ChallengeManager and the manager's side of the game.
contract ChallengeManagerTest is Fixture {
    uint32 internal constant WINDOW = 1 days;
    address internal challenger = makeAddr("challenger");
    address internal watcher = makeAddr("watcher");
    ChallengeManager internal cm;
    uint96 internal bond;

    /// @dev A proved job, as a challenger sees it (the request, JobCommitted's trace root and
    ///      JobProved's result digest).
    struct Proved {
        Request r;
        uint256 jobId;
        uint256 traceRoot;
        uint256 resultDigest;
        uint64 payableAt;
    }

    function setUp() public override {
        super.setUp();
        cm = manager.challenges();
        bond = cm.bond();
        vm.startPrank(gov);
        token.mint(challenger, 1_000_000e18);
        token.mint(watcher, 1_000_000e18);
        vm.stopPrank();
        vm.prank(challenger);
        token.approve(address(cm), type(uint256).max);
        vm.prank(watcher);
        token.approve(address(cm), type(uint256).max);
    }

    // ------------------------------------------------------------ helpers

    function _proved() internal returns (Proved memory p) {
        Request memory r = request();
        r.challengeWindow = WINDOW;
        p = _proveRequest(r);
    }

    function _proveRequest(Request memory r) internal returns (Proved memory p) {
        p.r = r;
        p.jobId = lockedCommitted(r);
        toSeed(p.jobId);
        Submission memory s = submission(r);
        assertTrue(submit(s));
        p.traceRoot = s.commitment.traceRoot;
        p.resultDigest = hasher.resultDigest(r.newTokens, s.result);
        p.payableAt = uint64(block.timestamp) + r.challengeWindow;
    }

    function _challenge(Proved memory p, address who, uint256 element) internal {
        vm.prank(who);
        cm.challenge(p.r, p.traceRoot, p.resultDigest, element);
    }

    function _proof(Proved memory p, uint256 element) internal view returns (uint256[8] memory) {
        return SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, element]);
    }

    function _answer(Proved memory p, uint256 element) internal {
        uint256[8] memory proof = _proof(p, element);
        vm.prank(provider);
        cm.answer(p.r, p.traceRoot, p.resultDigest, element, proof);
    }

    function _ids(uint256 id) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = id;
    }

    function _element(uint256 kind, uint256 op, uint256 row, uint256 col) internal pure returns (uint256) {
        return (kind << 96) | (op << 64) | (row << 32) | col;
    }

    // ------------------------------------------------------------ deployment and anchor

    function test_deployedByTheManager() public view {
        assertEq(address(cm.manager()), address(manager));
        assertEq(address(cm.token()), address(token));
        assertEq(address(cm.classes()), address(classes));
        assertEq(cm.owner(), gov);
        assertEq(bond, cm.INITIAL_BOND());
    }

    function test_provedJobStoresTheAnchor_clearedWhenPaid() public {
        Proved memory p = _proved();
        Job memory j = manager.getJob(p.jobId);
        assertEq(uint256(j.state), uint256(JobState.Proved));
        assertEq(bytes32(j.seed), cm.anchorOf(p.traceRoot, p.resultDigest));
        assertEq(bytes32(j.seed), keccak256(abi.encode(p.traceRoot, p.resultDigest)));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, p.jobId, JobState.Proved));
        manager.seedOf(p.jobId);
        vm.warp(p.payableAt + 1);
        assertEq(manager.finalize(_ids(p.jobId)), 1);
        j = manager.getJob(p.jobId);
        assertEq(j.seed, 0);
        assertEq(j.flags, 0);
    }

    // ------------------------------------------------------------ challenge

    function test_challenge_opensAndEmits() public {
        Proved memory p = _proved();
        uint256 element = _element(0, 3, 1, 7);
        uint64 respondBy = uint64(block.timestamp) + p.r.proveWindow;
        uint256 before = token.balanceOf(challenger);
        vm.expectEmit(address(cm));
        emit ChallengeManager.ChallengeOpened(p.jobId, element, challenger, bond, respondBy);
        _challenge(p, challenger, element);
        Challenge memory c = cm.challengeOf(p.jobId, element);
        assertEq(c.challenger, challenger);
        assertEq(c.bond, bond);
        assertEq(c.respondBy, respondBy);
        assertEq(uint256(c.state), uint256(ChallengeState.Open));
        assertEq(cm.openCount(p.jobId), 1);
        assertEq(token.balanceOf(challenger), before - bond);
        assertEq(token.balanceOf(address(cm)), bond);
    }

    function test_challenge_takesTheBondFromTheBalanceFirst() public {
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        _answer(p, 1);
        // The provider's bond credit pays its own challenge of another job.
        Proved memory q = _proved();
        vm.prank(provider);
        token.approve(address(cm), 0);
        uint256 before = token.balanceOf(provider);
        _challenge(q, provider, 2);
        assertEq(cm.balanceOf(provider), 0);
        assertEq(token.balanceOf(provider), before);
        assertEq(token.balanceOf(address(cm)), bond);
    }

    function test_challenge_reverts() public {
        // Not proved: committed, and settled at once with a zero window.
        Request memory r = request();
        r.challengeWindow = WINDOW;
        uint256 committed = lockedCommitted(r);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, committed, JobState.Committed));
        cm.challenge(r, traceRootOf(committed), 0, 0);
        Request memory z = request();
        Proved memory settled = _proveRequest(z);
        assertEq(uint256(state(settled.jobId)), uint256(JobState.Settled));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, settled.jobId, JobState.Settled));
        cm.challenge(z, settled.traceRoot, settled.resultDigest, 0);

        Proved memory p = _proved();
        bytes32 anchor = cm.anchorOf(p.traceRoot, p.resultDigest);
        vm.startPrank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChallengeManager.AnchorMismatch.selector, p.jobId, cm.anchorOf(p.traceRoot ^ 1, p.resultDigest), anchor
            )
        );
        cm.challenge(p.r, p.traceRoot ^ 1, p.resultDigest, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChallengeManager.AnchorMismatch.selector, p.jobId, cm.anchorOf(p.traceRoot, p.resultDigest ^ 1), anchor
            )
        );
        cm.challenge(p.r, p.traceRoot, p.resultDigest ^ 1, 0);
        uint256[5] memory bad = [
            uint256(1) << 99,
            uint256(3) << 96,
            _element(1, 1, 0, 0),
            _element(2, 0, 5, 1),
            type(uint256).max
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ChallengeManager.BadElement.selector, bad[i]));
            cm.challenge(p.r, p.traceRoot, p.resultDigest, bad[i]);
        }
        cm.challenge(p.r, p.traceRoot, p.resultDigest, 5);
        vm.stopPrank();
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.AlreadyChallenged.selector, p.jobId, 5));
        cm.challenge(p.r, p.traceRoot, p.resultDigest, 5);
        // Still open at payableAt, closed after it.
        vm.warp(p.payableAt);
        _challenge(p, watcher, 6);
        vm.warp(p.payableAt + 1);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.ChallengeClosed.selector, p.jobId, p.payableAt));
        cm.challenge(p.r, p.traceRoot, p.resultDigest, 7);
    }

    function test_checkElement_canonical() public view {
        cm.checkElement(0);
        cm.checkElement(_element(0, type(uint32).max, type(uint32).max, type(uint32).max));
        cm.checkElement(_element(1, 0, type(uint32).max, 0));
        cm.checkElement(_element(2, 0, 12, 0));
    }

    function testFuzz_checkElement(uint256 element) public view {
        uint256 kind = element >> 96;
        bool opZero = ((element >> 64) & type(uint32).max) == 0;
        bool rowZero = ((element >> 32) & type(uint32).max) == 0;
        bool colZero = (element & type(uint32).max) == 0;
        // Element kinds 0-2 (1 and 2 name a row only), data kinds 4 (a tensor), 5 (a row of
        // it), 6 (a column of it); 3 and 7 are none.
        bool canonical = element < (1 << 99)
            && (kind == 0 || (kind <= 2 && opZero && colZero) || (kind == 4 && rowZero && colZero)
                || (kind == 5 && colZero) || (kind == 6 && rowZero));
        try cm.checkElement(element) {
            assertTrue(canonical, "a non-canonical element passed");
        } catch (bytes memory reason) {
            assertFalse(canonical, "a canonical element was refused");
            assertEq(reason, abi.encodeWithSelector(ChallengeManager.BadElement.selector, element));
        }
    }

    /// @dev The same check over structured words: every kind 0-7, fields zeroed at random.
    function testFuzz_checkElement_fields(uint8 kind, uint32 op, uint32 row, uint32 col, uint8 zero) public view {
        if (zero & 1 != 0) op = 0;
        if (zero & 2 != 0) row = 0;
        if (zero & 4 != 0) col = 0;
        testFuzz_checkElement(_element(kind % 8, op, row, col));
    }

    // ------------------------------------------------------------ answer

    function test_answer_paysTheBondToTheProvider() public {
        Proved memory p = _proved();
        uint256 element = _element(2, 0, 3, 0);
        _challenge(p, challenger, element);
        uint256[8] memory proof = _proof(p, element);
        vm.expectEmit(address(cm));
        emit ChallengeManager.ChallengeAnswered(p.jobId, element, provider, bond);
        // Anyone may send the answer: the proof is what counts.
        vm.prank(keeper);
        cm.answer(p.r, p.traceRoot, p.resultDigest, element, proof);
        assertEq(uint256(cm.challengeOf(p.jobId, element).state), uint256(ChallengeState.Answered));
        assertEq(cm.openCount(p.jobId), 0);
        assertEq(cm.balanceOf(provider), bond);
        assertEq(cm.balanceOf(challenger), 0);
        vm.prank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, element, ChallengeState.Answered)
        );
        cm.answer(p.r, p.traceRoot, p.resultDigest, element, proof);
    }

    function test_answer_reverts() public {
        Proved memory p = _proved();
        uint256 element = 9;
        uint256[8] memory proof = _proof(p, element);
        vm.startPrank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, element, ChallengeState.None)
        );
        cm.answer(p.r, p.traceRoot, p.resultDigest, element, proof);
        vm.stopPrank();
        _challenge(p, challenger, element);
        vm.startPrank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChallengeManager.AnchorMismatch.selector,
                p.jobId,
                cm.anchorOf(p.traceRoot, p.resultDigest + 1),
                cm.anchorOf(p.traceRoot, p.resultDigest)
            )
        );
        cm.answer(p.r, p.traceRoot, p.resultDigest + 1, element, proof);
        // A proof of another element, of the universal statement, or garbage: nothing changes.
        uint256[8][3] memory wrong;
        wrong[0] = _proof(p, element + 1);
        wrong[1] = SyntheticGroth16.prove([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, element]);
        wrong[2] = proof;
        wrong[2][0] ^= 1;
        for (uint256 i = 0; i < 3; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ChallengeManager.InvalidAnswer.selector, p.jobId, element));
            cm.answer(p.r, p.traceRoot, p.resultDigest, element, wrong[i]);
        }
        assertEq(uint256(cm.challengeOf(p.jobId, element).state), uint256(ChallengeState.Open));
        uint64 respondBy = cm.challengeOf(p.jobId, element).respondBy;
        vm.warp(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.DeadlinePassed.selector, p.jobId, respondBy));
        cm.answer(p.r, p.traceRoot, p.resultDigest, element, proof);
        vm.stopPrank();
    }

    function test_answer_atRespondByIsInTime() public {
        Proved memory p = _proved();
        _challenge(p, challenger, 4);
        vm.warp(cm.challengeOf(p.jobId, 4).respondBy);
        _answer(p, 4);
        assertEq(uint256(cm.challengeOf(p.jobId, 4).state), uint256(ChallengeState.Answered));
    }

    /// @notice A reverting targeted verifier is no answer: the call reverts, nothing concluded.
    function test_answer_verifierRevertIsNoAnswer() public {
        vm.prank(gov);
        // The result hasher has no verifyProof: every call to it reverts.
        bytes32 other = classes.registerClass("reverting-targeted", address(verifier), address(hasher), 1);
        Request memory r = request();
        r.classId = other;
        r.challengeWindow = WINDOW;
        Proved memory p = _proveRequest(r);
        _challenge(p, challenger, 1);
        uint256[8] memory proof = _proof(p, 1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.VerifierFailed.selector, p.jobId));
        cm.answer(p.r, p.traceRoot, p.resultDigest, 1, proof);
    }

    // ------------------------------------------------------------ finalize while challenged

    /// @notice The honest provider answers every challenge and is paid after the window, with
    ///         every bond.
    function test_honestProvider_answersEveryChallenge_andIsPaid() public {
        Proved memory p = _proved();
        uint256[4] memory elements = [uint256(0), _element(0, 7, 2, 3), _element(1, 0, 1, 0), _element(2, 0, 47, 0)];
        for (uint256 i = 0; i < elements.length; ++i) {
            _challenge(p, i % 2 == 0 ? challenger : watcher, elements[i]);
        }
        // Out of range is still canonical, and the honest trace answers it.
        uint256 far = _element(0, type(uint32).max, type(uint32).max, type(uint32).max);
        _challenge(p, watcher, far);
        assertEq(cm.openCount(p.jobId), 5);
        for (uint256 i = 0; i < elements.length; ++i) {
            _answer(p, elements[i]);
        }
        _answer(p, far);
        // The last challenge comes at the end of the window: its answer is due a proveWindow later.
        vm.warp(p.payableAt);
        uint256 late = _element(1, 0, 2, 0);
        _challenge(p, challenger, late);
        vm.warp(p.payableAt + 1);
        assertEq(manager.finalize(_ids(p.jobId)), 0, "paid with open challenges");
        assertEq(uint256(state(p.jobId)), uint256(JobState.Proved));
        _answer(p, late);
        uint256 free = providers.providerOf(provider).free;
        assertEq(manager.finalize(_ids(p.jobId)), 1);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Settled));
        assertEq(manager.balanceOf(provider), PRICE);
        assertEq(cm.balanceOf(provider), 6 * uint256(bond));
        assertEq(providers.providerOf(provider).free, free + stakeOf(p.jobId));
        uint256 before = token.balanceOf(provider);
        vm.expectEmit(address(cm));
        emit ChallengeManager.Withdrawn(provider, provider, 6 * uint256(bond));
        vm.prank(provider);
        cm.withdraw();
        assertEq(token.balanceOf(provider), before + 6 * uint256(bond));
        assertEq(token.balanceOf(address(cm)), 0);
    }

    /// @notice Neither withdrawal nor unbonding frees the stake of a challenged job.
    function test_challengedStakeStaysReserved() public {
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        uint256 stake = stakeOf(p.jobId);
        assertEq(providers.providerOf(provider).reserved, stake);
        uint256 free = providers.providerOf(provider).free;
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.InsufficientFreeStake.selector, provider, free, free + 1)
        );
        providers.requestUnbond(free + 1);
        vm.warp(p.payableAt + 1);
        assertEq(manager.finalize(_ids(p.jobId)), 0);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Proved));
        assertEq(providers.providerOf(provider).reserved, stake);
    }

    // ------------------------------------------------------------ enforce

    function test_enforce_slashesWithExactBalances() public {
        Proved memory p = _proved();
        uint256 stake = stakeOf(p.jobId);
        uint256 element = _element(0, 2, 0, 0);
        _challenge(p, challenger, element);
        Challenge memory c = cm.challengeOf(p.jobId, element);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.DeadlineNotPassed.selector, p.jobId, c.respondBy));
        cm.enforce(p.r, element);
        vm.warp(c.respondBy + 1);
        uint256 bounty = stake * manager.getJob(p.jobId).bountyBps / 10_000;
        assertGt(bounty, 0);
        uint256 buyerBefore = manager.balanceOf(buyer);
        uint256 govBefore = manager.balanceOf(gov) + cm.balanceOf(gov) + token.balanceOf(gov);
        uint256 stakedBefore = providers.totalStaked();
        vm.expectEmit(address(cm));
        emit ChallengeManager.ChallengeUpheld(p.jobId, element, challenger, bond);
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(p.jobId, provider, challenger, stake, bounty);
        // Anyone may enforce: the bounty goes to the challenger.
        vm.prank(keeper);
        cm.enforce(p.r, element);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Slashed));
        assertEq(manager.getJob(p.jobId).seed, 0);
        assertEq(uint256(cm.challengeOf(p.jobId, element).state), uint256(ChallengeState.Upheld));
        assertEq(cm.openCount(p.jobId), 0);
        assertEq(manager.balanceOf(buyer), buyerBefore + PRICE + stake - bounty);
        assertEq(manager.balanceOf(challenger), bounty);
        assertEq(cm.balanceOf(challenger), bond);
        assertEq(manager.balanceOf(provider), 0);
        assertEq(cm.balanceOf(provider), 0);
        assertEq(manager.balanceOf(keeper), 0);
        assertEq(providers.providerOf(provider).reserved, 0);
        assertEq(providers.totalStaked(), stakedBefore - stake);
        assertEq(manager.balanceOf(gov) + cm.balanceOf(gov) + token.balanceOf(gov), govBefore);
        uint256 before = token.balanceOf(challenger);
        vm.startPrank(challenger);
        manager.withdraw();
        cm.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(challenger), before + bounty + bond);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, p.jobId, JobState.Slashed));
        cm.enforce(p.r, element);
    }

    function test_enforce_notOpen() public {
        Proved memory p = _proved();
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, 3, ChallengeState.None));
        cm.enforce(p.r, 3);
        _challenge(p, challenger, 3);
        _answer(p, 3);
        vm.warp(block.timestamp + 2 * PROVE);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, 3, ChallengeState.Answered)
        );
        cm.enforce(p.r, 3);
    }

    // ------------------------------------------------------------ reclaim

    /// @notice A flood of challenges opened in one block gets deadlines one proveWindow apart:
    ///         a provider answering in deadline order proves one element per window and loses
    ///         nothing, however many arrive at once (review finding: N deadlines in one window
    ///         would slash an honest provider that cannot prove N times that fast).
    function test_flood_answersDueOneProveWindowApart() public {
        Proved memory p = _proved();
        uint64 t0 = uint64(block.timestamp);
        uint256 n = 5;
        for (uint256 k = 0; k < n; ++k) {
            _challenge(p, challenger, k + 1);
            assertEq(cm.challengeOf(p.jobId, k + 1).respondBy, t0 + uint64(k + 1) * p.r.proveWindow);
        }
        for (uint256 k = 0; k < n; ++k) {
            uint64 due = cm.challengeOf(p.jobId, k + 1).respondBy;
            // Nobody may enforce the next one while the provider still has its window for it.
            if (k + 1 < n) {
                uint64 next = cm.challengeOf(p.jobId, k + 2).respondBy;
                vm.expectRevert(abi.encodeWithSelector(ChallengeManager.DeadlineNotPassed.selector, p.jobId, next));
                cm.enforce(p.r, k + 2);
            }
            vm.warp(due); // the provider answers at the last moment of each window
            _answer(p, k + 1);
        }
        assertEq(cm.openCount(p.jobId), 0);
        assertEq(cm.balanceOf(provider), n * uint256(bond));
        // A challenge opened later starts after the last deadline given, not before it.
        vm.warp(p.payableAt);
        uint64 last = t0 + uint64(n) * p.r.proveWindow;
        _challenge(p, watcher, 99);
        uint64 start = last > uint64(block.timestamp) ? last : uint64(block.timestamp);
        assertEq(cm.challengeOf(p.jobId, 99).respondBy, start + p.r.proveWindow);
    }

    /// @notice Several challenges on one job: one upheld while others are open; the others
    ///         reclaim their bonds, and nothing can answer or enforce them any more.
    function test_oneUpheld_othersReclaim() public {
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        vm.warp(block.timestamp + 10);
        _challenge(p, watcher, 2);
        _challenge(p, watcher, 3);
        _answer(p, 3);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.JobStillProved.selector, p.jobId));
        cm.reclaim(p.r, 2);
        vm.warp(cm.challengeOf(p.jobId, 1).respondBy + 1);
        cm.enforce(p.r, 1);
        assertEq(cm.openCount(p.jobId), 1);
        uint256[8] memory proof = _proof(p, 2);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, p.jobId, JobState.Slashed));
        cm.answer(p.r, p.traceRoot, p.resultDigest, 2, proof);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, p.jobId, JobState.Slashed));
        cm.enforce(p.r, 2);
        vm.expectEmit(address(cm));
        emit ChallengeManager.ChallengeVoided(p.jobId, 2, watcher, bond);
        vm.prank(keeper);
        cm.reclaim(p.r, 2);
        assertEq(uint256(cm.challengeOf(p.jobId, 2).state), uint256(ChallengeState.Voided));
        assertEq(cm.openCount(p.jobId), 0);
        assertEq(cm.balanceOf(watcher), bond);
        assertEq(cm.balanceOf(provider), bond);
        assertEq(cm.balanceOf(challenger), bond);
        assertEq(token.balanceOf(address(cm)), 3 * uint256(bond));
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, 2, ChallengeState.Voided)
        );
        cm.reclaim(p.r, 2);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, 3, ChallengeState.Answered));
        cm.reclaim(p.r, 3);
    }

    // ------------------------------------------------------------ batch-settled jobs

    function test_batchSettledJob_isChallengeable() public {
        Request memory a = request();
        a.challengeWindow = WINDOW;
        Request memory b = request();
        b.challengeWindow = WINDOW;
        uint256 ia = lockedCommitted(a);
        uint256 ib = lockedCommitted(b);
        toSeed(ia);
        Submission[] memory subs = new Submission[](2);
        subs[0] = submission(a);
        subs[1] = submission(b);
        vm.prank(provider);
        (uint256 proved,) = manager.submitBatch(subs);
        assertEq(proved, 2);
        Proved memory p = Proved({
            r: b,
            jobId: ib,
            traceRoot: subs[1].commitment.traceRoot,
            resultDigest: hasher.resultDigest(b.newTokens, subs[1].result),
            payableAt: uint64(block.timestamp) + WINDOW
        });
        vm.warp(p.payableAt);
        _challenge(p, challenger, 11);
        vm.warp(p.payableAt + 1);
        assertEq(manager.finalize(_ids(ia)), 1);
        assertEq(manager.finalize(_ids(ib)), 0);
        _answer(p, 11);
        assertEq(manager.finalize(_ids(ib)), 1);
    }

    // ------------------------------------------------------------ manager side

    function test_slashChallenged_onlyTheChallengeManager() public {
        Proved memory p = _proved();
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, buyer, address(cm)));
        manager.slashChallenged(p.jobId, buyer, buyer);
        vm.prank(address(cm));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, p.jobId + 1, JobState.None));
        manager.slashChallenged(p.jobId + 1, buyer, challenger);
    }

    // ------------------------------------------------------------ balances and governance

    function test_withdraw() public {
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.NothingToWithdraw.selector, challenger));
        vm.prank(challenger);
        cm.withdraw();
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        _answer(p, 1);
        vm.prank(provider);
        vm.expectRevert(ChallengeManager.ZeroValue.selector);
        cm.withdrawTo(address(0));
        vm.expectEmit(address(cm));
        emit ChallengeManager.Withdrawn(provider, keeper, bond);
        vm.prank(provider);
        cm.withdrawTo(keeper);
        assertEq(token.balanceOf(keeper), bond);
        assertEq(cm.balanceOf(provider), 0);
    }

    function test_setBond() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        cm.setBond(1);
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.BadParameter.selector, 0));
        cm.setBond(0);
        vm.stopPrank();
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        vm.expectEmit(address(cm));
        emit ChallengeManager.BondSet(3e18);
        vm.prank(gov);
        cm.setBond(3e18);
        assertEq(cm.bond(), 3e18);
        _challenge(p, challenger, 2);
        assertEq(cm.challengeOf(p.jobId, 1).bond, bond, "an open challenge keeps its bond");
        assertEq(cm.challengeOf(p.jobId, 2).bond, 3e18);
        _answer(p, 1);
        assertEq(cm.balanceOf(provider), bond);
    }

    function test_ownable2Step() public {
        address next = makeAddr("next");
        vm.prank(gov);
        cm.transferOwnership(next);
        assertEq(cm.owner(), gov);
        vm.prank(next);
        cm.acceptOwnership();
        assertEq(cm.owner(), next);
    }

    // ------------------------------------------------------------ hostile tokens

    /// @dev The fixture's stack again on token `t` (minted by the caller), with the provider
    ///      registered and the challenger approved: the fixture's helpers then run against it.
    function _stackOn(IERC20 t) internal {
        ProviderRegistry reg = new ProviderRegistry(t, UNBONDING, gov);
        SLAManager m = new SLAManager(t, reg, classes, hasher, gov);
        vm.prank(gov);
        reg.setManager(address(m));
        manager = m;
        providers = reg;
        cm = m.challenges();
        vm.prank(buyer);
        t.approve(address(m), type(uint256).max);
        vm.startPrank(provider);
        t.approve(address(reg), type(uint256).max);
        reg.register(nodeKey, 1_000_000e18);
        vm.stopPrank();
        vm.prank(challenger);
        t.approve(address(cm), type(uint256).max);
    }

    /// @notice A bond token that delivers less than it was asked to is refused: the
    ///         ChallengeManager never credits more than it holds.
    function test_challenge_rejectsFeeOnTransfer() public {
        SwitchableFeeToken t = new SwitchableFeeToken();
        t.mint(buyer, 10_000e18);
        t.mint(provider, 1_000_000e18);
        t.mint(challenger, 1_000e18);
        _stackOn(IERC20(address(t)));
        Proved memory p = _proved();
        t.setFeeBps(100);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.TransferAmountMismatch.selector, bond, uint256(bond) * 99 / 100)
        );
        cm.challenge(p.r, p.traceRoot, p.resultDigest, 1);
        assertEq(t.balanceOf(address(cm)), 0);
        assertEq(cm.openCount(p.jobId), 0);
    }

    /// @notice A token that calls back into the ChallengeManager while it pays a withdrawal
    ///         cannot withdraw twice.
    function test_withdraw_reentrancyBlocked() public {
        ReentrantToken t = new ReentrantToken();
        t.mint(buyer, 10_000e18);
        t.mint(provider, 1_000_000e18);
        t.mint(challenger, 1_000e18);
        _stackOn(IERC20(address(t)));
        Proved memory p = _proved();
        _challenge(p, challenger, 1);
        _challenge(p, challenger, 2);
        _answer(p, 1);
        t.arm(address(cm), abi.encodeCall(ChallengeManager.withdraw, ()));
        uint256 before = t.balanceOf(provider);
        vm.prank(provider);
        cm.withdraw();
        assertEq(t.attempts(), 1);
        assertFalse(t.lastCallSucceeded());
        assertEq(t.lastRevertData(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector));
        assertEq(t.balanceOf(provider), before + bond);
        assertEq(t.balanceOf(address(cm)), bond, "the open bond stays");
    }
}
