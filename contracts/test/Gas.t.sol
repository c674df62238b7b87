// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./helpers/Fixture.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {Request} from "../src/types/Request.sol";
import {JobState, Submission} from "../src/types/Settlement.sol";
import {ChallengeManager} from "../src/ChallengeManager.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";
import {TraceOpeningVectors} from "./helpers/TraceOpeningVectors.sol";

/// @notice Gas of jobs against the targets of specs/settlement.md §1, per transaction as a
///         chain charges it. Run isolated, every call is its own transaction (intrinsic gas and
///         calldata included, storage cold, refunds applied): the inline config below does it,
///         so `forge test` and `make snapshot` record the same figures in
///         contracts/snapshots/Settlement.json. Nothing is asserted against a target here:
///         the figures are measured and reported (docs/performance.md), the paths asserted.
/// forge-config: default.isolate = true
contract GasTest is Fixture {
    string internal constant GROUP = "Settlement";

    /// @dev Isolated, the last call's gas is its transaction's: intrinsic and calldata included.
    function _record(string memory name) internal returns (uint256) {
        return vm.snapshotGasLastCall(GROUP, name);
    }

    /// @dev A deployment in use: another job locked (the manager holds escrow, the provider has
    ///      reserved stake) and one settled (the provider has a balance). Storage that a first
    ///      job would take from zero is then already nonzero, as on a live chain.
    function _inUse() internal {
        lockSigned(request());
        Request memory r = request();
        uint256 id = lockedCommitted(r);
        toSeed(id);
        assertTrue(submit(submission(r)));
    }

    /// @notice One job posted by its buyer: post, lock, commit, submit (settles at once).
    function test_gas_postedJob() public {
        Request memory r = request();
        vm.prank(buyer);
        uint256 jobId = manager.post(r, "file:///jobs/1");
        uint256 total = _record("post");
        vm.prank(provider);
        manager.lock(r, ANY_STAKE, ANY_ABANDON);
        total += _record("lock");
        total += _commit(jobId, "commit");
        total += _submit(r, "submit");
        vm.snapshotValue(GROUP, "job.posted.total", total);
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    /// @notice One job signed off chain in a deployment in use, run before it is locked:
    ///         lockAndCommit, submit.
    function test_gas_signedJob_inUse_lockAndCommit() public {
        _inUse();
        Request memory r = request();
        bytes memory sig = signRequest(r);
        uint256 jobId = manager.jobIdOf(r);
        stakes[jobId] = uint96(manager.requiredStake(r.price, 1));
        vm.prank(provider);
        manager.lockAndCommit(r, sig, traceRootOf(jobId), attestationOf(jobId), ANY_STAKE, ANY_ABANDON);
        uint256 total = _record("inUse.lockAndCommit");
        total += _submit(r, "inUse.submit");
        vm.snapshotValue(GROUP, "job.inUse.lockAndCommit.total", total);
    }

    /// @notice The same job locked first, then committed.
    function test_gas_signedJob_inUse() public {
        _inUse();
        Request memory r = request();
        uint256 jobId = lockSigned(r);
        uint256 total = _record("inUse.lockRequest");
        total += _commit(jobId, "inUse.commit");
        total += _submit(r, "inUse.submit.afterCommit");
        vm.snapshotValue(GROUP, "job.inUse.total", total);
    }

    /// @notice One job signed off chain on a fresh deployment: lockRequest, commit, submit.
    function test_gas_signedJob() public {
        Request memory r = request();
        bytes memory sig = signRequest(r);
        vm.prank(provider);
        uint256 jobId = manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
        uint256 total = _record("lockRequest");
        total += _commit(jobId, "commit");
        total += _submit(r, "submit.signed");
        vm.snapshotValue(GROUP, "job.signed.total", total);
        vm.prank(provider);
        manager.withdraw();
        _record("withdraw");
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    /// @notice One job with the buyer's seed commitment: the reveal is one more transaction.
    function test_gas_revealedJob() public {
        bytes32 secret = keccak256("secret");
        Request memory r = requestWithSecret(secret);
        bytes memory sig = signRequest(r);
        vm.prank(provider);
        uint256 jobId = manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
        uint256 total = _record("lockRequest.commitment");
        total += _commit(jobId, "commit");
        toSeed(jobId);
        vm.prank(buyer);
        manager.revealSeed(r, secret);
        total += _record("revealSeed");
        Submission memory s = submission(r);
        vm.prank(provider);
        manager.submit(s);
        total += _record("submit.revealed");
        vm.snapshotValue(GROUP, "job.revealed.total", total);
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    /// @notice 16 jobs of one class: one lockRequests, one commitMany, one submitBatch.
    function test_gas_batchOf16() public {
        _batch(16, "");
    }

    function test_gas_batchOf4() public {
        _batch(4, "");
    }

    /// @notice The same with the buyer's escrow deposited beforehand (a dApp that posts many
    ///         requests) on a deployment in use.
    function test_gas_batchOf16_deposited() public {
        _inUse();
        vm.prank(buyer);
        manager.deposit(uint256(PRICE) * 16);
        _batch(16, ".deposited");
    }

    function _batch(uint256 n, string memory variant) internal {
        Request[] memory rs = new Request[](n);
        uint256[] memory ids = new uint256[](n);
        bytes[] memory sigs = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            rs[i] = request();
            sigs[i] = signRequest(rs[i]);
        }
        vm.prank(provider);
        ids = manager.lockRequests(rs, sigs, anyStakes(rs.length), ANY_ABANDON);
        string memory tag = string.concat(".", vm.toString(n), variant);
        uint256 locks = _record(string.concat("lockRequests", tag));
        uint256[] memory roots = new uint256[](n);
        bytes32[] memory atts = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            (, uint256 st) = manager.holderOf(ids[i]);
            stakes[ids[i]] = uint96(st);
            roots[i] = traceRootOf(ids[i]);
            atts[i] = attestationOf(ids[i]);
        }
        vm.prank(provider);
        manager.commitMany(ids, roots, atts);
        uint256 commits = _record(string.concat("commitMany", tag));
        toSeed(ids[n - 1]);
        Submission[] memory subs = new Submission[](n);
        for (uint256 i = 0; i < n; ++i) {
            subs[i] = submission(rs[i]);
        }
        vm.prank(provider);
        (uint256 proved,) = manager.submitBatch(subs);
        assertEq(proved, n);
        uint256 proofs = _record(string.concat("submitBatch", tag));
        _perJob(tag, n, proofs, locks + commits + proofs);
    }

    function _perJob(string memory tag, uint256 n, uint256 proofs, uint256 total) internal {
        vm.snapshotValue(GROUP, string.concat("batch", tag, ".proofPerJob"), proofs / n);
        vm.snapshotValue(GROUP, string.concat("batch", tag, ".perJob"), total / n);
    }

    function _commit(uint256 jobId, string memory name) internal returns (uint256) {
        (, uint256 st) = manager.holderOf(jobId);
        stakes[jobId] = uint96(st);
        uint256 root = traceRootOf(jobId);
        bytes32 att = attestationOf(jobId);
        vm.prank(provider);
        manager.commit(jobId, root, att);
        return _record(name);
    }

    function _submit(Request memory r, string memory name) internal returns (uint256) {
        toSeed(manager.jobIdOf(r));
        Submission memory s = submission(r);
        vm.prank(provider);
        manager.submit(s);
        return _record(name);
    }

    /// @dev A windowed job of a deployment in use, proved: what a challenger sees of it.
    function _provedWindowed(string memory submitName)
        internal
        returns (Request memory r, uint256 jobId, uint256 traceRoot, uint256 rd, ChallengeManager cm)
    {
        _inUse();
        r = request();
        r.challengeWindow = 1 days;
        jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);
        vm.prank(provider);
        manager.submit(s);
        _record(submitName);
        traceRoot = s.commitment.traceRoot;
        rd = hasher.resultDigest(r.newTokens, s.result);
        cm = manager.challenges();
        address challenger = makeAddr("challenger");
        vm.prank(gov);
        token.mint(challenger, 1_000e18);
        vm.prank(challenger);
        token.approve(address(cm), type(uint256).max);
    }

    /// @notice A windowed job challenged once and answered, then paid: submit (stores the
    ///         anchor), challenge, answer, finalize.
    function test_gas_challengeAnswered() public {
        (Request memory r, uint256 jobId, uint256 traceRoot, uint256 rd, ChallengeManager cm) =
            _provedWindowed("inUse.submit.windowed");
        uint256 element = (uint256(2) << 96) | (uint256(7) << 32);
        vm.prank(makeAddr("challenger"));
        cm.challenge(r, traceRoot, rd, element);
        _record("challenge");
        uint256[8] memory proof = SyntheticGroth16.proveTargeted([r.modelRoot, r.jobDigest, traceRoot, rd, element]);
        vm.prank(provider);
        cm.answer(r, traceRoot, rd, element, proof);
        _record("challenge.answer");
        vm.warp(block.timestamp + 1 days + 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        manager.finalize(ids);
        _record("finalize.windowed");
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    /// @notice A windowed job challenged and left unanswered: enforce slashes it.
    function test_gas_challengeEnforced() public {
        (Request memory r, uint256 jobId, uint256 traceRoot, uint256 rd, ChallengeManager cm) =
            _provedWindowed("inUse.submit.windowed");
        vm.prank(makeAddr("challenger"));
        cm.challenge(r, traceRoot, rd, 5);
        vm.warp(block.timestamp + r.proveWindow + 1);
        vm.prank(keeper);
        cm.enforce(r, 5);
        _record("challenge.enforce");
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
    }

    /// @notice A windowed job of a deployment in use whose committed trace is the Go
    ///         reference's (testdata/vectors/trace_opening.json: the argmax job of trace.json,
    ///         T = 6, 28 tensors, trace depth 5, row depth 3), data-challenged twice and answered
    ///         with the vectors' openings: a tensor's leaf (the logits: 5 siblings) and a row
    ///         (the logits' last row: 5 + 3 siblings, a one-word leaf); once it is paid, the
    ///         tensor challenge's held bond is released to the provider.
    function test_gas_dataChallengeAnswered() public {
        string memory json = TraceOpeningVectors.load();
        TraceOpeningVectors.Case memory row = TraceOpeningVectors.named(json, "the last row of the logits");
        TraceOpeningVectors.Case memory tensor = TraceOpeningVectors.named(json, "the last tensor (the logits)");
        _inUse();
        Request memory r = request();
        r.challengeWindow = 1 days;
        r.jobDigest = row.jobDigest;
        uint256 jobId = lockSigned(r);
        (, uint256 st) = manager.holderOf(jobId);
        stakes[jobId] = uint96(st);
        vm.prank(provider);
        manager.commit(jobId, row.traceRoot, attestationOf(jobId));
        toSeed(jobId);
        Submission memory s = submission(r);
        s.commitment.traceRoot = row.traceRoot;
        uint256 rd = hasher.resultDigest(r.newTokens, s.result);
        s.proof = SyntheticGroth16.prove([r.modelRoot, r.jobDigest, row.traceRoot, rd, manager.seedOf(jobId)]);
        vm.prank(provider);
        manager.submit(s);
        ChallengeManager cm = manager.challenges();
        address challenger = makeAddr("challenger");
        vm.prank(gov);
        token.mint(challenger, 1_000e18);
        vm.prank(challenger);
        token.approve(address(cm), type(uint256).max);
        vm.prank(challenger);
        cm.challenge(r, row.traceRoot, rd, tensor.element);
        vm.prank(challenger);
        cm.challenge(r, row.traceRoot, rd, row.element);
        vm.prank(provider);
        cm.answerData(r, row.traceRoot, rd, tensor.element, tensor.opening);
        _record("challenge.answerData.tensor");
        vm.prank(provider);
        cm.answerData(r, row.traceRoot, rd, row.element, row.opening);
        _record("challenge.answerData.row");
        assertEq(cm.openCount(jobId), 0);
        assertEq(uint256(state(jobId)), uint256(JobState.Proved));
        // Paid once the window the answers hold ends; the held bonds then go to the provider.
        uint256 end = cm.dataUntilOf(jobId);
        if (manager.getJob(jobId).deadline > end) end = manager.getJob(jobId).deadline;
        vm.warp(end + 1);
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        manager.finalize(ids);
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
        vm.prank(keeper);
        cm.release(r, tensor.element);
        _record("challenge.release");
        assertEq(cm.balanceOf(provider), cm.bond());
    }
}
