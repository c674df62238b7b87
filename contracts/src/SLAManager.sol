// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IGroth16Verifier} from "./interfaces/IGroth16Verifier.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {ShapeRegistry} from "./ShapeRegistry.sol";
import {StakeMath} from "./libraries/StakeMath.sol";
import {Job, JobState} from "./types/Job.sol";
import {JobSpec, JobSpecLibrary} from "./types/JobSpec.sol";
import {Layer} from "./types/Layer.sol";
import {Receipt, ReceiptLibrary} from "./types/Receipt.sol";
import {Shape, ShapeStatus} from "./types/Shape.sol";

/// @title SLAManager
/// @notice The SLA state machine of spec §10: a buyer escrows a price for a job, a staked
///         provider locks it, commits every output root, the chain fixes a seed from a later
///         block hash mixed with the buyer's revealed secret, and the provider proves k sampled
///         outputs per layer. A valid proof pays the provider; an invalid proof or a missed
///         deadline slashes the reserved stake to the buyer (plus a bounty for whoever triggers
///         a deadline slash). Every deadline leaves room for the step that must follow it: the
///         proof window runs from the seed being fixed, governance sets minimum windows, and the
///         rates a provider can lose by are fixed at lock. Public inputs are always rebuilt from
///         state, never taken from the caller. Payouts are pulled with {withdraw}.
contract SLAManager is Ownable2Step, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;
    using JobSpecLibrary for JobSpec;

    /// @notice BN254 scalar field order: every public input is below it.
    uint256 public constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Blocks between commit and the block whose hash seeds the challenge (spec §6.2).
    uint64 public constant SEED_DELAY = 2;
    /// @notice Blocks after the seed block during which only the buyer's reveal can fix the seed
    ///         of a job posted with a seed commitment; after them anyone may fix it without.
    uint64 public constant REVEAL_BLOCKS = 32;
    /// @notice blockhash reaches back 256 blocks: a seed not fixed by seedBlock + SEED_HORIZON
    ///         can never be, and the job is slashable at once (spec §6.2).
    uint64 public constant SEED_HORIZON = 256;
    /// @notice Upper bound of bountyBps: the bounty is paid out of the stake, so a cap keeps
    ///         the stake gross-up (StakeMath.grossStake) bounded.
    uint16 public constant MAX_BOUNTY_BPS = 2_000;
    /// @notice Upper bound of abandonBps.
    uint16 public constant MAX_ABANDON_BPS = 5_000;
    /// @notice Lower bound of abandonBps: holding a buyer's job for execWindow and giving it back
    ///         must cost something, or locking becomes free griefing.
    uint16 public constant MIN_ABANDON_BPS = 100;
    /// @notice Upper bound of the governance window minimums (30 days).
    uint32 public constant MAX_MIN_WINDOW = 30 days;
    /// @notice Layers per job, bounding the gas of one submission.
    uint256 public constant MAX_LAYERS = 32;
    /// @notice Gas given to each verifier call. Groth16Verifier needs about 217k; the rest is headroom.
    /// @dev The manager refuses to call a verifier with less (InsufficientGasForVerification), so a
    ///      submission that is short of gas reverts instead of reading an out-of-gas verifier as an
    ///      invalid proof. Without this, eth_estimateGas would find the cheaper slash path: the
    ///      lowest gas at which the call "succeeds" is one where the verifier runs out of gas.
    uint256 public constant VERIFIER_GAS = 300_000;
    /// @notice Denominator of basis-point parameters.
    uint16 public constant BPS = 10_000;

    /// @notice The escrow token (also the stake token).
    IERC20 public immutable token;
    /// @notice Provider stake and node keys.
    ProviderRegistry public immutable providers;
    /// @notice Shapes and their verifiers.
    ShapeRegistry public immutable shapes;

    /// @notice Detection floor f0 in basis points (spec §11).
    uint16 public detectionFloorBps = 1000;
    /// @notice Share of slashed stake paid to whoever triggers a deadline slash (fixed per job at lock).
    uint16 public bountyBps = 500;
    /// @notice Share of the reserved stake a provider pays the buyer when it abandons a locked
    ///         job before committing (fixed per job at lock).
    uint16 public abandonBps = 1_000;
    /// @notice Shortest execWindow a job may be posted with, in seconds. Governance should keep
    ///         it above a few block times of the chain (the contract cannot measure them).
    uint32 public minExecWindow = 60;
    /// @notice Shortest proveWindow a job may be posted with, in seconds.
    uint32 public minProveWindow = 60;
    /// @notice Id of the last posted job (ids start at 1).
    uint256 public jobCount;
    /// @notice Sum of the prices of jobs not yet ended.
    uint256 public totalEscrow;
    /// @notice Sum of all credited, not yet withdrawn balances.
    uint256 public totalCredits;

    mapping(uint256 jobId => Job) private _jobs;
    /// @dev keccak256(abi.encode(buyer, seedCommitment)) of every commitment posted: a secret
    ///      revealed for one job is public, so a second job committed to it would let its
    ///      provider know both seed candidates (spec §6.2).
    mapping(bytes32 key => bool) private _commitmentUsed;
    mapping(address account => uint256) private _credits;

    /// @notice A buyer posted a job and escrowed its price.
    event JobPosted(
        uint256 indexed jobId,
        address indexed buyer,
        bytes32 indexed specHash,
        uint256 price,
        uint64 lockBy,
        uint32 execWindow,
        uint32 proveWindow,
        bytes32 seedCommitment,
        JobSpec spec,
        string inputURI
    );
    /// @notice The buyer cancelled an open job; the escrow was credited back.
    event JobCancelled(uint256 indexed jobId, address indexed buyer);
    /// @notice A provider locked a job and reserved stake for it.
    event JobLocked(uint256 indexed jobId, address indexed provider, uint256 stake, uint64 commitBy);
    /// @notice The provider committed its output roots and attestation digest.
    event JobCommitted(uint256 indexed jobId, uint256[] outputRoots, bytes32 attestationDigest, uint64 seedBlock);
    /// @notice The challenge seed was fixed (`revealed`: with the buyer's secret); the proof is due by `proveBy`.
    event SeedFixed(uint256 indexed jobId, uint256 seed, uint64 proveBy, bool revealed);
    /// @notice The provider gave a locked job back before committing: `fee` of its stake went to
    ///         the buyer, the rest was released; the job was reopened or, past lockBy, refunded.
    event JobAbandoned(uint256 indexed jobId, address indexed provider, uint256 fee, bool reopened);
    /// @notice Every layer proof verified; the price was credited to the provider.
    event JobSettled(uint256 indexed jobId, address indexed provider, uint256 price, bytes32 receiptDigest);
    /// @notice A layer proof failed verification; the job is slashed in the same call.
    event ProofRejected(uint256 indexed jobId, uint256 layer);
    /// @notice Reserved stake was slashed: `bounty` to `caller`, the rest and the escrow to the buyer.
    event JobSlashed(
        uint256 indexed jobId, address indexed provider, address indexed caller, uint256 stake, uint256 bounty
    );
    /// @notice An account was credited (pull payment pending).
    event Credited(address indexed account, uint256 amount);
    /// @notice An account withdrew its credited balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Governance changed the detection floor.
    event DetectionFloorSet(uint16 bps);
    /// @notice Governance changed the bounty share.
    event BountySet(uint16 bps);
    /// @notice Governance changed the abandonment fee.
    event AbandonFeeSet(uint16 bps);
    /// @notice Governance changed the minimum windows.
    event MinWindowsSet(uint32 execWindow, uint32 proveWindow);

    /// @notice The job is not in the state the call needs.
    error WrongState(uint256 jobId, JobState state);
    /// @notice The caller is not the party the call needs.
    error Unauthorized(address caller, address expected);
    /// @notice The caller is not a registered provider.
    error ProviderNotRegistered(address caller);
    /// @notice The provider's free stake cannot back the job.
    error InsufficientStake(address provider, uint256 free, uint256 required);
    /// @notice The job has no layers or more than MAX_LAYERS.
    error BadLayerCount(uint256 count);
    /// @notice A layer's shape is not active.
    error ShapeNotActive(uint256 layer, bytes32 shapeId);
    /// @notice A layer's rows depth differs from the first layer's.
    error DepthMismatch(uint256 layer, uint8 depth, uint8 expected);
    /// @notice A layer's input width differs from the previous layer's output width.
    error WidthMismatch(uint256 layer, uint32 K, uint32 previousN);
    /// @notice The row count is zero or above 2^D.
    error BadRows(uint32 rows, uint8 depth);
    /// @notice An epilogue word is not a valid packing (spec §3.2).
    error BadEpilogue(uint256 layer, uint256 epilogue);
    /// @notice A value that must be a field element is not below R.
    error NotFieldElement(uint256 value);
    /// @notice Zero price or a lock deadline in the past.
    error BadTerms(uint256 price, uint64 lockBy);
    /// @notice A window is shorter than the governance minimum (no honest provider could meet it).
    error WindowTooShort(uint32 execWindow, uint32 proveWindow, uint32 minExecWindow, uint32 minProveWindow);
    /// @notice A window minimum is zero or above MAX_MIN_WINDOW.
    error BadWindow(uint32 window);
    /// @notice The deadline of this step has passed.
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice The deadline that allows a slash has not passed.
    error DeadlineNotPassed(uint256 jobId, uint64 deadline);
    /// @notice The number of output roots or proofs differs from the number of layers.
    error LengthMismatch(uint256 given, uint256 expected);
    /// @notice The seed block is not yet in the past, or more than 256 blocks ago.
    error SeedUnavailable(uint256 jobId, uint64 seedBlock, uint256 blockNumber);
    /// @notice The seed is already fixed.
    error SeedAlreadyFixed(uint256 jobId);
    /// @notice Only the buyer's reveal can fix the seed until `until` (block number).
    error RevealPending(uint256 jobId, uint64 until, uint256 blockNumber);
    /// @notice The job was posted without a seed commitment, or the secret does not hash to it.
    error BadReveal(uint256 jobId, bytes32 commitment);
    /// @notice The reveal window ended at block `until`; the seed is now fixed without the secret.
    error RevealClosed(uint256 jobId, uint64 until, uint256 blockNumber);
    /// @notice The buyer already posted a job with this seed commitment (draw a fresh secret per job).
    error SeedCommitmentReused(bytes32 commitment);
    /// @notice The spec calldata does not hash to the stored spec hash.
    error SpecMismatch(bytes32 given, bytes32 expected);
    /// @notice The output roots and attestation digest do not hash to the committed digest.
    error OutputsMismatch(bytes32 given, bytes32 expected);
    /// @notice The receipt signature does not recover to the provider's node key.
    error BadReceiptSignature(address recovered, address nodeKey);
    /// @notice Too little gas left to give a verifier its VERIFIER_GAS.
    error InsufficientGasForVerification(uint256 gasLeft, uint256 needed);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice A withdrawal to the zero address.
    error ZeroRecipient();
    /// @notice A basis-point parameter is out of range.
    error BadBps(uint16 bps);
    /// @notice The token delivered a different amount than transferred.
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice The escrow token is not the registry's stake token (slashed stake could not be paid out).
    error TokenMismatch(address escrowToken, address stakeToken);

    /// @param token_ The escrow token; must be the registry's stake token.
    /// @param providers_ The provider registry.
    /// @param shapes_ The shape registry.
    /// @param owner_ Governance.
    constructor(IERC20 token_, ProviderRegistry providers_, ShapeRegistry shapes_, address owner_)
        Ownable(owner_)
        EIP712("Probity", "0")
    {
        address stakeToken = address(providers_.token());
        if (stakeToken != address(token_)) revert TokenMismatch(address(token_), stakeToken);
        token = token_;
        providers = providers_;
        shapes = shapes_;
    }

    // ---------------------------------------------------------------- buyer

    /// @notice Posts a job and pulls `price` into escrow.
    /// @param spec The job spec; its layers must use active shapes sharing one rows depth, chained
    ///        (K of layer l+1 equals N of layer l), with valid epilogues and field-element roots.
    /// @param price Escrowed payment, paid to the provider on a valid proof.
    /// @param lockBy Last timestamp at which a provider may lock.
    /// @param execWindow Seconds from lock to the commit deadline.
    /// @param proveWindow Seconds from the seed being fixed to the proof deadline.
    /// @param seedCommitment keccak256(abi.encode(bytes32 secret)) of the buyer's seed secret, revealed
    ///        with {revealSeed} after the commit; zero posts the job without buyer entropy (spec §6.2).
    /// @param inputURI Where providers fetch the input and model (spec: job manifest).
    /// @return jobId The new job's id.
    function postJob(
        JobSpec calldata spec,
        uint256 price,
        uint64 lockBy,
        uint32 execWindow,
        uint32 proveWindow,
        bytes32 seedCommitment,
        string calldata inputURI
    ) external nonReentrant returns (uint256 jobId) {
        if (price == 0 || lockBy < block.timestamp) revert BadTerms(price, lockBy);
        if (execWindow < minExecWindow || proveWindow < minProveWindow) {
            revert WindowTooShort(execWindow, proveWindow, minExecWindow, minProveWindow);
        }
        uint16 kmin = _validateSpec(spec);
        jobId = _createJob(spec, price, lockBy, execWindow, proveWindow, kmin);
        if (seedCommitment != bytes32(0)) {
            bytes32 key = keccak256(abi.encode(msg.sender, seedCommitment));
            if (_commitmentUsed[key]) revert SeedCommitmentReused(seedCommitment);
            _commitmentUsed[key] = true;
            _jobs[jobId].seedCommitment = seedCommitment;
        }
        _emitPosted(jobId, spec, seedCommitment, inputURI);

        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), price);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != price) revert TransferAmountMismatch(price, received);
    }

    /// @notice Cancels an open job; the escrow is credited back to the buyer.
    /// @param jobId The job.
    function cancel(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Open) revert WrongState(jobId, job.state);
        if (msg.sender != job.buyer) revert Unauthorized(msg.sender, job.buyer);
        job.state = JobState.Cancelled;
        emit JobCancelled(jobId, job.buyer);
        totalEscrow -= job.price;
        _credit(job.buyer, job.price);
    }

    // ---------------------------------------------------------------- provider

    /// @notice Locks an open job for the caller and reserves requiredStake(price, kmin) of its
    ///         free stake; the bounty and abandonment rates of this moment become the job's.
    /// @param jobId The job.
    function lock(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Open) revert WrongState(jobId, job.state);
        if (block.timestamp > job.lockBy) revert DeadlinePassed(jobId, job.lockBy);
        if (!providers.isRegistered(msg.sender)) revert ProviderNotRegistered(msg.sender);
        uint16 bounty = bountyBps;
        uint256 stake = StakeMath.grossStake(StakeMath.requiredStake(job.price, detectionFloorBps, job.kmin), bounty);
        uint256 free = providers.freeStake(msg.sender);
        if (free < stake) revert InsufficientStake(msg.sender, free, stake);

        uint64 commitBy = uint64(block.timestamp) + job.execWindow;
        job.state = JobState.Locked;
        job.provider = msg.sender;
        job.stake = stake;
        job.commitBy = commitBy;
        job.bountyBps = bounty;
        job.abandonBps = abandonBps;
        emit JobLocked(jobId, msg.sender, stake, commitBy);
        providers.reserve(msg.sender, jobId, stake);
    }

    /// @notice Commits every layer's output root and the attestation digest; the seed block is
    ///         fixed SEED_DELAY blocks ahead, so the seed cannot be known now. The proof deadline
    ///         is set only when the seed is fixed.
    /// @param jobId The job.
    /// @param outputRoots One output commitment per layer.
    /// @param attestationDigest Digest of the attestation record (spec §9).
    function commit(uint256 jobId, uint256[] calldata outputRoots, bytes32 attestationDigest) external {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Locked) revert WrongState(jobId, job.state);
        if (msg.sender != job.provider) revert Unauthorized(msg.sender, job.provider);
        if (block.timestamp > job.commitBy) revert DeadlinePassed(jobId, job.commitBy);
        if (outputRoots.length != job.numLayers) revert LengthMismatch(outputRoots.length, job.numLayers);
        for (uint256 i = 0; i < outputRoots.length; ++i) {
            if (outputRoots[i] >= R) revert NotFieldElement(outputRoots[i]);
        }
        uint64 seedBlock = uint64(block.number) + SEED_DELAY;
        job.state = JobState.Committed;
        job.outputsDigest = outputsDigestOf(outputRoots, attestationDigest);
        job.seedBlock = seedBlock;
        emit JobCommitted(jobId, outputRoots, attestationDigest, seedBlock);
    }

    /// @notice Fixes the challenge seed from blockhash(seedBlock) and the buyer's secret
    ///         (spec §6.2). Anyone holding the secret may call once the seed block is mined and
    ///         until REVEAL_BLOCKS blocks after it; after that only the fallback fixes the seed,
    ///         so that at no block are two seeds available to anyone but the buyer.
    /// @param jobId The job.
    /// @param secret The preimage of the job's seed commitment.
    function revealSeed(uint256 jobId, bytes32 secret) external {
        Job storage job = _committedUnseeded(jobId);
        bytes32 commitment = job.seedCommitment;
        if (commitment == bytes32(0) || keccak256(abi.encode(secret)) != commitment) {
            revert BadReveal(jobId, commitment);
        }
        uint64 until = job.seedBlock + REVEAL_BLOCKS;
        if (block.number > until) revert RevealClosed(jobId, until, block.number);
        _fixSeed(jobId, job, secret, true);
    }

    /// @notice Fixes the challenge seed without the buyer's secret (spec §6.2). Anyone may call:
    ///         at once for a job posted without a seed commitment, otherwise only after
    ///         REVEAL_BLOCKS blocks passed unrevealed.
    /// @param jobId The job.
    function fixSeed(uint256 jobId) external {
        _fixSeedFallback(jobId, _committedUnseeded(jobId));
    }

    /// @notice Submits one proof per layer with the node key's signed receipt. The public inputs
    ///         are rebuilt from the stored spec hash, the committed digest and the seed (fixed here
    ///         when nobody has and {fixSeed} would allow it). All valid:
    ///         the price is credited to the provider and the stake released. Any invalid proof:
    ///         the job is slashed (no bounty) and the call succeeds, so the slash sticks.
    /// @param jobId The job.
    /// @param spec The job spec (must hash to the stored spec hash).
    /// @param outputRoots The committed output roots.
    /// @param attestationDigest The committed attestation digest.
    /// @param proofs One 8-word Groth16 proof per layer (spec §7 layout).
    /// @param signature The node key's 65-byte EIP-712 signature over the Receipt.
    /// @return settled True when the job settled, false when it was slashed.
    function submitProof(
        uint256 jobId,
        JobSpec calldata spec,
        uint256[] calldata outputRoots,
        bytes32 attestationDigest,
        uint256[8][] calldata proofs,
        bytes calldata signature
    ) external nonReentrant returns (bool settled) {
        Job storage job = _checkSubmission(jobId, spec, outputRoots, attestationDigest, proofs.length);
        bytes32 receiptDigest_ =
            _receiptDigestOf(jobId, job, outputRoots, attestationDigest, ReceiptLibrary.proofsHash(proofs));
        _checkSigner(job.provider, receiptDigest_, signature);

        for (uint256 l = 0; l < proofs.length; ++l) {
            if (!_verifyLayer(spec, outputRoots, l, job.seed, proofs[l])) {
                emit ProofRejected(jobId, l);
                _slash(jobId, job, address(0));
                return false;
            }
        }

        job.state = JobState.Settled;
        totalEscrow -= job.price;
        address provider = job.provider;
        emit JobSettled(jobId, provider, job.price, receiptDigest_);
        _credit(provider, job.price);
        providers.release(provider, jobId, job.stake);
        return true;
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Slashes a job whose commit or proof deadline passed, or whose seed can no longer
    ///         be fixed: the job's bounty share of the reserved stake to the caller, the rest and
    ///         the escrow to the buyer.
    /// @param jobId The job.
    function slash(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state == JobState.Locked) {
            if (block.timestamp <= job.commitBy) revert DeadlineNotPassed(jobId, job.commitBy);
        } else if (job.state == JobState.Committed) {
            if (job.seedFixed) {
                if (block.timestamp <= job.proveBy) revert DeadlineNotPassed(jobId, job.proveBy);
            } else if (block.number <= uint256(job.seedBlock) + SEED_HORIZON) {
                // The provider can still fix the seed: the proof clock has not started.
                revert SeedUnavailable(jobId, job.seedBlock, block.number);
            }
        } else {
            revert WrongState(jobId, job.state);
        }
        _slash(jobId, job, msg.sender);
    }

    /// @notice Gives a locked job back before committing, for a provider that finds it cannot
    ///         deliver (a failing executor): cheaper than being slashed at commitBy. The job's
    ///         abandonBps share of the stake goes to the buyer, the rest is released; the job
    ///         reopens for other providers while lockBy allows, else its escrow is refunded.
    /// @param jobId The job.
    function abandon(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Locked) revert WrongState(jobId, job.state);
        address provider = job.provider;
        if (msg.sender != provider) revert Unauthorized(msg.sender, provider);
        if (block.timestamp > job.commitBy) revert DeadlinePassed(jobId, job.commitBy);
        uint256 stake = job.stake;
        // mulDiv: a stake near 2^256 / BPS must not make the job impossible to end.
        uint256 fee = Math.mulDiv(stake, job.abandonBps, BPS);
        address buyer = job.buyer;
        bool reopened = block.timestamp <= job.lockBy;
        job.provider = address(0);
        job.stake = 0;
        job.commitBy = 0;
        job.bountyBps = 0;
        job.abandonBps = 0;
        if (reopened) {
            job.state = JobState.Open;
        } else {
            job.state = JobState.Cancelled;
            totalEscrow -= job.price;
            _credit(buyer, job.price);
        }
        emit JobAbandoned(jobId, provider, fee, reopened);
        if (fee > 0) providers.forfeit(provider, jobId, fee, buyer);
        if (stake > fee) providers.release(provider, jobId, stake - fee);
    }

    /// @notice Pays out the caller's credited balance (escrow refunds, payments and slashed
    ///         stake shares) to the caller.
    function withdraw() external {
        withdrawTo(msg.sender);
    }

    /// @notice Pays out the caller's credited balance to `to`.
    /// @param to The recipient.
    function withdrawTo(address to) public nonReentrant {
        if (to == address(0)) revert ZeroRecipient();
        uint256 amount = _credits[msg.sender];
        uint256 staked = providers.creditOf(msg.sender);
        if (amount == 0 && staked == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, to, amount + staked);
        if (amount > 0) token.safeTransfer(to, amount);
        if (staked > 0) providers.payCredit(msg.sender, to);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the detection floor f0 (basis points, strictly between 0 and 10000).
    /// @param bps The new floor.
    function setDetectionFloorBps(uint16 bps) external onlyOwner {
        if (bps == 0 || bps >= BPS) revert BadBps(bps);
        detectionFloorBps = bps;
        emit DetectionFloorSet(bps);
    }

    /// @notice Sets the bounty share of deadline slashes (basis points, at most MAX_BOUNTY_BPS);
    ///         applies to jobs locked from now on.
    /// @param bps The new share.
    function setBountyBps(uint16 bps) external onlyOwner {
        if (bps > MAX_BOUNTY_BPS) revert BadBps(bps);
        bountyBps = bps;
        emit BountySet(bps);
    }

    /// @notice Sets the abandonment fee (basis points of the stake, MIN_ABANDON_BPS to
    ///         MAX_ABANDON_BPS); applies to jobs locked from now on.
    /// @param bps The new fee.
    function setAbandonBps(uint16 bps) external onlyOwner {
        if (bps < MIN_ABANDON_BPS || bps > MAX_ABANDON_BPS) revert BadBps(bps);
        abandonBps = bps;
        emit AbandonFeeSet(bps);
    }

    /// @notice Sets the shortest windows a job may be posted with (seconds, 1..MAX_MIN_WINDOW);
    ///         jobs posted earlier keep theirs.
    /// @param execWindow Minimum execWindow; should exceed the chain's block time.
    /// @param proveWindow Minimum proveWindow.
    function setMinWindows(uint32 execWindow, uint32 proveWindow) external onlyOwner {
        if (execWindow == 0 || execWindow > MAX_MIN_WINDOW) revert BadWindow(execWindow);
        if (proveWindow == 0 || proveWindow > MAX_MIN_WINDOW) revert BadWindow(proveWindow);
        minExecWindow = execWindow;
        minProveWindow = proveWindow;
        emit MinWindowsSet(execWindow, proveWindow);
    }

    // ---------------------------------------------------------------- views

    /// @notice The stored job.
    /// @param jobId The job.
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice What {withdraw} would pay `account`: credits here plus slashed-stake shares
    ///         held by the registry.
    /// @param account The account.
    function creditOf(address account) external view returns (uint256) {
        return _credits[account] + providers.creditOf(account);
    }

    /// @notice The stake {lock} would reserve now for a job of `price` with `k` samples per
    ///         layer: the detection bound of spec §11 grossed up so that it holds net of the bounty.
    /// @param price The price.
    /// @param k The minimum samples over the job's layers.
    function requiredStake(uint256 price, uint16 k) external view returns (uint256) {
        return StakeMath.grossStake(StakeMath.requiredStake(price, detectionFloorBps, k), bountyBps);
    }

    /// @notice p(f0, k) in 18-decimal fixed point, rounded down (spec §11).
    /// @param k Samples.
    function detectionProbability(uint16 k) external view returns (uint256) {
        return StakeMath.detectionProbability(detectionFloorBps, k);
    }

    /// @notice The EIP-712 domain separator (name "Probity", version "0").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The EIP-712 digest a node key signs for `receipt`.
    /// @param receipt The receipt struct.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _hashTypedDataV4(ReceiptLibrary.hash(receipt));
    }

    /// @notice EIP-712 hashStruct of a job spec (what postJob stores).
    /// @param spec The spec.
    function specHashOf(JobSpec calldata spec) external pure returns (bytes32) {
        return spec.hash();
    }

    /// @notice keccak256(abi.encode(outputRoots, attestationDigest)) (spec §6.2).
    /// @param outputRoots Output roots.
    /// @param attestationDigest Attestation digest.
    function outputsDigestOf(uint256[] calldata outputRoots, bytes32 attestationDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(outputRoots, attestationDigest));
    }

    /// @notice The seed of layer `layer`: keccak256(abi.encodePacked(seed, uint32 layer)) mod R.
    /// @param seed The job seed.
    /// @param layer The layer index.
    function layerSeed(uint256 seed, uint32 layer) public pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(seed, layer))) % R;
    }

    // ---------------------------------------------------------------- internal

    function _createJob(
        JobSpec calldata spec,
        uint256 price,
        uint64 lockBy,
        uint32 execWindow,
        uint32 proveWindow,
        uint16 kmin
    ) private returns (uint256 jobId) {
        jobId = ++jobCount;
        Job storage job = _jobs[jobId];
        job.buyer = msg.sender;
        job.state = JobState.Open;
        job.kmin = kmin;
        job.numLayers = uint8(spec.layers.length);
        job.lockBy = lockBy;
        job.execWindow = execWindow;
        job.proveWindow = proveWindow;
        job.price = price;
        job.specHash = spec.hash();
        totalEscrow += price;
    }

    function _emitPosted(uint256 jobId, JobSpec calldata spec, bytes32 seedCommitment, string calldata inputURI)
        private
    {
        Job storage job = _jobs[jobId];
        emit JobPosted(
            jobId,
            job.buyer,
            job.specHash,
            job.price,
            job.lockBy,
            job.execWindow,
            job.proveWindow,
            seedCommitment,
            spec,
            inputURI
        );
    }

    function _validateSpec(JobSpec calldata spec) private view returns (uint16 kmin) {
        uint256 n = spec.layers.length;
        if (n == 0 || n > MAX_LAYERS) revert BadLayerCount(n);
        if (spec.inputRoot >= R) revert NotFieldElement(spec.inputRoot);
        kmin = type(uint16).max;
        uint8 depth;
        uint32 previousN;
        for (uint256 l = 0; l < n; ++l) {
            Layer calldata layer = spec.layers[l];
            Shape memory s = shapes.shape(layer.shapeId);
            if (s.status != ShapeStatus.Active) revert ShapeNotActive(l, layer.shapeId);
            if (l == 0) {
                depth = s.D;
                if (spec.rows == 0 || uint256(spec.rows) > (uint256(1) << depth)) revert BadRows(spec.rows, depth);
            } else {
                if (s.D != depth) revert DepthMismatch(l, s.D, depth);
                if (s.K != previousN) revert WidthMismatch(l, s.K, previousN);
            }
            previousN = s.N;
            if (layer.weightsRoot >= R) revert NotFieldElement(layer.weightsRoot);
            if (!_validEpilogue(layer.epilogue)) revert BadEpilogue(l, layer.epilogue);
            if (s.k < kmin) kmin = s.k;
        }
    }

    /// @dev e = m + 2^32 s + 2^40 (z+128) + 2^48 relu with m in [1, 2^31), s in [1, 62]
    ///      (spec §3.2); z+128 fills its byte and relu its bit, so e < 2^49 covers them.
    function _validEpilogue(uint256 e) private pure returns (bool) {
        if (e >> 49 != 0) return false;
        uint256 m = e & 0xffffffff;
        uint256 s = (e >> 32) & 0xff;
        return m != 0 && m < (1 << 31) && s >= 1 && s <= 62;
    }

    /// @dev Every check of a submission that does not involve the proofs themselves; fixes the
    ///      seed when nobody has yet.
    function _checkSubmission(
        uint256 jobId,
        JobSpec calldata spec,
        uint256[] calldata outputRoots,
        bytes32 attestationDigest,
        uint256 numProofs
    ) private returns (Job storage job) {
        job = _jobs[jobId];
        if (job.state != JobState.Committed) revert WrongState(jobId, job.state);
        if (msg.sender != job.provider) revert Unauthorized(msg.sender, job.provider);
        if (job.seedFixed && block.timestamp > job.proveBy) revert DeadlinePassed(jobId, job.proveBy);
        bytes32 specHash = spec.hash();
        if (specHash != job.specHash) revert SpecMismatch(specHash, job.specHash);
        bytes32 digest = outputsDigestOf(outputRoots, attestationDigest);
        if (digest != job.outputsDigest) revert OutputsMismatch(digest, job.outputsDigest);
        if (numProofs != outputRoots.length) revert LengthMismatch(numProofs, outputRoots.length);
        if (!job.seedFixed) _fixSeedFallback(jobId, job);
    }

    /// @dev The EIP-712 digest of the Receipt the contract expects for this job (spec §8.2).
    function _receiptDigestOf(
        uint256 jobId,
        Job storage job,
        uint256[] calldata outputRoots,
        bytes32 attestationDigest,
        bytes32 proofsHash
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            ReceiptLibrary.hash(
                Receipt({
                    jobId: jobId,
                    provider: job.provider,
                    specHash: job.specHash,
                    outputRoots: outputRoots,
                    attestationDigest: attestationDigest,
                    seed: job.seed,
                    k: job.kmin,
                    proofsHash: proofsHash
                })
            )
        );
    }

    /// @dev Requires a valid low-s signature by the provider's current node key.
    function _checkSigner(address provider, bytes32 digest, bytes calldata signature) private view {
        address nodeKey = providers.nodeKeyOf(provider);
        (address signer, ECDSA.RecoverError rerr,) = ECDSA.tryRecover(digest, signature);
        if (rerr != ECDSA.RecoverError.NoError || signer != nodeKey) revert BadReceiptSignature(signer, nodeKey);
    }

    function _committedUnseeded(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.state != JobState.Committed) revert WrongState(jobId, job.state);
        if (job.seedFixed) revert SeedAlreadyFixed(jobId);
    }

    /// @dev The seed without the buyer's secret: only once the reveal window has passed.
    function _fixSeedFallback(uint256 jobId, Job storage job) private {
        if (job.seedCommitment != bytes32(0)) {
            uint64 until = job.seedBlock + REVEAL_BLOCKS;
            if (block.number <= until) revert RevealPending(jobId, until, block.number);
        }
        _fixSeed(jobId, job, bytes32(0), false);
    }

    /// @dev Spec §6.2. The proof clock starts here, so however long the seed took to become
    ///      fixable, the provider has all of proveWindow to prove.
    function _fixSeed(uint256 jobId, Job storage job, bytes32 secret, bool revealed) private {
        uint64 seedBlock = job.seedBlock;
        if (block.number <= seedBlock || block.number > uint256(seedBlock) + SEED_HORIZON) {
            revert SeedUnavailable(jobId, seedBlock, block.number);
        }
        uint256 seed = uint256(
            keccak256(
                abi.encodePacked(
                    "probity/seed/v1",
                    block.chainid,
                    address(this),
                    jobId,
                    job.outputsDigest,
                    blockhash(seedBlock),
                    secret
                )
            )
        ) % R;
        uint64 proveBy = uint64(block.timestamp) + job.proveWindow;
        job.seed = seed;
        job.seedFixed = true;
        job.proveBy = proveBy;
        emit SeedFixed(jobId, seed, proveBy, revealed);
    }

    function _verifyLayer(
        JobSpec calldata spec,
        uint256[] calldata outputRoots,
        uint256 l,
        uint256 seed,
        uint256[8] calldata proof
    ) private view returns (bool) {
        Layer calldata layer = spec.layers[l];
        uint256[5] memory input = [
            l == 0 ? spec.inputRoot : outputRoots[l - 1],
            layer.weightsRoot,
            outputRoots[l],
            // l < MAX_LAYERS = 32, so the cast cannot truncate.
            // forge-lint: disable-next-line(unsafe-typecast)
            layerSeed(seed, uint32(l)),
            layer.epilogue
        ];
        address verifier = shapes.verifierOf(layer.shapeId);
        // The call must receive all of VERIFIER_GAS: with 63/64 forwarding that needs a little more
        // left here. Short of it, revert (the submission failed) rather than slash.
        uint256 needed = VERIFIER_GAS + VERIFIER_GAS / 63 + 5_000;
        if (gasleft() < needed) revert InsufficientGasForVerification(gasleft(), needed);
        // A verifier that reverts or exhausts VERIFIER_GAS counts as a rejection (registered
        // verifiers return false instead).
        try IGroth16Verifier(verifier).verifyProof{gas: VERIFIER_GAS}(proof, input) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    /// @dev The stake never leaves the registry: it credits the buyer and the bounty there, so a
    ///      token that starts charging transfer fees cannot make a slash revert (spec §10).
    function _slash(uint256 jobId, Job storage job, address caller) private {
        uint256 stake = job.stake;
        uint256 bounty = caller == address(0) ? 0 : Math.mulDiv(stake, job.bountyBps, BPS);
        address provider = job.provider;
        address buyer = job.buyer;
        job.state = JobState.Slashed;
        totalEscrow -= job.price;
        emit JobSlashed(jobId, provider, caller, stake, bounty);
        _credit(buyer, job.price);
        providers.slash(provider, jobId, stake, buyer, caller, bounty);
    }

    function _credit(address account, uint256 amount) private {
        _credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, amount);
    }
}
