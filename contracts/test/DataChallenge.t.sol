// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ReentrantToken} from "./mocks/MaliciousTokens.sol";
import {Fixture} from "./helpers/Fixture.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";
import {TraceTree} from "./helpers/TraceTree.sol";
import {TraceOpeningVectors} from "./helpers/TraceOpeningVectors.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ChallengeManager, Challenge, ChallengeState} from "../src/ChallengeManager.sol";
import {Poseidon2} from "../src/libraries/Poseidon2.sol";
import {Request} from "../src/types/Request.sol";
import {JobState, Submission} from "../src/types/Settlement.sol";
import {TraceOpening} from "../src/types/TraceOpening.sol";

/// @notice Data challenges (specs/settlement.md §10, data availability): kinds 4 (a tensor's
///         leaf), 5 (a row) and 6 (a column) of a job's committed trace tree, answered with the
///         node's opening (answerData), upheld like element challenges when unanswered, and the
///         window they keep open (dataUntil). Trees are built here with TraceTree (the spec's
///         commitment, trace.md §5), and the Go reference's openings of a real job's trace
///         (testdata/vectors/trace_opening.json) are checked against the contract.
contract DataChallengeTest is Fixture {
    using TraceTree for TraceTree.Trace;

    uint32 internal constant WINDOW = 1 days;
    /// @dev The sample trace: T = 5 rows (row depth 3, three missing leaves), 5 tensors (trace
    ///      depth 3), tensor 3 committed by columns too (a [2, 5] tree, depth 1).
    uint32 internal constant T = 5;
    uint32 internal constant N = 5;
    uint256 internal constant COLS = 3;

    address internal challenger = makeAddr("challenger");
    ChallengeManager internal cm;
    uint96 internal bond;

    struct Proved {
        Request r;
        uint256 jobId;
        uint256 traceRoot;
        uint256 resultDigest;
        uint64 payableAt;
        TraceTree.Trace trace;
    }

    function setUp() public override {
        super.setUp();
        cm = manager.challenges();
        bond = cm.bond();
        vm.prank(gov);
        token.mint(challenger, 1_000_000e18);
        vm.prank(challenger);
        token.approve(address(cm), type(uint256).max);
    }

    // ------------------------------------------------------------ helpers

    function _el(uint256 kind, uint256 op, uint256 row, uint256 col) internal pure returns (uint256) {
        return TraceTree.element(kind, op, row, col);
    }

    /// @dev A windowed job whose provider committed `root` for `r` and proved it.
    function _proveWith(Request memory r, uint256 root) internal returns (uint256 jobId, uint256 rd, uint64 payableAt) {
        jobId = lockSigned(r);
        (, uint256 st) = manager.holderOf(jobId);
        stakes[jobId] = uint96(st);
        vm.prank(provider);
        manager.commit(jobId, root, attestationOf(jobId));
        toSeed(jobId);
        Submission memory s = submission(r);
        s.commitment.traceRoot = root;
        rd = hasher.resultDigest(r.newTokens, s.result);
        s.proof = SyntheticGroth16.prove([r.modelRoot, r.jobDigest, root, rd, manager.seedOf(jobId)]);
        assertTrue(submit(s));
        payableAt = uint64(block.timestamp) + r.challengeWindow;
    }

    /// @dev A proved windowed job whose committed trace is the sample trace of its job digest.
    function _proved() internal returns (Proved memory p) {
        p.r = request();
        p.r.challengeWindow = WINDOW;
        p.trace = TraceTree.sample(p.r.jobDigest, T, N, COLS);
        p.traceRoot = p.trace.rootOf();
        (p.jobId, p.resultDigest, p.payableAt) = _proveWith(p.r, p.traceRoot);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Proved));
    }

    function _challenge(Proved memory p, uint256 element) internal {
        vm.prank(challenger);
        cm.challenge(p.r, p.traceRoot, p.resultDigest, element);
    }

    function _answerData(Proved memory p, uint256 element, TraceOpening memory o) internal {
        vm.prank(keeper);
        cm.answerData(p.r, p.traceRoot, p.resultDigest, element, o);
    }

    function _ids(uint256 id) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = id;
    }

    function _copy(TraceOpening memory o) internal pure returns (TraceOpening memory c) {
        (c.rows, c.tensors, c.depth, c.tensorRoot, c.rowRoot, c.colRoot) =
        (o.rows, o.tensors, o.depth, o.tensorRoot, o.rowRoot, o.colRoot);
        (c.treeKind, c.treeRows, c.treeCols, c.treeDepth, c.treeRoot) =
        (o.treeKind, o.treeRows, o.treeCols, o.treeDepth, o.treeRoot);
        c.tensorPath = new uint256[](o.tensorPath.length);
        for (uint256 i = 0; i < o.tensorPath.length; ++i) {
            c.tensorPath[i] = o.tensorPath[i];
        }
        c.leaf = new uint256[](o.leaf.length);
        for (uint256 i = 0; i < o.leaf.length; ++i) {
            c.leaf[i] = o.leaf[i];
        }
        c.path = new uint256[](o.path.length);
        for (uint256 i = 0; i < o.path.length; ++i) {
            c.path[i] = o.path[i];
        }
    }

    function _grow(uint256[] memory a) internal pure returns (uint256[] memory b) {
        b = new uint256[](a.length + 1);
        for (uint256 i = 0; i < a.length; ++i) {
            b[i] = a[i];
        }
        b[a.length] = a.length == 0 ? 1 : a[0];
    }

    function _shrink(uint256[] memory a) internal pure returns (uint256[] memory b) {
        b = new uint256[](a.length - 1);
        for (uint256 i = 0; i < b.length; ++i) {
            b[i] = a[i];
        }
    }

    /// @dev The honest opening with field `f` tampered (f in 0..19), and whether f applies to
    ///      an opening of this element (a field a vacuous or tensor opening does not read
    ///      cannot be tampered with effect).
    function _tamper(TraceOpening memory honest, uint256 f) internal pure returns (TraceOpening memory o) {
        o = _copy(honest);
        if (f == 0) o.rows += 1;
        else if (f == 1) o.tensors -= 1;
        else if (f == 2) o.depth += 1;
        else if (f == 3) o.tensorRoot ^= 1;
        else if (f == 4) o.rowRoot ^= 1;
        else if (f == 5) o.colRoot = o.colRoot == 0 ? 1 : 0;
        else if (f == 6) o.tensorPath[0] ^= 1;
        else if (f == 7) o.tensorPath[o.tensorPath.length - 1] ^= 1;
        else if (f == 8) o.tensorPath = _shrink(o.tensorPath);
        else if (f == 9) o.tensorPath = _grow(o.tensorPath);
        else if (f == 10) o.treeKind ^= 1;
        else if (f == 11) o.treeRows -= 1;
        else if (f == 12) o.treeCols += 1;
        else if (f == 13) o.treeDepth += 1;
        else if (f == 14) o.treeRoot ^= 1;
        else if (f == 15) o.leaf[0] ^= 1;
        else if (f == 16) o.leaf = _grow(o.leaf);
        else if (f == 17) o.leaf = _shrink(o.leaf);
        else if (f == 18) o.path[0] ^= 1;
        else if (f == 19) o.path = _shrink(o.path);
        else o.path = _grow(o.path);
    }

    uint256 internal constant TAMPERS = 21;

    // ------------------------------------------------------------ elements

    function test_checkElement_dataKinds() public view {
        uint256 m = type(uint32).max;
        cm.checkElement(_el(4, 0, 0, 0));
        cm.checkElement(_el(4, m, 0, 0));
        cm.checkElement(_el(5, 3, m, 0));
        cm.checkElement(_el(6, m, 0, m));
        assertEq(cm.ELEMENT_BOUND(), uint256(1) << 99);
        assertEq(cm.MAX_KIND(), 6);
        assertEq(cm.FIRST_DATA_KIND(), 4);
        uint256[10] memory bad = [
            _el(3, 0, 0, 0),
            _el(7, 0, 0, 0),
            _el(7, m, m, m),
            _el(4, 0, 1, 0),
            _el(4, 0, 0, 1),
            _el(5, 0, 1, 1),
            _el(6, 0, 1, 1),
            uint256(1) << 99,
            (uint256(1) << 99) | _el(4, 0, 0, 0),
            type(uint256).max
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            try cm.checkElement(bad[i]) {
                revert("a non-canonical element passed");
            } catch (bytes memory reason) {
                assertEq(reason, abi.encodeWithSelector(ChallengeManager.BadElement.selector, bad[i]));
            }
        }
    }

    function test_challenge_refusesNonCanonicalData() public {
        Proved memory p = _proved();
        uint256[4] memory bad = [_el(3, 1, 0, 0), _el(7, 0, 0, 0), _el(5, 1, 1, 1), _el(6, 1, 1, 1)];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.prank(challenger);
            vm.expectRevert(abi.encodeWithSelector(ChallengeManager.BadElement.selector, bad[i]));
            cm.challenge(p.r, p.traceRoot, p.resultDigest, bad[i]);
        }
        _challenge(p, _el(5, 1, 1, 0));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.AlreadyChallenged.selector, p.jobId, _el(5, 1, 1, 0)));
        cm.challenge(p.r, p.traceRoot, p.resultDigest, _el(5, 1, 1, 0));
    }

    // ------------------------------------------------------------ answerData

    /// @notice Every kind and every vacuity branch opens, with the bond to the provider, the
    ///         opening emitted and the window held one proveWindow.
    function test_answerData_everyKindAndBranch() public {
        Proved memory p = _proved();
        uint256[14] memory els = [
            _el(4, 0, 0, 0), // the input ids' leaf
            _el(4, 3, 0, 0), // a tensor with a column tree
            _el(4, N - 1, 0, 0), // the last tensor
            _el(5, 0, 2, 0), // an I32 row
            _el(5, 1, 0, 0), // row 0
            _el(5, N - 1, T - 1, 0), // the last row of the last tensor
            _el(6, COLS, 0, 0), // column 0
            _el(6, COLS, 0, 1), // column 1 (the last)
            _el(4, N, 0, 0), // vacuous: tensor L + 1
            _el(5, type(uint32).max, 7, 0), // vacuous: a row of tensor 2^32 - 1
            _el(5, 2, T, 0), // vacuous: row T
            _el(5, 2, type(uint32).max, 0), // vacuous: row 2^32 - 1
            _el(6, 1, 0, 0), // vacuous: a tensor without a column tree
            _el(6, COLS, 0, 2) // vacuous: a column past the width
        ];
        for (uint256 i = 0; i < els.length; ++i) {
            _challenge(p, els[i]);
        }
        assertEq(cm.openCount(p.jobId), els.length);
        for (uint256 i = 0; i < els.length; ++i) {
            TraceOpening memory o = p.trace.open(els[i]);
            assertTrue(cm.isOpening(p.r.jobDigest, p.traceRoot, els[i], o), "isOpening");
            vm.expectEmit(address(cm));
            emit ChallengeManager.ChallengeAnswered(p.jobId, els[i], provider, bond);
            vm.expectEmit(address(cm));
            emit ChallengeManager.TraceOpened(p.jobId, els[i], o);
            _answerData(p, els[i], o);
            assertEq(uint256(cm.challengeOf(p.jobId, els[i]).state), uint256(ChallengeState.Answered));
            assertEq(cm.dataUntilOf(p.jobId), block.timestamp + p.r.proveWindow);
            vm.warp(block.timestamp + 1);
        }
        assertEq(cm.openCount(p.jobId), 0);
        // The bonds are held until the job's fate is known (release).
        assertEq(cm.balanceOf(provider), 0);
        assertEq(token.balanceOf(address(cm)), els.length * uint256(bond));
        assertEq(cm.challengeOf(p.jobId, els[0]).provider, provider);
        vm.prank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, els[0], ChallengeState.Answered)
        );
        cm.answerData(p.r, p.traceRoot, p.resultDigest, els[0], p.trace.open(els[0]));
    }

    /// @notice A vacuous answer needs only what the vacuity rests on: the other fields are not
    ///         read (an empty opening past the tensor count, no tree for a column).
    function test_answerData_vacuousReadsNothingElse() public {
        Proved memory p = _proved();
        TraceOpening memory o = p.trace.open(_el(4, N, 0, 0));
        o.rowRoot = 12345;
        o.leaf = new uint256[](3);
        o.path = new uint256[](9);
        assertTrue(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(5, N + 7, 1, 0), o));
        TraceOpening memory c = p.trace.open(_el(6, 1, 0, 3));
        c.treeRoot = 99;
        c.treeRows = 77;
        assertTrue(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(6, 1, 0, 3), c));
        // Only the trace root's preimage is read past the tensor count: a wrong one is refused.
        o.tensorRoot ^= 1;
        assertFalse(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(5, N + 7, 1, 0), o));
        // Another job's digest does not open this trace root.
        assertFalse(cm.isOpening(p.r.jobDigest + 1, p.traceRoot, _el(4, N, 0, 0), p.trace.open(_el(4, N, 0, 0))));
    }

    /// @notice Each field of an opening, tampered, is refused for every element whose check
    ///         reads it, and the refusal changes nothing.
    function test_answerData_refusesEveryTamperedField() public {
        Proved memory p = _proved();
        // (element, the first tamper index that no longer applies): a tensor reads fields
        // 0..9, a row or column 0..20; a column opening of a tensor with a column tree also.
        uint256[4] memory els = [_el(4, 2, 0, 0), _el(5, 1, 3, 0), _el(5, 0, 4, 0), _el(6, COLS, 0, 1)];
        uint256[4] memory reads = [uint256(10), TAMPERS, TAMPERS, TAMPERS];
        for (uint256 e = 0; e < els.length; ++e) {
            TraceOpening memory honest = p.trace.open(els[e]);
            assertTrue(cm.isOpening(p.r.jobDigest, p.traceRoot, els[e], honest));
            for (uint256 f = 0; f < reads[e]; ++f) {
                // Field 17 (a leaf word dropped) on a one-word leaf leaves an empty leaf: still wrong.
                TraceOpening memory o = _tamper(honest, f);
                assertFalse(
                    cm.isOpening(p.r.jobDigest, p.traceRoot, els[e], o),
                    string.concat("tampered field accepted: ", vm.toString(f), " of element ", vm.toString(e))
                );
            }
        }
        // Through answerData: InvalidOpening, and the challenge stays open, unpaid.
        uint256 el = els[1];
        _challenge(p, el);
        for (uint256 f = 0; f < TAMPERS; ++f) {
            TraceOpening memory o = _tamper(p.trace.open(el), f);
            vm.prank(keeper);
            vm.expectRevert(abi.encodeWithSelector(ChallengeManager.InvalidOpening.selector, p.jobId, el));
            cm.answerData(p.r, p.traceRoot, p.resultDigest, el, o);
        }
        assertEq(uint256(cm.challengeOf(p.jobId, el).state), uint256(ChallengeState.Open));
        assertEq(cm.balanceOf(provider), 0);
        assertEq(cm.dataUntilOf(p.jobId), 0);
        _answerData(p, el, p.trace.open(el));
    }

    /// @notice A vacuity that is claimed, not committed, is refused: a column tree claimed
    ///         absent, a tree with fewer rows, a trace with fewer tensors.
    function test_answerData_refusesClaimedVacuity() public {
        Proved memory p = _proved();
        TraceOpening memory o = p.trace.open(_el(6, COLS, 0, 1));
        o.colRoot = 0;
        assertFalse(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(6, COLS, 0, 1), o));
        o = p.trace.open(_el(5, 2, T - 1, 0));
        o.treeRows = T - 1;
        o.leaf = new uint256[](0);
        o.path = new uint256[](0);
        assertFalse(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(5, 2, T - 1, 0), o));
        o = p.trace.open(_el(4, N, 0, 0));
        o.tensors = N - 1;
        assertFalse(cm.isOpening(p.r.jobDigest, p.traceRoot, _el(4, N - 1, 0, 0), o));
    }

    /// @notice A walk consumes every bit of its index: a tree whose shape claims more rows
    ///         than its depth holds (which no honest commitment has) cannot open a row past
    ///         2^depth by a path to another leaf.
    function test_answerData_indexBeyondDepthRefused() public view {
        TraceTree.Trace memory tr = TraceTree.sample(0x77, 4, 2, 9);
        TraceTree.Tree memory tree = tr.tensors[1].rowTree; // 4 rows, depth 2
        tree.rows = 6; // the shape claims 6 rows over 4 leaves
        uint256 rowRoot = TraceTree.shapeRootOf(tree);
        uint256[] memory leaves = new uint256[](2);
        leaves[0] = TraceTree.tensorLeaf(0, TraceTree.rowRootOf(tr, 0), 0);
        leaves[1] = TraceTree.tensorLeaf(1, rowRoot, 0);
        uint256 tensorRoot = TraceTree.merkleRoot(leaves, 1);
        uint256 root = TraceTree.traceRoot(0x77, 4, 2, 1, tensorRoot);
        TraceOpening memory o;
        o.rows = 4;
        o.tensors = 2;
        o.depth = 1;
        o.tensorRoot = tensorRoot;
        o.rowRoot = rowRoot;
        o.tensorPath = TraceTree.merklePath(leaves, 1, 1);
        o.treeKind = tree.kind;
        o.treeRows = 6;
        o.treeCols = tree.cols;
        o.treeDepth = 2;
        o.treeRoot = TraceTree.rootOf(tree);
        o.leaf = tree.leaves[0];
        o.path = TraceTree.merklePath(TraceTree.leafNodes(tree), 2, 0);
        assertTrue(cm.isOpening(0x77, root, _el(5, 1, 0, 0), o), "row 0 opens");
        assertFalse(cm.isOpening(0x77, root, _el(5, 1, 4, 0), o), "row 4 opened by row 0's path");
    }

    /// @notice A word that is no field element reverts in the sponge (Poseidon2.NotFieldElement).
    function test_answerData_nonFieldWordReverts() public {
        Proved memory p = _proved();
        uint256 el = _el(5, 1, 1, 0);
        _challenge(p, el);
        TraceOpening memory o = _copy(p.trace.open(el));
        o.leaf[0] = R;
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, R));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, el, o);
        o = p.trace.open(el);
        o.path[1] = R + 5;
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, R + 5));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, el, o);
    }

    /// @notice A data challenge is answered by answerData only, an element challenge by answer
    ///         only.
    function test_answerKindMismatch() public {
        Proved memory p = _proved();
        uint256 data = _el(5, 1, 1, 0);
        uint256 elem = _el(0, 1, 1, 1);
        _challenge(p, data);
        _challenge(p, elem);
        uint256[8] memory proof =
            SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, data]);
        vm.startPrank(provider);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongAnswerKind.selector, data));
        cm.answer(p.r, p.traceRoot, p.resultDigest, data, proof);
        TraceOpening memory o = p.trace.open(_el(5, 1, 1, 0));
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongAnswerKind.selector, elem));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, elem, o);
        uint256 input = _el(1, 0, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongAnswerKind.selector, input));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, input, o);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongAnswerKind.selector, elem));
        cm.isOpening(p.r.jobDigest, p.traceRoot, elem, o);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.BadElement.selector, _el(7, 1, 1, 0)));
        cm.isOpening(p.r.jobDigest, p.traceRoot, _el(7, 1, 1, 0), o);
        assertEq(cm.openCount(p.jobId), 2);
        _answerData(p, data, o);
        vm.prank(provider);
        cm.answer(
            p.r,
            p.traceRoot,
            p.resultDigest,
            elem,
            SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, elem])
        );
        assertEq(cm.openCount(p.jobId), 0);
    }

    function test_answerData_reverts() public {
        Proved memory p = _proved();
        uint256 el = _el(4, 2, 0, 0);
        TraceOpening memory o = p.trace.open(el);
        vm.prank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.ChallengeNotOpen.selector, p.jobId, el, ChallengeState.None)
        );
        cm.answerData(p.r, p.traceRoot, p.resultDigest, el, o);
        _challenge(p, el);
        vm.prank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(
                ChallengeManager.AnchorMismatch.selector,
                p.jobId,
                cm.anchorOf(p.traceRoot, p.resultDigest ^ 1),
                cm.anchorOf(p.traceRoot, p.resultDigest)
            )
        );
        cm.answerData(p.r, p.traceRoot, p.resultDigest ^ 1, el, o);
        // The deadline: in time at respondBy, late after it.
        uint64 respondBy = cm.challengeOf(p.jobId, el).respondBy;
        assertEq(respondBy, block.timestamp + p.r.proveWindow);
        vm.warp(respondBy + 1);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.DeadlinePassed.selector, p.jobId, respondBy));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, el, o);
        Proved memory q = _proved();
        _challenge(q, el);
        vm.warp(cm.challengeOf(q.jobId, el).respondBy);
        _answerData(q, el, q.trace.open(el));
        // A job no longer Proved.
        Request memory z = request();
        (uint256 settled,,) = _proveWith(z, 7);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, settled, JobState.Settled));
        cm.answerData(z, 7, 0, el, o);
    }

    // ------------------------------------------------------------ enforce

    /// @notice An unanswered data challenge (a withheld trace) is upheld like an element one:
    ///         the job slashed, the bounty and the bond to the challenger.
    function test_enforce_unansweredDataChallengeSlashes() public {
        Proved memory p = _proved();
        uint256 stake = stakeOf(p.jobId);
        uint256 el = _el(5, 3, 2, 0);
        uint256 other = _el(4, 1, 0, 0);
        _challenge(p, el);
        _challenge(p, other);
        Challenge memory c = cm.challengeOf(p.jobId, el);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.DeadlineNotPassed.selector, p.jobId, c.respondBy));
        cm.enforce(p.r, el);
        vm.warp(c.respondBy + 1);
        uint256 bounty = stake * manager.getJob(p.jobId).bountyBps / 10_000;
        uint256 buyerBefore = manager.balanceOf(buyer);
        vm.expectEmit(address(cm));
        emit ChallengeManager.ChallengeUpheld(p.jobId, el, challenger, bond);
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(p.jobId, provider, challenger, stake, bounty);
        vm.prank(keeper);
        cm.enforce(p.r, el);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Slashed));
        assertEq(uint256(cm.challengeOf(p.jobId, el).state), uint256(ChallengeState.Upheld));
        assertEq(manager.balanceOf(buyer), buyerBefore + PRICE + stake - bounty);
        assertEq(manager.balanceOf(challenger), bounty);
        assertEq(cm.balanceOf(challenger), bond);
        // The other data challenge can no longer be answered; its bond is reclaimed.
        TraceOpening memory o = p.trace.open(other);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, p.jobId, JobState.Slashed));
        cm.answerData(p.r, p.traceRoot, p.resultDigest, other, o);
        cm.reclaim(p.r, other);
        assertEq(cm.balanceOf(challenger), 2 * uint256(bond));
        assertEq(cm.openCount(p.jobId), 0);
        assertFalse(cm.holds(p.jobId));
    }

    // ------------------------------------------------------------ release

    /// @dev Past the job's window: its payableAt and its dataUntil.
    function _pastWindow(Proved memory p) internal {
        uint64 until = cm.dataUntilOf(p.jobId);
        vm.warp((until > p.payableAt ? until : p.payableAt) + 1);
    }

    /// @dev A proved job with the data challenge `el` answered.
    function _answered(uint256 el) internal returns (Proved memory p) {
        p = _proved();
        _challenge(p, el);
        _answerData(p, el, p.trace.open(el));
    }

    /// @notice An answered data challenge's bond is held: release reverts while the job is
    ///         Proved, and goes to the provider once the job is Settled (whose holder no longer
    ///         names it: the challenge recorded it), once.
    function test_release_afterSettlementToProvider() public {
        uint256 el = _el(5, 1, 0, 0);
        Proved memory p = _answered(el);
        assertEq(cm.balanceOf(provider), 0);
        assertEq(cm.balanceOf(challenger), 0);
        assertEq(token.balanceOf(address(cm)), bond);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.JobStillProved.selector, p.jobId));
        cm.release(p.r, el);
        _pastWindow(p);
        assertEq(manager.finalize(_ids(p.jobId)), 1);
        assertEq(manager.getJob(p.jobId).holder, bytes32(0), "a Settled job's holder is cleared");
        vm.expectEmit(address(cm));
        emit ChallengeManager.DataBondReleased(p.jobId, el, provider, bond);
        vm.prank(keeper);
        cm.release(p.r, el);
        assertEq(uint256(cm.challengeOf(p.jobId, el).state), uint256(ChallengeState.Released));
        assertEq(cm.balanceOf(provider), bond);
        assertEq(cm.balanceOf(keeper), 0);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, el, ChallengeState.Released)
        );
        cm.release(p.r, el);
        vm.prank(provider);
        cm.withdraw();
        assertEq(token.balanceOf(address(cm)), 0);
    }

    /// @notice A job slashed by an upheld element challenge gives the answered data bonds back
    ///         to their challengers: the watcher's search costs it nothing.
    function test_release_afterElementSlashToChallenger() public {
        uint256 el = _el(4, 2, 0, 0);
        Proved memory p = _answered(el);
        address other = makeAddr("other watcher");
        vm.prank(gov);
        token.mint(other, bond);
        vm.prank(other);
        token.approve(address(cm), bond);
        uint256 el2 = _el(6, COLS, 0, 1);
        vm.prank(other);
        cm.challenge(p.r, p.traceRoot, p.resultDigest, el2);
        _answerData(p, el2, p.trace.open(el2));
        uint256 e = _el(0, 1, 2, 0);
        _challenge(p, e);
        vm.warp(cm.challengeOf(p.jobId, e).respondBy + 1);
        cm.enforce(p.r, e);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Slashed));
        assertEq(cm.balanceOf(challenger), bond, "the upheld bond");
        vm.expectEmit(address(cm));
        emit ChallengeManager.DataBondReleased(p.jobId, el, challenger, bond);
        cm.release(p.r, el);
        vm.expectEmit(address(cm));
        emit ChallengeManager.DataBondReleased(p.jobId, el2, other, bond);
        cm.release(p.r, el2);
        assertEq(cm.balanceOf(challenger), 2 * uint256(bond));
        assertEq(cm.balanceOf(other), bond);
        assertEq(cm.balanceOf(provider), 0);
        // The upheld element challenge holds nothing to release.
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, e, ChallengeState.Upheld)
        );
        cm.release(p.r, e);
    }

    /// @notice A job slashed by an unanswered data challenge (the withheld step of the search)
    ///         gives the answered ones' bonds back to the challenger too.
    function test_release_afterDataSlashToChallenger() public {
        uint256 el = _el(4, 1, 0, 0);
        Proved memory p = _answered(el);
        uint256 withheld = _el(5, 1, 3, 0);
        _challenge(p, withheld);
        vm.warp(cm.challengeOf(p.jobId, withheld).respondBy + 1);
        cm.enforce(p.r, withheld);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Slashed));
        cm.release(p.r, el);
        assertEq(cm.balanceOf(challenger), 2 * uint256(bond));
        assertEq(cm.balanceOf(provider), 0);
        vm.prank(challenger);
        cm.withdraw();
        assertEq(token.balanceOf(address(cm)), 0);
    }

    /// @notice Only an answered data challenge has a bond to release: an answered element
    ///         challenge (credited at once), an open, never made or reclaimed one does not; a
    ///         job never proved is in no state to release.
    function test_release_refusesOthers() public {
        Proved memory p = _proved();
        uint256 e = _el(0, 0, 3, 1);
        _challenge(p, e);
        vm.prank(provider);
        cm.answer(
            p.r,
            p.traceRoot,
            p.resultDigest,
            e,
            SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, e])
        );
        assertEq(cm.balanceOf(provider), bond);
        uint256 d = _el(4, 0, 0, 0);
        _challenge(p, d);
        uint256 open = _el(4, 3, 0, 0);
        _challenge(p, open);
        vm.warp(cm.challengeOf(p.jobId, d).respondBy + 1);
        cm.enforce(p.r, d);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, e, ChallengeState.Answered)
        );
        cm.release(p.r, e);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, open, ChallengeState.Open));
        cm.release(p.r, open);
        cm.reclaim(p.r, open);
        vm.expectRevert(
            abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, open, ChallengeState.Voided)
        );
        cm.release(p.r, open);
        uint256 none = _el(5, 0, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.NotReleasable.selector, p.jobId, none, ChallengeState.None));
        cm.release(p.r, none);
        Request memory r = request();
        r.jobDigest = 12345;
        uint256 id = manager.jobIdOf(r);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.WrongState.selector, id, JobState.None));
        cm.release(r, none);
    }

    // ------------------------------------------------------------ the window

    /// @notice An answered data challenge keeps the window open one proveWindow from the
    ///         answer: a challenge after payableAt but before dataUntil is accepted, finalize
    ///         waits for dataUntil, and the window closes after it.
    function test_window_heldByDataAnswers() public {
        Proved memory p = _proved();
        assertFalse(cm.holds(p.jobId));
        // Near the window's end the watcher opens a tensor; the provider answers at once.
        vm.warp(p.payableAt - 10);
        _challenge(p, _el(4, 1, 0, 0));
        assertTrue(cm.holds(p.jobId));
        _answerData(p, _el(4, 1, 0, 0), p.trace.open(_el(4, 1, 0, 0)));
        uint64 until = uint64(block.timestamp) + p.r.proveWindow;
        assertEq(cm.dataUntilOf(p.jobId), until);
        assertTrue(cm.holds(p.jobId), "held while dataUntil runs");
        // Past payableAt, the job is not paid, and the search goes on.
        vm.warp(p.payableAt + 1);
        assertEq(manager.finalize(_ids(p.jobId)), 0);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Proved));
        _challenge(p, _el(5, 1, 3, 0));
        // An element challenge too: what the opening shows can be challenged.
        _challenge(p, _el(0, 0, 3, 1));
        _answerData(p, _el(5, 1, 3, 0), p.trace.open(_el(5, 1, 3, 0)));
        until = uint64(block.timestamp) + p.r.proveWindow;
        assertEq(cm.dataUntilOf(p.jobId), until);
        vm.prank(provider);
        cm.answer(
            p.r,
            p.traceRoot,
            p.resultDigest,
            _el(0, 0, 3, 1),
            SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, _el(0, 0, 3, 1)])
        );
        assertEq(cm.openCount(p.jobId), 0);
        // An element answer does not extend the window, nor does an earlier data answer shorten it.
        assertEq(cm.dataUntilOf(p.jobId), until);
        vm.warp(until);
        assertTrue(cm.holds(p.jobId));
        assertEq(manager.finalize(_ids(p.jobId)), 0);
        _challenge(p, _el(6, COLS, 0, 0));
        vm.warp(block.timestamp + 5);
        _answerData(p, _el(6, COLS, 0, 0), p.trace.open(_el(6, COLS, 0, 0)));
        until = uint64(block.timestamp) + p.r.proveWindow;
        vm.warp(until + 1);
        assertFalse(cm.holds(p.jobId));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.ChallengeClosed.selector, p.jobId, until));
        cm.challenge(p.r, p.traceRoot, p.resultDigest, _el(4, 2, 0, 0));
        uint256 free = providers.providerOf(provider).free;
        assertEq(manager.finalize(_ids(p.jobId)), 1);
        assertEq(uint256(state(p.jobId)), uint256(JobState.Settled));
        assertEq(manager.balanceOf(provider), PRICE);
        assertEq(providers.providerOf(provider).free, free + stakeOf(p.jobId));
        // The element answer's bond was credited at once; the three data bonds on release.
        assertEq(cm.balanceOf(provider), bond);
        cm.release(p.r, _el(4, 1, 0, 0));
        cm.release(p.r, _el(5, 1, 3, 0));
        cm.release(p.r, _el(6, COLS, 0, 0));
        assertEq(cm.balanceOf(provider), 4 * uint256(bond));
    }

    /// @notice A data answer early in the window does not shorten it: ChallengeClosed names
    ///         payableAt when it is the later.
    function test_window_neverShortened() public {
        Proved memory p = _proved();
        _challenge(p, _el(4, 0, 0, 0));
        _answerData(p, _el(4, 0, 0, 0), p.trace.open(_el(4, 0, 0, 0)));
        assertLt(cm.dataUntilOf(p.jobId), p.payableAt);
        vm.warp(p.payableAt);
        _challenge(p, _el(4, 1, 0, 0));
        _answerData(p, _el(4, 1, 0, 0), p.trace.open(_el(4, 1, 0, 0)));
        Proved memory q = _proved();
        _challenge(q, _el(4, 0, 0, 0));
        _answerData(q, _el(4, 0, 0, 0), q.trace.open(_el(4, 0, 0, 0)));
        vm.warp(q.payableAt + 1);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(ChallengeManager.ChallengeClosed.selector, q.jobId, q.payableAt));
        cm.challenge(q.r, q.traceRoot, q.resultDigest, _el(4, 1, 0, 0));
        assertEq(manager.finalize(_ids(q.jobId)), 1);
    }

    // ------------------------------------------------------------ reentrancy

    /// @notice A bond token that calls back into answerData while a challenge pulls its bond
    ///         is refused by the guard; the answer then goes through on its own.
    /// @dev A deployment whose bond token calls back (once armed) on each transfer.
    function _reentrantDeployment() internal returns (ReentrantToken t) {
        t = new ReentrantToken();
        t.mint(buyer, 10_000e18);
        t.mint(provider, 1_000_000e18);
        t.mint(challenger, 1_000e18);
        ProviderRegistry reg = new ProviderRegistry(IERC20(address(t)), UNBONDING, gov);
        SLAManager m = new SLAManager(IERC20(address(t)), reg, classes, hasher, gov);
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

    function test_answerData_reentrancyBlocked() public {
        ReentrantToken t = _reentrantDeployment();
        Proved memory p = _proved();
        uint256 el = _el(5, 2, 1, 0);
        _challenge(p, el);
        TraceOpening memory o = p.trace.open(el);
        t.arm(address(cm), abi.encodeCall(ChallengeManager.answerData, (p.r, p.traceRoot, p.resultDigest, el, o)));
        _challenge(p, _el(4, 2, 0, 0));
        assertEq(t.attempts(), 1);
        assertFalse(t.lastCallSucceeded());
        assertEq(
            t.lastRevertData(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(uint256(cm.challengeOf(p.jobId, el).state), uint256(ChallengeState.Open));
        _answerData(p, el, o);
        assertEq(cm.balanceOf(provider), 0);
    }

    /// @notice A bond token that calls back into release while a withdrawal pays out is refused
    ///         by the guard: the bond is released once, by the direct call.
    function test_release_reentrancyBlocked() public {
        ReentrantToken t = _reentrantDeployment();
        uint256 el = _el(5, 2, 1, 0);
        Proved memory p = _answered(el);
        // A bond to withdraw, credited at once: an answered element challenge.
        uint256 e = _el(0, 0, 3, 1);
        _challenge(p, e);
        cm.answer(
            p.r,
            p.traceRoot,
            p.resultDigest,
            e,
            SyntheticGroth16.proveTargeted([p.r.modelRoot, p.r.jobDigest, p.traceRoot, p.resultDigest, e])
        );
        _pastWindow(p);
        assertEq(manager.finalize(_ids(p.jobId)), 1);
        t.arm(address(cm), abi.encodeCall(ChallengeManager.release, (p.r, el)));
        vm.prank(provider);
        cm.withdraw();
        assertEq(t.attempts(), 1);
        assertFalse(t.lastCallSucceeded());
        assertEq(
            t.lastRevertData(), abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector)
        );
        assertEq(uint256(cm.challengeOf(p.jobId, el).state), uint256(ChallengeState.Answered));
        assertEq(cm.balanceOf(provider), 0);
        cm.release(p.r, el);
        assertEq(cm.balanceOf(provider), bond);
        assertEq(t.balanceOf(address(cm)), bond);
    }

    // ------------------------------------------------------------ the Go reference's openings

    /// @notice Every case of testdata/vectors/trace_opening.json (the Go reference's openings
    ///         of a real job's trace, valid and tampered) gets the verdict the vector gives.
    function test_vectors_traceOpening() public view {
        string memory json = TraceOpeningVectors.load();
        uint256 n = TraceOpeningVectors.count(json);
        uint256 valid;
        for (uint256 i = 0; i < n; ++i) {
            TraceOpeningVectors.Case memory c = TraceOpeningVectors.at(json, i);
            assertEq(cm.isOpening(c.jobDigest, c.traceRoot, c.element, c.opening), c.valid, c.name);
            if (c.valid) ++valid;
        }
        assertGt(n, 10);
        assertGt(valid, 5);
    }

    /// @notice The vectors' valid openings answer data challenges of a job with the vectors'
    ///         job digest and trace root, end to end.
    function test_vectors_answerOnChain() public {
        string memory json = TraceOpeningVectors.load();
        TraceOpeningVectors.Case memory first = TraceOpeningVectors.at(json, 0);
        Request memory r = request();
        r.challengeWindow = WINDOW;
        r.jobDigest = first.jobDigest;
        (uint256 jobId, uint256 rd,) = _proveWith(r, first.traceRoot);
        uint256 answered;
        uint256 n = TraceOpeningVectors.count(json);
        for (uint256 i = 0; i < n; ++i) {
            TraceOpeningVectors.Case memory c = TraceOpeningVectors.at(json, i);
            if (!c.valid || c.jobDigest != first.jobDigest || c.traceRoot != first.traceRoot) continue;
            if (cm.challengeOf(jobId, c.element).state != ChallengeState.None) continue;
            vm.prank(challenger);
            cm.challenge(r, c.traceRoot, rd, c.element);
            vm.expectEmit(address(cm));
            emit ChallengeManager.TraceOpened(jobId, c.element, c.opening);
            vm.prank(keeper);
            cm.answerData(r, c.traceRoot, rd, c.element, c.opening);
            ++answered;
        }
        assertGt(answered, 5);
        assertEq(cm.balanceOf(provider), 0);
        assertEq(token.balanceOf(address(cm)), answered * uint256(bond));
    }
}
