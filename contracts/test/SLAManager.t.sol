// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./helpers/Fixture.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {ClassRegistry, ClassStatus} from "../src/ClassRegistry.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {ResultDigest} from "../src/libraries/ResultDigest.sol";
import {Request} from "../src/types/Request.sol";
import {Job, JobState, Commitment, Submission, Receipt} from "../src/types/Settlement.sol";
import {Vm} from "./utils/Vm.sol";
import {SyntheticGroth16} from "./helpers/SyntheticGroth16.sol";

/// @notice The v1 state machine (specs/settlement.md) with real pairing checks: every path from
///         request to settlement or slash, what each call refuses, and that the result on chain
///         is bound to the proof.
contract SLAManagerTest is Fixture {
    // ------------------------------------------------------------ happy paths

    function test_postLockCommitSubmit_settlesAtOnce() public {
        Request memory r = request();
        uint256 jobId = post(r);
        assertEq(uint256(state(jobId)), uint256(JobState.Open));
        assertEq(token.balanceOf(address(manager)), PRICE);
        vm.prank(provider);
        manager.lock(r, ANY_STAKE, ANY_ABANDON);
        assertEq(uint256(state(jobId)), uint256(JobState.Locked));
        uint256 stake = stakeOf(jobId);
        assertEq(stake, manager.requiredStake(PRICE, 1));
        assertEq(providers.reservedStake(provider), stake);
        commit(jobId);
        toSeed(jobId);
        Submission memory s = submission(r);
        vm.recordLogs();
        assertTrue(submit(s));
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
        assertEq(manager.balanceOf(provider), PRICE);
        assertEq(providers.reservedStake(provider), 0);
        // The result is on chain, bound to the proof, and unpacks to the tokens.
        uint256[] memory onChain = _provedResult(vm.getRecordedLogs(), jobId);
        assertEq(ResultDigest.unpack(TOKENS, onChain), tokensFor(TOKENS, jobId));

        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        manager.withdraw();
        assertEq(token.balanceOf(provider) - before, PRICE);
    }

    function test_signedRequest_lockedInOneCall() public {
        Request memory r = request();
        uint256 jobId = lockSigned(r);
        assertEq(jobId, manager.jobIdOf(r));
        assertEq(uint256(state(jobId)), uint256(JobState.Locked));
        assertEq(token.balanceOf(address(manager)), PRICE);
        commit(jobId);
        toSeed(jobId);
        assertTrue(submit(submission(r)));
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    function test_signedRequest_escrowFromDeposit() public {
        vm.prank(buyer);
        manager.deposit(PRICE * 2);
        uint256 before = token.balanceOf(buyer);
        lockSigned(request());
        assertEq(token.balanceOf(buyer), before, "escrow came from the deposit");
        assertEq(manager.balanceOf(buyer), PRICE);
    }

    function test_signedRequest_replayAndForgery() public {
        Request memory r = request();
        bytes memory sig = signRequest(r);
        vm.prank(provider);
        uint256 jobId = manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Locked));
        manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);

        Request memory other = request();
        uint256 otherId = manager.jobIdOf(other);
        other.price = PRICE * 2; // not what the buyer signed
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(SLAManager.BadRequestSignature.selector, manager.jobIdOf(other), buyer)
        );
        manager.lockRequest(other, sig, ANY_STAKE, ANY_ABANDON);
        assertTrue(otherId != manager.jobIdOf(other));
    }

    /// @dev Review F5: governance raising a rate in front of a pending lock. The provider priced
    ///      the job at the stake and fee of the moment; the raised floor (more stake) or fee
    ///      reverts its lock instead of binding it to worse terms, and the terms it accepted
    ///      still lock, exactly at the bound.
    function test_lockBoundsRefuseFrontRunRates() public {
        Request memory r = request();
        bytes memory sig = signRequest(r);
        uint256 priced = manager.requiredStake(r.price, 1);
        uint16 fee = manager.abandonBps();

        uint16 floor = manager.detectionFloorBps() / 2; // a lower floor: more stake
        vm.prank(gov);
        manager.setDetectionFloorBps(floor);
        uint256 raised = manager.requiredStake(r.price, 1);
        assertGt(raised, priced);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.LockTermsExceeded.selector, raised, priced, fee, fee));
        manager.lockRequest(r, sig, priced, fee);

        vm.prank(gov);
        manager.setAbandonBps(fee + 100);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.LockTermsExceeded.selector, raised, raised, fee + 100, fee));
        manager.lockRequest(r, sig, raised, fee);

        vm.prank(provider);
        uint256 jobId = manager.lockRequest(r, sig, raised, fee + 100);
        (, uint256 stake) = manager.holderOf(jobId);
        assertEq(stake, raised, "locked at the bound");
    }

    function test_buyerRevokesSignedRequest() public {
        Request memory r = request();
        bytes memory sig = signRequest(r);
        vm.prank(buyer);
        manager.cancel(r);
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(SLAManager.WrongState.selector, manager.jobIdOf(r), JobState.Cancelled)
        );
        manager.lockRequest(r, sig, ANY_STAKE, ANY_ABANDON);
    }

    function test_challengeWindow_paysAfterIt() public {
        Request memory r = request();
        r.challengeWindow = 1 hours;
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        assertTrue(submit(submission(r)));
        assertEq(uint256(state(jobId)), uint256(JobState.Proved));
        assertEq(manager.balanceOf(provider), 0);
        uint256[] memory ids = new uint256[](1);
        ids[0] = jobId;
        assertEq(manager.finalize(ids), 0, "not before the window ends");
        vm.warp(block.timestamp + 1 hours + 1);
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        assertEq(manager.collect(ids, provider), 1);
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
        assertEq(token.balanceOf(provider) - before, PRICE);
    }

    function test_revealedSeed() public {
        bytes32 secret = keccak256("buyer secret");
        Request memory r = requestWithSecret(secret);
        uint256 jobId = lockedCommitted(r);
        assertEq(manager.getJob(jobId).deadline, 0, "no proof clock before the seed");
        toSeed(jobId);
        // Inside the reveal window the fallback is refused, in a submission too.
        vm.expectRevert();
        manager.fixSeed(jobId);
        vm.prank(keeper);
        manager.revealSeed(r, secret);
        Job memory j = manager.getJob(jobId);
        assertEq(j.deadline, block.timestamp + PROVE);
        assertTrue(submit(submission(r)));
        assertEq(uint256(state(jobId)), uint256(JobState.Settled));
    }

    function test_unrevealedSeed_fallsBackInsideSubmission() public {
        Request memory r = requestWithSecret(keccak256("kept"));
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        // seedOf names no seed yet (RevealPending): a submission for any seed is refused as early.
        vm.expectRevert(
            abi.encodeWithSelector(
                SLAManager.RevealPending.selector, jobId, uint64(manager.getJob(jobId).seedBlock) + 32, block.number
            )
        );
        manager.seedOf(jobId);
        Submission memory early;
        early.request = r;
        early.commitment = commitmentFor(jobId);
        early.result = resultFor(jobId, r.newTokens);
        early.proof = SyntheticGroth16.prove(
            [r.modelRoot, r.jobDigest, early.commitment.traceRoot, hasher.resultDigest(r.newTokens, early.result), 1]
        );
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(
                SLAManager.RevealPending.selector,
                jobId,
                uint64(manager.getJob(jobId).seedBlock) + 32,
                block.number
            )
        );
        manager.submit(early);
        vm.roll(uint256(manager.getJob(jobId).seedBlock) + 33);
        assertTrue(submit(submission(r)));
    }

    // ------------------------------------------------------------ the proof decides

    function test_invalidProof_slashesWithoutBounty() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        uint256 stake = stakeOf(jobId);
        toSeed(jobId);
        assertFalse(submit(badSubmission(r)));
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
        assertEq(manager.balanceOf(buyer), PRICE + stake);
        assertEq(manager.balanceOf(provider), 0);
    }

    function test_resultIsBoundToTheProof() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);
        // Other tokens with the proof of the real ones: the rebuilt result digest differs.
        uint256[] memory t = tokensFor(TOKENS, jobId);
        t[7] = (t[7] + 1) % 50_257;
        s.result = ResultDigest.pack(t);
        assertFalse(submit(s));
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
    }

    function test_malformedResultReverts() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);
        s.result = new uint256[](1);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.BadResultLength.selector, 1, TOKENS));
        manager.submit(s);
        assertEq(uint256(state(jobId)), uint256(JobState.Committed));
    }

    function test_receiptSignatureCheckableByTheContract() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);
        uint256 seed = manager.seedOf(jobId);
        Receipt memory rc = receiptOf(jobId, s, seed, hasher.resultDigest(TOKENS, s.result));
        bytes memory sig = signDigest(nodeKeyPk, manager.receiptDigest(rc));
        assertTrue(manager.verifyReceipt(rc, sig));
        assertFalse(manager.verifyReceipt(rc, signDigest(buyerPk, manager.receiptDigest(rc))), "not the node key");
        rc.seed ^= 1;
        assertFalse(manager.verifyReceipt(rc, sig), "another receipt");
        // The digest emitted with the proof is the one the node key signs.
        vm.recordLogs();
        assertTrue(submit(s));
        rc.seed = seed;
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == SLAManager.JobProved.selector) {
                (,,, bytes32 digest,) = abi.decode(logs[i].data, (uint256, uint256, uint256[], bytes32, uint64));
                assertEq(digest, manager.receiptDigest(rc));
                found = true;
            }
        }
        assertTrue(found);
    }

    function test_submissionChecksCommitmentAndCaller() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);

        Submission memory wrongRoot = submission(r);
        wrongRoot.commitment.traceRoot += 1;
        vm.prank(provider);
        vm.expectRevert();
        manager.submit(wrongRoot);

        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, keeper, provider));
        manager.submit(s);

        assertEq(uint256(state(jobId)), uint256(JobState.Committed));
        assertTrue(submit(s));
    }

    function test_starvedSubmissionReverts() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        Submission memory s = submission(r);
        vm.prank(provider);
        (bool ok,) = address(manager).call{gas: 200_000}(abi.encodeCall(SLAManager.submit, (s)));
        assertFalse(ok);
        assertEq(uint256(state(jobId)), uint256(JobState.Committed), "short of gas is not a slash");
    }

    // ------------------------------------------------------------ deadlines

    function test_slash_missedCommit_paysBounty() public {
        Request memory r = request();
        uint256 jobId = lockSigned(r);
        uint256 stake = stakeOf(jobId);
        Commitment memory sc1 = commitmentFor(r);
        vm.prank(keeper);
        vm.expectRevert();
        manager.slash(r, sc1);
        vm.warp(block.timestamp + EXEC + 1);
        Commitment memory sc2 = commitmentFor(r);
        vm.prank(keeper);
        manager.slash(r, sc2);
        uint256 bounty = stake * 500 / 10_000;
        assertEq(manager.balanceOf(keeper), bounty);
        assertEq(manager.balanceOf(buyer), PRICE + stake - bounty);
    }

    function test_slash_missedProof() public {
        Request memory r = request();
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        vm.warp(block.timestamp + PROVE + 1);
        Submission memory s = submission(r);
        vm.prank(provider);
        vm.expectRevert();
        manager.submit(s);
        Commitment memory sc3 = commitmentFor(r);
        vm.prank(keeper);
        manager.slash(r, sc3);
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
    }

    function test_slash_expiredSeed() public {
        Request memory r = requestWithSecret(keccak256("never revealed"));
        uint256 jobId = lockedCommitted(r);
        uint256 seedBlock = manager.getJob(jobId).seedBlock;
        vm.roll(seedBlock + 256);
        Commitment memory sc4 = commitmentFor(r);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, seedBlock, seedBlock + 256));
        manager.slash(r, sc4);
        vm.roll(seedBlock + 257);
        Commitment memory sc5 = commitmentFor(r);
        vm.prank(keeper);
        manager.slash(r, sc5);
        assertEq(uint256(state(jobId)), uint256(JobState.Slashed));
    }

    function test_fixSeedStartsClockForLongProofs() public {
        Request memory r = requestWithSecret(keccak256("kept"));
        uint256 jobId = lockedCommitted(r);
        vm.roll(uint256(manager.getJob(jobId).seedBlock) + 33);
        manager.fixSeed(jobId);
        uint256 proveBy = manager.getJob(jobId).deadline;
        assertEq(proveBy, block.timestamp + PROVE);
        // Far past the blockhash horizon, the stored seed still proves.
        vm.roll(block.number + 1000);
        vm.warp(block.timestamp + PROVE - 1);
        assertTrue(submit(submission(r)));
    }

    function test_abandon_reopensThenRefunds() public {
        Request memory r = request();
        r.lockBy = uint64(block.timestamp + EXEC / 2);
        uint256 jobId = lockSigned(r);
        uint256 stake = stakeOf(jobId);
        vm.prank(provider);
        manager.abandon(r);
        assertEq(uint256(state(jobId)), uint256(JobState.Open));
        assertEq(manager.balanceOf(buyer), stake / 10);
        vm.prank(provider);
        manager.lock(r, ANY_STAKE, ANY_ABANDON);
        vm.warp(r.lockBy + 1);
        vm.prank(provider);
        manager.abandon(r);
        assertEq(uint256(state(jobId)), uint256(JobState.Cancelled));
        assertEq(manager.balanceOf(buyer), 2 * (stake / 10) + PRICE);
    }

    // ------------------------------------------------------------ terms and classes

    function test_termsRefused() public {
        Request memory r = request();
        r.price = 0;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadTerms.selector, 0, r.lockBy, TOKENS));
        manager.post(r, "");
        r = request();
        r.newTokens = 0;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadTerms.selector, PRICE, r.lockBy, 0));
        manager.post(r, "");
        r = request();
        r.proveWindow = 59;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindows.selector, EXEC, 59, 0));
        manager.post(r, "");
        r = request();
        r.modelRoot = R;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NotFieldElement.selector, R));
        manager.post(r, "");
        r = request();
        r.classId = keccak256("unknown");
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ClassNotActive.selector, r.classId, ClassStatus.None));
        manager.post(r, "");
        r = request();
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, keeper, buyer));
        manager.post(r, "");
    }

    /// @notice The catalogue is a claim for discovery: a squatter's entry blocks no job, and
    ///         governance corrects it (also after the class it names is retired).
    function test_modelCatalogueIsAClaimGovernanceCorrects() public {
        vm.prank(gov);
        bytes32 other = classes.registerClass("other-class", address(verifier), address(targetedVerifier), 2);
        vm.prank(keeper);
        classes.registerModel(0x1111, other, "file:///junk");
        post(request());
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ModelAlreadyRegistered.selector, 0x1111, other));
        classes.registerModel(0x1111, classId, "file:///models/real");
        vm.prank(keeper);
        vm.expectRevert();
        classes.correctModel(0x1111, classId, "file:///models/real");
        vm.startPrank(gov);
        classes.retire(other);
        classes.correctModel(0x1111, classId, "file:///models/real");
        vm.stopPrank();
        assertEq(classes.modelClass(0x1111), classId);
        vm.prank(gov);
        vm.expectRevert(abi.encodeWithSelector(ClassRegistry.ModelNotRegistered.selector, 0x2222));
        classes.correctModel(0x2222, classId, "");
    }

    /// @notice A job with more tokens than a submission could carry is refused at creation.
    function test_unsubmittableTokenCountRefused() public {
        Request memory r = request();
        r.newTokens = manager.MAX_NEW_TOKENS() + 1;
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadTerms.selector, PRICE, r.lockBy, r.newTokens));
        manager.post(r, "");
    }

    /// @notice seedOf never returns a wrong seed: a Proved job's seed slot holds its challenge
    ///         anchor, so seedOf reverts for it whether or not the seed was stored (the seed is
    ///         in JobProved).
    function test_seedOfProvedJob() public {
        Request memory r = request();
        r.challengeWindow = 1 days;
        uint256 jobId = lockedCommitted(r);
        toSeed(jobId);
        assertTrue(submit(submission(r)));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Proved));
        manager.seedOf(jobId);
        Request memory r2 = request();
        r2.challengeWindow = 1 days;
        uint256 id2 = lockedCommitted(r2);
        toSeed(id2);
        manager.fixSeed(id2);
        manager.seedOf(id2);
        assertTrue(submit(submission(r2)));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, id2, JobState.Proved));
        manager.seedOf(id2);
    }

    function test_retiredClass_stopsNewJobsNotJobsInFlight() public {
        Request memory inFlight = request();
        uint256 jobId = lockedCommitted(inFlight);
        Request memory open = request();
        post(open);
        vm.prank(gov);
        classes.retire(classId);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ClassNotActive.selector, classId, ClassStatus.Retired));
        manager.post(request(), "");
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ClassNotActive.selector, classId, ClassStatus.Retired));
        manager.lock(open, ANY_STAKE, ANY_ABANDON);
        toSeed(jobId);
        assertTrue(submit(submission(inFlight)));
        vm.prank(buyer);
        manager.cancel(open);
    }

    // ------------------------------------------------------------ batches

    function test_batch_allValid() public {
        (Request[] memory rs, uint256[] memory ids) = _committedJobs(8);
        Submission[] memory subs = new Submission[](8);
        for (uint256 i = 0; i < 8; ++i) {
            subs[i] = submission(rs[i]);
        }
        vm.prank(provider);
        (uint256 proved, uint256 slashed) = manager.submitBatch(subs);
        assertEq(proved, 8);
        assertEq(slashed, 0);
        for (uint256 i = 0; i < 8; ++i) {
            assertEq(uint256(state(ids[i])), uint256(JobState.Settled));
        }
        assertEq(manager.balanceOf(provider), uint256(PRICE) * 8);
    }

    function test_batch_invalidMemberSlashedAloneValidOnesSettle() public {
        (Request[] memory rs, uint256[] memory ids) = _committedJobs(4);
        Submission[] memory subs = new Submission[](4);
        for (uint256 i = 0; i < 4; ++i) {
            subs[i] = i == 2 ? badSubmission(rs[i]) : submission(rs[i]);
        }
        vm.prank(provider);
        (uint256 proved, uint256 slashed) = manager.submitBatch(subs);
        assertEq(proved, 3);
        assertEq(slashed, 1);
        for (uint256 i = 0; i < 4; ++i) {
            assertEq(uint256(state(ids[i])), uint256(i == 2 ? JobState.Slashed : JobState.Settled));
        }
    }

    function test_batch_skipsMembersThatMovedOn_andDuplicates() public {
        (Request[] memory rs, uint256[] memory ids) = _committedJobs(3);
        Submission[] memory subs = new Submission[](4);
        subs[0] = submission(rs[0]); // settled before the batch lands: skipped
        assertTrue(submit(subs[0]));
        subs[1] = submission(rs[1]);
        subs[2] = submission(rs[1]); // the same job twice: concluded once
        subs[3] = submission(rs[2]);
        vm.prank(provider);
        (uint256 proved, uint256 slashed) = manager.submitBatch(subs);
        assertEq(proved, 2);
        assertEq(slashed, 0);
        assertEq(uint256(state(ids[1])), uint256(JobState.Settled));
        assertEq(uint256(state(ids[2])), uint256(JobState.Settled));
        assertEq(manager.balanceOf(provider), uint256(PRICE) * 3);
    }

    function test_batch_refusesMixedClassesAndBadSizes() public {
        vm.prank(gov);
        bytes32 other = classes.registerClass("other-class", address(verifier), address(targetedVerifier), 1);
        Request memory a = request();
        Request memory b = request();
        b.classId = other;
        lockedCommitted(a);
        uint256 idB = lockedCommitted(b);
        toSeed(idB);
        Submission[] memory subs = new Submission[](2);
        subs[0] = submission(a);
        subs[1] = submission(b);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ClassMismatch.selector, 1, other, classId));
        manager.submitBatch(subs);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBatch.selector, 0));
        manager.submitBatch(new Submission[](0));
    }

    // ------------------------------------------------------------ helpers

    function _committedJobs(uint256 n) internal returns (Request[] memory rs, uint256[] memory ids) {
        rs = new Request[](n);
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            rs[i] = request();
            ids[i] = lockedCommitted(rs[i]);
        }
        toSeed(ids[n - 1]);
    }

    function _provedResult(Vm.Log[] memory logs, uint256 jobId) internal pure returns (uint256[] memory) {
        bytes32 topic = SLAManager.JobProved.selector;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic && uint256(logs[i].topics[1]) == jobId) {
                (,, uint256[] memory result,,) = abi.decode(logs[i].data, (uint256, uint256, uint256[], bytes32, uint64));
                return result;
            }
        }
        revert("no JobProved");
    }
}
