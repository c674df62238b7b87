// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./helpers/Fixture.sol";
import {SLAManager} from "../src/SLAManager.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {StakeMath} from "../src/libraries/StakeMath.sol";
import {Job, JobState} from "../src/types/Job.sol";
import {JobSpec} from "../src/types/JobSpec.sol";
import {Layer} from "../src/types/Layer.sol";
import {Receipt} from "../src/types/Receipt.sol";
import {ShapeLibrary} from "../src/types/Shape.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Every path and every revert of the SLA state machine (spec §10), with the verifier
///         mocked: these tests are about the state machine, not about proofs.
contract SLAManagerTest is Fixture {
    // ============================================================ postJob

    function test_postJob_storesJobAndEscrows() public {
        JobSpec memory spec = twoLayerSpec();
        uint256 before = token.balanceOf(buyer);
        uint256 jobId = post(spec);
        assertEq(jobId, 1);
        Job memory j = manager.getJob(jobId);
        assertEq(uint8(j.state), uint8(JobState.Open));
        assertEq(j.buyer, buyer);
        assertEq(j.price, PRICE);
        assertEq(j.kmin, 2);
        assertEq(j.numLayers, 2);
        assertEq(j.specHash, manager.specHashOf(spec));
        assertEq(token.balanceOf(buyer), before - PRICE);
        assertEq(token.balanceOf(address(manager)), PRICE);
        assertEq(manager.totalEscrow(), PRICE);
    }

    function test_postJob_emitsJobPosted() public {
        JobSpec memory spec = oneLayerSpec();
        uint64 lockBy = uint64(block.timestamp + 10);
        vm.expectEmit(address(manager));
        emit SLAManager.JobPosted(1, buyer, manager.specHashOf(spec), PRICE, lockBy, EXEC, PROVE, bytes32(0), spec, "ipfs://a");
        vm.prank(buyer);
        manager.postJob(spec, PRICE, lockBy, EXEC, PROVE, bytes32(0), "ipfs://a");
    }

    function test_postJob_revertsOnBadTerms() public {
        JobSpec memory spec = oneLayerSpec();
        uint64 lockBy = uint64(block.timestamp);
        vm.startPrank(buyer);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadTerms.selector, 0, lockBy));
        manager.postJob(spec, 0, lockBy, EXEC, PROVE, bytes32(0), "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadTerms.selector, PRICE, lockBy - 1));
        manager.postJob(spec, PRICE, lockBy - 1, EXEC, PROVE, bytes32(0), "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WindowTooShort.selector, 0, PROVE, 60, 60));
        manager.postJob(spec, PRICE, lockBy, 0, PROVE, bytes32(0), "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WindowTooShort.selector, EXEC, 0, 60, 60));
        manager.postJob(spec, PRICE, lockBy, EXEC, 0, bytes32(0), "");
        vm.stopPrank();
    }

    function test_postJob_revertsOnLayerCount() public {
        JobSpec memory spec = oneLayerSpec();
        spec.layers = new Layer[](0);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadLayerCount.selector, 0));
        _post(spec);
        spec.layers = new Layer[](33);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadLayerCount.selector, 33));
        _post(spec);
    }

    function test_postJob_revertsOnUnknownOrRetiredShape() public {
        JobSpec memory spec = oneLayerSpec();
        spec.layers[0].shapeId = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ShapeNotActive.selector, 0, keccak256("unknown")));
        _post(spec);

        spec = twoLayerSpec();
        vm.prank(gov);
        shapes.retire(shapeNext);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ShapeNotActive.selector, 1, shapeNext));
        _post(spec);
    }

    function test_postJob_revertsOnDepthMismatch() public {
        bytes32 deep = ShapeLibrary.id(4, 4, 5, 2);
        vm.prank(gov);
        shapes.registerShape(deep, address(verifier), 4, 4, 5, 2);
        JobSpec memory spec = twoLayerSpec();
        spec.layers[1].shapeId = deep;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DepthMismatch.selector, 1, 5, 3));
        _post(spec);
    }

    function test_postJob_revertsOnWidthMismatch() public {
        JobSpec memory spec = twoLayerSpec();
        spec.layers[1].shapeId = shapeTiny; // K=16 after N=4
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WidthMismatch.selector, 1, 16, 4));
        _post(spec);
    }

    function test_postJob_revertsOnRows() public {
        JobSpec memory spec = oneLayerSpec();
        spec.rows = 0;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadRows.selector, 0, 3));
        _post(spec);
        spec.rows = 9; // D = 3 allows 8
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadRows.selector, 9, 3));
        _post(spec);
        spec.rows = 8;
        _post(spec);
    }

    function test_postJob_revertsOnRootsNotInField() public {
        JobSpec memory spec = oneLayerSpec();
        spec.inputRoot = R;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NotFieldElement.selector, R));
        _post(spec);
        spec = oneLayerSpec();
        spec.layers[0].weightsRoot = type(uint256).max;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NotFieldElement.selector, type(uint256).max));
        _post(spec);
    }

    function test_postJob_revertsOnBadEpilogue() public {
        uint256[6] memory bad = [
            uint256(1) << 49, // above 2^49
            EPILOGUE - (1 << 30), // m = 0
            EPILOGUE + (1 << 31) - (1 << 30), // m = 2^31
            EPILOGUE - (31 << 32), // s = 0
            EPILOGUE + (32 << 32), // s = 63
            EPILOGUE | (1 << 52) // stray high bit
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            JobSpec memory spec = oneLayerSpec();
            spec.layers[0].epilogue = bad[i];
            vm.expectRevert(abi.encodeWithSelector(SLAManager.BadEpilogue.selector, 0, bad[i]));
            _post(spec);
        }
    }

    function testFuzz_postJob_epilogueValidity(uint64 m, uint8 s, uint8 zb, bool relu) public {
        uint256 mm = m % (1 << 32); // the multiplier field is 32 bits wide; bit 31 must be clear
        uint256 e = mm + (uint256(s) << 32) + (uint256(zb) << 40) + (relu ? 1 << 48 : 0);
        bool valid = mm >= 1 && mm < (1 << 31) && s >= 1 && s <= 62;
        JobSpec memory spec = oneLayerSpec();
        spec.layers[0].epilogue = e;
        if (!valid) vm.expectRevert(abi.encodeWithSelector(SLAManager.BadEpilogue.selector, 0, e));
        _post(spec);
    }

    function _post(JobSpec memory spec) private returns (uint256) {
        vm.prank(buyer);
        return manager.postJob(spec, PRICE, uint64(block.timestamp + 1), EXEC, PROVE, bytes32(0), "");
    }

    // ============================================================ cancel

    function test_cancel_creditsBuyer() public {
        uint256 jobId = post(oneLayerSpec());
        vm.expectEmit(address(manager));
        emit SLAManager.JobCancelled(jobId, buyer);
        vm.prank(buyer);
        manager.cancel(jobId);
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Cancelled));
        assertEq(manager.creditOf(buyer), PRICE);
        assertEq(manager.totalEscrow(), 0);
    }

    function test_cancel_revertsForOthersAndLaterStates() public {
        uint256 jobId = post(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, provider, buyer));
        vm.prank(provider);
        manager.cancel(jobId);
        vm.prank(provider);
        manager.lock(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Locked));
        vm.prank(buyer);
        manager.cancel(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, 99, JobState.None));
        manager.cancel(99);
    }

    // ============================================================ lock

    function test_lock_reservesRequiredStake() public {
        uint256 jobId = post(twoLayerSpec());
        uint256 required = manager.requiredStake(PRICE, 2);
        uint64 commitBy = uint64(block.timestamp) + EXEC;
        vm.expectEmit(address(manager));
        emit SLAManager.JobLocked(jobId, provider, required, commitBy);
        vm.prank(provider);
        manager.lock(jobId);
        Job memory j = manager.getJob(jobId);
        assertEq(uint8(j.state), uint8(JobState.Locked));
        assertEq(j.provider, provider);
        assertEq(j.stake, required);
        assertEq(j.commitBy, commitBy);
        assertEq(providers.reservedStake(provider), required);
        assertEq(providers.freeStake(provider), 100_000e18 - required);
    }

    function test_lock_revertsWhenNotOpenOrLate() public {
        uint256 jobId = post(oneLayerSpec());
        vm.warp(block.timestamp + 1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, jobId, START_TIME + 1 hours));
        vm.prank(provider);
        manager.lock(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, 42, JobState.None));
        vm.prank(provider);
        manager.lock(42);
    }

    function test_lock_revertsForUnregistered() public {
        uint256 jobId = post(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.ProviderNotRegistered.selector, keeper));
        vm.prank(keeper);
        manager.lock(jobId);
    }

    function test_lock_revertsOnInsufficientStake() public {
        address poor = makeAddr("poor");
        vm.prank(gov);
        token.mint(poor, 10e18);
        vm.startPrank(poor);
        token.approve(address(providers), type(uint256).max);
        providers.register(poor, 10e18);
        vm.stopPrank();
        uint256 jobId = post(oneLayerSpec());
        uint256 required = manager.requiredStake(PRICE, 2);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.InsufficientStake.selector, poor, 10e18, required));
        vm.prank(poor);
        manager.lock(jobId);
    }

    // ============================================================ stake math (spec §11)

    function test_requiredStake_concrete() public view {
        // f0 = 10%, k = 2: miss = 0.81, p = 0.19, net stake = ceil(P * 0.81 / 0.19).
        assertEq(manager.detectionProbability(2), 0.19e18);
        assertEq(StakeMath.requiredStake(19, 1000, 2), 81);
        assertEq(StakeMath.requiredStake(1, 1000, 2), 5); // ceil(0.81/0.19) = ceil(4.26)
        // What lock reserves is grossed up by the 5% bounty: ceil(81 / 0.95) = ceil(85.26).
        assertEq(manager.requiredStake(19, 2), 86);
        assertEq(manager.requiredStake(1, 2), 6); // ceil(5 / 0.95) = ceil(5.26)
        // k = 32: miss = 0.9^32 rounded up; the net stake is below the price, so the price floors
        // it, and the gross-up applies to that floor: ceil(P / 0.95).
        assertEq(StakeMath.requiredStake(PRICE, 1000, 32), PRICE);
        assertEq(manager.requiredStake(PRICE, 32), (PRICE * 10_000 + 9_499) / 9_500);
    }

    function testFuzz_requiredStake_coversExpectedGain(uint128 price, uint16 k, uint16 floorBps) public pure {
        k = uint16(bound(k, 1, 512));
        floorBps = uint16(bound(floorBps, 1, 9999));
        uint256 stake = StakeMath.requiredStake(price, floorBps, k);
        uint256 p = StakeMath.detectionProbability(floorBps, k);
        assertGe(stake, price);
        // p * stake >= (1 - p) * price: cheating at the floor has non-positive expected value.
        assertGe(uint256(stake) * p, uint256(price) * (1e18 - p));
    }

    function test_stakeMath_revertsOnUndefinedDetection() public {
        vm.expectRevert(abi.encodeWithSelector(StakeMath.DetectionUndefined.selector, 1000, 0));
        manager.requiredStake(PRICE, 0);
    }

    // ============================================================ commit

    function test_commit_storesDigestAndSeedBlock() public {
        uint256 jobId = postLocked(twoLayerSpec());
        uint256[] memory roots = rootsFor(2);
        uint64 seedBlock = uint64(block.number) + 2;
        vm.expectEmit(address(manager));
        emit SLAManager.JobCommitted(jobId, roots, ATTESTATION, seedBlock);
        vm.prank(provider);
        manager.commit(jobId, roots, ATTESTATION);
        Job memory j = manager.getJob(jobId);
        assertEq(uint8(j.state), uint8(JobState.Committed));
        assertEq(j.outputsDigest, keccak256(abi.encode(roots, ATTESTATION)));
        assertEq(j.seedBlock, seedBlock);
        // The proof clock starts when the seed is fixed, not at the commit (issue 11).
        assertEq(j.proveBy, 0);
        assertFalse(j.seedFixed);
    }

    function test_commit_reverts() public {
        uint256 jobId = postLocked(twoLayerSpec());
        uint256[] memory roots = rootsFor(2);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, buyer, provider));
        vm.prank(buyer);
        manager.commit(jobId, roots, ATTESTATION);

        vm.startPrank(provider);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.LengthMismatch.selector, 1, 2));
        manager.commit(jobId, rootsFor(1), ATTESTATION);
        roots[1] = R;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NotFieldElement.selector, R));
        manager.commit(jobId, roots, ATTESTATION);
        roots[1] = 5;
        vm.warp(block.timestamp + EXEC + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, jobId, START_TIME + EXEC));
        manager.commit(jobId, roots, ATTESTATION);
        vm.stopPrank();

        uint256 open = post(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, open, JobState.Open));
        vm.prank(provider);
        manager.commit(open, rootsFor(1), ATTESTATION);
    }

    function test_commit_isOnce() public {
        (uint256 jobId, uint256[] memory roots) = postCommitted(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Committed));
        vm.prank(provider);
        manager.commit(jobId, roots, bytes32(uint256(1)));
    }

    // ============================================================ fixSeed (spec §6.2)

    function test_fixSeed_derivesFromLaterBlockHash() public {
        (uint256 jobId,) = postCommitted(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        vm.roll(j.seedBlock + 1);
        bytes32 bh = keccak256("block");
        vm.setBlockhash(j.seedBlock, bh);
        uint256 want = uint256(
            keccak256(
                abi.encodePacked("probity/seed/v1", block.chainid, address(manager), jobId, j.outputsDigest, bh, bytes32(0))
            )
        ) % R;
        vm.expectEmit(address(manager));
        emit SLAManager.SeedFixed(jobId, want, uint64(block.timestamp) + PROVE, false);
        vm.prank(keeper);
        manager.fixSeed(jobId);
        assertEq(manager.getJob(jobId).seed, want);
        assertTrue(manager.getJob(jobId).seedFixed);
    }

    function test_fixSeed_windowAndOnce() public {
        (uint256 jobId,) = postCommitted(oneLayerSpec());
        uint64 sb = manager.getJob(jobId).seedBlock;
        vm.roll(sb);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, sb));
        manager.fixSeed(jobId);
        vm.roll(uint256(sb) + 257);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, uint256(sb) + 257));
        manager.fixSeed(jobId);
        vm.roll(uint256(sb) + 256);
        manager.fixSeed(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedAlreadyFixed.selector, jobId));
        manager.fixSeed(jobId);
        uint256 locked = postLocked(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, locked, JobState.Locked));
        manager.fixSeed(locked);
    }

    function test_layerSeed_matchesSpec() public view {
        uint256 seed = 12345;
        assertEq(manager.layerSeed(seed, 3), uint256(keccak256(abi.encodePacked(seed, uint32(3)))) % R);
    }

    // ============================================================ submitProof

    function test_submitProof_settlesAndPays() public {
        JobSpec memory spec = twoLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256[8][] memory proofs = proofsFor(2);
        assertEq(providers.reservedStake(provider), manager.getJob(jobId).stake);
        bytes32 rd = digestOf(receiptFor(jobId, spec, roots, proofs), domainSeparator());
        vm.expectEmit(address(manager));
        emit SLAManager.JobSettled(jobId, provider, PRICE, rd);
        assertTrue(submit(jobId, spec, roots, proofs));
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Settled));
        assertEq(manager.creditOf(provider), PRICE);
        assertEq(providers.reservedStake(provider), 0);
        assertEq(providers.freeStake(provider), 100_000e18);
        assertEq(manager.totalEscrow(), 0);

        uint256 before = token.balanceOf(provider);
        vm.expectEmit(address(manager));
        emit SLAManager.Withdrawn(provider, provider, PRICE);
        vm.prank(provider);
        manager.withdraw();
        assertEq(token.balanceOf(provider), before + PRICE);
        assertEq(manager.creditOf(provider), 0);
    }

    function test_submitProof_rebuildsPublicInputsFromState() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        uint256 seed = advanceToSeed(jobId);
        verifier.expectInputs([spec.inputRoot, spec.layers[0].weightsRoot, roots[0], manager.layerSeed(seed, 0), EPILOGUE]);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
    }

    function test_submitProof_chainsLayerInputs() public {
        JobSpec memory spec = twoLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        uint256 seed = advanceToSeed(jobId);
        // Layer 1's input is layer 0's output; a verifier expecting layer 1's inputs refuses layer 0,
        // so the job is slashed at layer 0: both layers consult the same mock.
        verifier.expectInputs([roots[0], spec.layers[1].weightsRoot, roots[1], manager.layerSeed(seed, 1), EPILOGUE]);
        vm.expectEmit(address(manager));
        emit SLAManager.ProofRejected(jobId, 0);
        assertFalse(submit(jobId, spec, roots, proofsFor(2)));
    }

    function test_submitProof_fixesSeedWhenNobodyDid() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        Job memory j = manager.getJob(jobId);
        vm.roll(j.seedBlock + 5);
        uint256 seed = expectedSeed(jobId, bytes32(0));
        uint256[8][] memory proofs = proofsFor(1);
        Receipt memory r = receiptFor(jobId, spec, roots, proofs);
        r.seed = seed;
        bytes memory sig = signDigest(nodeKeyPk, digestOf(r, domainSeparator()));
        vm.expectEmit(address(manager));
        emit SLAManager.SeedFixed(jobId, seed, uint64(block.timestamp) + PROVE, false);
        vm.prank(provider);
        assertTrue(manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig));
        assertEq(manager.getJob(jobId).seed, seed);
    }

    function test_submitProof_invalidProofSlashesWithoutBounty() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256 stake = manager.getJob(jobId).stake;
        verifier.setAnswer(false);
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(jobId, provider, address(0), stake, 0);
        assertFalse(submit(jobId, spec, roots, proofsFor(1)));
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Slashed));
        assertEq(manager.creditOf(buyer), PRICE + stake);
        assertEq(manager.creditOf(provider), 0);
        assertEq(providers.reservedStake(provider), 0);
        // The escrow stays in the manager and the stake in the registry, credited there to the buyer.
        assertEq(token.balanceOf(address(manager)), PRICE);
        assertEq(providers.creditOf(buyer), stake);
        assertEq(providers.totalCredits(), stake);
        assertEq(token.balanceOf(address(providers)), providers.totalStaked() + stake);
    }

    function test_submitProof_revertingVerifierCountsAsInvalid() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        verifier.setRevert(true);
        assertFalse(submit(jobId, spec, roots, proofsFor(1)));
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Slashed));
    }

    function test_submitProof_revertsOnStateCallerDeadline() public {
        JobSpec memory spec = oneLayerSpec();
        uint256 locked = postLocked(spec);
        uint256[8][] memory proofs = proofsFor(1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, locked, JobState.Locked));
        vm.prank(provider);
        manager.submitProof(locked, spec, rootsFor(1), ATTESTATION, proofs, "");

        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        bytes memory sig = signReceipt(jobId, spec, roots, proofs);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.Unauthorized.selector, keeper, provider));
        vm.prank(keeper);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);

        uint64 proveBy = manager.getJob(jobId).proveBy;
        vm.warp(proveBy + 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, jobId, proveBy));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);
    }

    function test_submitProof_revertsOnCalldataMismatch() public {
        JobSpec memory spec = twoLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256[8][] memory proofs = proofsFor(2);
        bytes memory sig = signReceipt(jobId, spec, roots, proofs);
        bytes32 specHash = manager.specHashOf(spec);
        bytes32 od = manager.getJob(jobId).outputsDigest;
        vm.startPrank(provider);

        JobSpec memory other = twoLayerSpec();
        other.layers[1].weightsRoot = 334;
        vm.expectRevert(
            abi.encodeWithSelector(SLAManager.SpecMismatch.selector, manager.specHashOf(other), specHash)
        );
        manager.submitProof(jobId, other, roots, ATTESTATION, proofs, sig);

        uint256[] memory otherRoots = rootsFor(2);
        otherRoots[1] = 77;
        vm.expectRevert(
            abi.encodeWithSelector(
                SLAManager.OutputsMismatch.selector, keccak256(abi.encode(otherRoots, ATTESTATION)), od
            )
        );
        manager.submitProof(jobId, spec, otherRoots, ATTESTATION, proofs, sig);

        vm.expectRevert(
            abi.encodeWithSelector(SLAManager.OutputsMismatch.selector, keccak256(abi.encode(roots, bytes32(0))), od)
        );
        manager.submitProof(jobId, spec, roots, bytes32(0), proofs, sig);

        vm.expectRevert(abi.encodeWithSelector(SLAManager.LengthMismatch.selector, 1, 2));
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofsFor(1), sig);
        vm.stopPrank();
    }

    function test_submitProof_revertsBeforeSeedBlock() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        uint64 sb = manager.getJob(jobId).seedBlock;
        vm.expectRevert(abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, sb, block.number));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofsFor(1), "");
    }

    /// @dev Every field of the signed Receipt, the domain and the signature bytes, changed one at a
    ///      time, must be refused with BadReceiptSignature naming the key that did sign.
    function test_submitProof_rejectsEveryMangledReceipt() public {
        JobSpec memory spec = twoLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256[8][] memory proofs = proofsFor(2);
        for (uint256 field = 0; field < 9; ++field) {
            _expectMangledRejected(jobId, spec, roots, proofs, field);
        }
        // Signed by the wrong key.
        bytes32 good = digestOf(receiptFor(jobId, spec, roots, proofs), domainSeparator());
        (, uint256 otherPk) = makeAddrAndKey("other");
        bytes memory wrong = signDigest(otherPk, good);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReceiptSignature.selector, vm.addr(otherPk), nodeKey));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, wrong);
        // A proof changed after signing: the proofs hash differs.
        bytes memory sig = signDigest(nodeKeyPk, good);
        uint256[8][] memory changed = proofsFor(2);
        changed[1][7] ^= 1;
        bytes32 changedDigest = digestOf(receiptFor(jobId, spec, roots, changed), domainSeparator());
        vm.expectRevert(
            abi.encodeWithSelector(SLAManager.BadReceiptSignature.selector, _recover(changedDigest, sig), nodeKey)
        );
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, changed, sig);
        // The honest receipt still settles after all of that.
        assertTrue(submit(jobId, spec, roots, proofs));
    }

    function _expectMangledRejected(
        uint256 jobId,
        JobSpec memory spec,
        uint256[] memory roots,
        uint256[8][] memory proofs,
        uint256 field
    ) private {
        Receipt memory r = receiptFor(jobId, spec, roots, proofs);
        bytes32 good = digestOf(r, domainSeparator());
        bytes32 d = domainSeparator();
        if (field == 0) r.jobId += 1;
        else if (field == 1) r.provider = keeper;
        else if (field == 2) r.specHash = bytes32(uint256(r.specHash) ^ 1);
        else if (field == 3) r.outputRoots = rootsFor(1);
        else if (field == 4) r.attestationDigest = bytes32(uint256(r.attestationDigest) ^ 1);
        else if (field == 5) r.seed ^= 1;
        else if (field == 6) r.k += 1;
        else if (field == 7) r.proofsHash = bytes32(uint256(r.proofsHash) ^ 1);
        else d = keccak256(abi.encode(d, "other domain"));
        bytes memory sig = signDigest(nodeKeyPk, digestOf(r, d));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReceiptSignature.selector, _recover(good, sig), nodeKey));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);
    }

    function test_submitProof_rejectsMalformedSignatures() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256[8][] memory proofs = proofsFor(1);
        bytes32 good = digestOf(receiptFor(jobId, spec, roots, proofs), domainSeparator());
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(nodeKeyPk, good);
        uint256 n = SECP256K1_ORDER;
        bytes[5] memory bad = [
            bytes(""),
            abi.encodePacked(r, s), // 64 bytes: not the 65-byte form of spec §8.2
            abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27)), // high-s twin
            abi.encodePacked(r, s, uint8(v + 2)), // v not 27/28
            abi.encodePacked(r, s, v, uint8(0)) // 66 bytes
        ];
        for (uint256 i = 0; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReceiptSignature.selector, address(0), nodeKey));
            vm.prank(provider);
            manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, bad[i]);
        }
    }

    function test_submitProof_usesCurrentNodeKey() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        uint256[8][] memory proofs = proofsFor(1);
        bytes memory sig = signReceipt(jobId, spec, roots, proofs);
        (address newKey,) = makeAddrAndKey("newKey");
        vm.prank(provider);
        providers.rotateNodeKey(newKey);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadReceiptSignature.selector, nodeKey, newKey));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, sig);
    }

    function test_submitProof_settledIsFinal() public {
        JobSpec memory spec = oneLayerSpec();
        (uint256 jobId, uint256[] memory roots) = postCommitted(spec);
        advanceToSeed(jobId);
        assertTrue(submit(jobId, spec, roots, proofsFor(1)));
        uint256[8][] memory proofs = proofsFor(1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Settled));
        vm.prank(provider);
        manager.submitProof(jobId, spec, roots, ATTESTATION, proofs, "");
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Settled));
        manager.slash(jobId);
    }

    /// @dev The signer the contract reports: ecrecover over the digest it rebuilt.
    function _recover(bytes32 digest, bytes memory sig) private pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        return ecrecover(digest, v, r, s);
    }

    // ============================================================ slash

    function test_slash_afterCommitDeadlinePaysBounty() public {
        uint256 jobId = postLocked(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, j.commitBy));
        manager.slash(jobId);
        vm.warp(j.commitBy + 1);
        uint256 bounty = j.stake * 500 / 10_000;
        vm.expectEmit(address(manager));
        emit SLAManager.JobSlashed(jobId, provider, keeper, j.stake, bounty);
        vm.prank(keeper);
        manager.slash(jobId);
        assertEq(manager.creditOf(keeper), bounty);
        assertEq(manager.creditOf(buyer), PRICE + j.stake - bounty);
        assertEq(providers.reservedStake(provider), 0);
        assertEq(providers.totalStaked(), 100_000e18 - j.stake);
    }

    function test_slash_afterProveDeadline() public {
        (uint256 jobId,) = postCommitted(oneLayerSpec());
        advanceToSeed(jobId);
        Job memory j = manager.getJob(jobId);
        vm.warp(j.proveBy);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, j.proveBy));
        manager.slash(jobId);
        vm.warp(j.proveBy + 1);
        vm.prank(keeper);
        manager.slash(jobId);
        assertEq(uint8(manager.getJob(jobId).state), uint8(JobState.Slashed));
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Slashed));
        manager.slash(jobId);
    }

    function testFuzz_slash_onlyAfterDeadline(uint32 dt, uint16 bountyBps) public {
        bountyBps = uint16(bound(bountyBps, 0, manager.MAX_BOUNTY_BPS()));
        vm.prank(gov);
        manager.setBountyBps(bountyBps);
        uint256 jobId = postLocked(oneLayerSpec());
        Job memory j = manager.getJob(jobId);
        vm.warp(block.timestamp + dt);
        if (block.timestamp <= j.commitBy) {
            vm.expectRevert(abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, j.commitBy));
            manager.slash(jobId);
        } else {
            vm.prank(keeper);
            manager.slash(jobId);
            uint256 bounty = j.stake * bountyBps / 10_000;
            assertEq(j.bountyBps, bountyBps);
            assertEq(manager.creditOf(keeper), bounty);
            assertEq(manager.creditOf(buyer), PRICE + j.stake - bounty);
        }
    }

    function test_slash_revertsOnOpenAndUnknown() public {
        uint256 jobId = post(oneLayerSpec());
        vm.expectRevert(abi.encodeWithSelector(SLAManager.WrongState.selector, jobId, JobState.Open));
        manager.slash(jobId);
    }

    // ============================================================ withdraw

    function test_withdraw_revertsWhenNothing() public {
        vm.expectRevert(abi.encodeWithSelector(SLAManager.NothingToWithdraw.selector, keeper));
        vm.prank(keeper);
        manager.withdraw();
    }

    // ============================================================ governance

    function test_governance_params() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        manager.setBountyBps(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        manager.setDetectionFloorBps(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        manager.setAbandonBps(1);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, buyer));
        vm.prank(buyer);
        manager.setMinWindows(60, 60);
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 2_001));
        manager.setBountyBps(2_001);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 5_001));
        manager.setAbandonBps(5_001);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindow.selector, 0));
        manager.setMinWindows(0, 60);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindow.selector, 0));
        manager.setMinWindows(60, 0);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindow.selector, 30 days + 1));
        manager.setMinWindows(30 days + 1, 60);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadWindow.selector, 30 days + 1));
        manager.setMinWindows(60, 30 days + 1);
        vm.expectEmit(address(manager));
        emit SLAManager.AbandonFeeSet(5_000);
        manager.setAbandonBps(5_000);
        vm.expectEmit(address(manager));
        emit SLAManager.MinWindowsSet(30 days, 1);
        manager.setMinWindows(30 days, 1);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 0));
        manager.setDetectionFloorBps(0);
        vm.expectRevert(abi.encodeWithSelector(SLAManager.BadBps.selector, 10_000));
        manager.setDetectionFloorBps(10_000);
        vm.expectEmit(address(manager));
        emit SLAManager.DetectionFloorSet(2000);
        manager.setDetectionFloorBps(2000);
        vm.expectEmit(address(manager));
        emit SLAManager.BountySet(0);
        manager.setBountyBps(0);
        vm.stopPrank();
        assertEq(manager.detectionFloorBps(), 2000);
        assertEq(manager.bountyBps(), 0);
        assertEq(manager.abandonBps(), 5_000);
        assertEq(manager.minExecWindow(), 30 days);
        assertEq(manager.minProveWindow(), 1);
        assertEq(manager.SEED_DELAY(), 2);
        assertEq(manager.REVEAL_BLOCKS(), 32);
        assertEq(manager.SEED_HORIZON(), 256);
    }

    function test_constructor_rejectsTokenMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(SLAManager.TokenMismatch.selector, address(7), address(token)));
        new SLAManager(IERC20(address(7)), providers, shapes, gov);
    }

    function test_domainSeparator_isProbityV0() public view {
        assertEq(manager.domainSeparator(), domainSeparator());
    }

    function test_registry_onlyManagerMovesStake() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, address(this)));
        providers.slash(provider, 1, 1, provider, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, address(this)));
        providers.reserve(provider, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, address(this)));
        providers.release(provider, 1, 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotManager.selector, address(this)));
        providers.payCredit(buyer, address(this));
    }
}
