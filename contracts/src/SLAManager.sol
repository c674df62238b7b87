// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IGroth16BatchVerifier} from "./interfaces/IGroth16Verifier.sol";
import {ClassRegistry, ClassStatus} from "./ClassRegistry.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {ChallengeManager} from "./ChallengeManager.sol";
import {StakeMath} from "./libraries/StakeMath.sol";
import {IResultHasher} from "./interfaces/IResultHasher.sol";
import {Request, RequestLibrary} from "./types/Request.sol";
import {Job, JobState, Commitment, Submission, Receipt, ReceiptLibrary} from "./types/Settlement.sol";

/// @title SLAManager
/// @notice The SLA state machine (specs/settlement.md): a buyer's request for a generation
///         job, posted by the buyer or signed off chain and posted with a provider's lock; the
///         provider commits the trace root, the chain fixes a seed it cannot choose, and one
///         Groth16 proof of the universal statement settles the job with its result on chain.
///         Proofs of one class settle in batches with one aggregated pairing check. A valid
///         proof pays the provider after the challenge window (at once for a zero window); an
///         invalid proof or a missed deadline slashes the reserved stake to the buyer. Public
///         inputs are rebuilt from the request, the commitment and the seed, never taken from
///         the caller; every balance is pulled with {withdraw}.
contract SLAManager is Ownable2Step, ReentrancyGuardTransient, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice BN254 scalar field order: every public input is below it.
    /// @dev Internal (no getter) to keep the runtime code under EIP-170.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Blocks between commit and the block whose hash seeds the sampling.
    uint64 internal constant SEED_DELAY = 2;
    /// @notice Blocks after the seed block during which only the buyer's reveal can fix the seed
    ///         of a request with a seed commitment.
    uint64 internal constant REVEAL_BLOCKS = 32;
    /// @notice blockhash reaches back 256 blocks: a seed not derivable by seedBlock + SEED_HORIZON
    ///         never will be.
    uint64 internal constant SEED_HORIZON = 256;
    /// @notice Upper bound of bountyBps (the bounty is paid out of the stake).
    uint16 public constant MAX_BOUNTY_BPS = 2_000;
    /// @notice Bounds of abandonBps: giving a locked job back must cost something.
    uint16 internal constant MIN_ABANDON_BPS = 100;
    uint16 internal constant MAX_ABANDON_BPS = 5_000;
    /// @notice Upper bound of the governance window minimums and of a challenge window.
    uint32 internal constant MAX_WINDOW = 30 days;
    /// @notice The most tokens a job may ask for (specs/trace.md §1.2).
    /// @dev Far below trace.md's 2^20: a submission carries the result and hashes it on chain
    ///      (about 700 gas a token), and a job whose submission cannot fit a transaction would
    ///      get whoever locks it slashed. 4096 tokens is about 3M gas; classes bound n lower still.
    uint32 public constant MAX_NEW_TOKENS = 4096;
    /// @notice The most proofs one batch settles.
    uint256 internal constant MAX_BATCH = 32;
    /// @notice Denominator of basis-point parameters.
    uint16 internal constant BPS = 10_000;

    uint8 internal constant FLAG_COMMITMENT = 1;
    uint8 internal constant FLAG_SEED = 2;

    uint8 private constant SKIPPED = 0;
    uint8 private constant PROVED = 1;
    uint8 private constant SLASHED = 2;

    /// @notice The escrow token (also the stake token).
    IERC20 public immutable token;
    /// @notice Provider stake and node keys.
    ProviderRegistry public immutable providers;
    /// @notice Width classes, their verifiers, and the model catalogue.
    ClassRegistry public immutable classes;
    /// @notice The result digest (Poseidon2) of submitted tokens.
    IResultHasher public immutable hasher;
    /// @notice The targeted-challenge game of proved jobs, deployed by this contract.
    ChallengeManager public immutable challenges;

    /// @notice Detection floor f0 in basis points (settlement.md §7).
    uint16 public detectionFloorBps = 1000;
    /// @notice Share of slashed stake paid to whoever triggers a deadline slash (fixed at lock).
    uint16 public bountyBps = 500;
    /// @notice Share of the stake a provider pays the buyer when it abandons (fixed at lock).
    uint16 public abandonBps = 1_000;
    /// @notice Shortest execWindow a request may carry, in seconds.
    uint32 public minExecWindow = 60;
    /// @notice Shortest proveWindow a request may carry, in seconds.
    uint32 public minProveWindow = 60;

    mapping(uint256 jobId => Job) private _jobs;
    mapping(address account => uint256) private _balances;

    /// @notice A job exists: posted by its buyer, or signed by the buyer and locked at once.
    event JobPosted(
        uint256 indexed jobId, address indexed buyer, bytes32 indexed classId, Request request, string inputURI
    );
    /// @notice The buyer cancelled an open job (escrow refunded) or revoked an unposted request.
    event JobCancelled(uint256 indexed jobId, address indexed buyer);
    /// @notice A provider locked a job and reserved stake for it.
    event JobLocked(uint256 indexed jobId, address indexed provider, uint256 stake, uint64 commitBy);
    /// @notice The provider gave a locked job back: `fee` of its stake went to the buyer; the
    ///         job reopened or, past lockBy, was refunded.
    event JobAbandoned(uint256 indexed jobId, address indexed provider, uint256 fee, bool reopened);
    /// @notice The provider committed the trace root and attestation digest. `proveBy` is zero
    ///         while the seed waits for the buyer's reveal. Its provider, stake, trace root and
    ///         attestation digest are the {Commitment} later calls open.
    event JobCommitted(
        uint256 indexed jobId,
        address indexed provider,
        uint256 stake,
        uint256 traceRoot,
        bytes32 attestationDigest,
        uint64 seedBlock,
        uint64 proveBy
    );
    /// @notice The seed was fixed and stored before the submission (`revealed`: with the buyer's secret).
    event SeedFixed(uint256 indexed jobId, uint256 seed, uint64 proveBy, bool revealed);
    /// @notice A proof verified. `result` is the generated tokens packed ten per word
    ///         (specs/trace.md §4); the job pays at `payableAt` (now when the window is zero).
    event JobProved(
        uint256 indexed jobId,
        address indexed provider,
        uint256 seed,
        uint256 resultDigest,
        uint256[] result,
        bytes32 receiptDigest,
        uint64 payableAt
    );
    /// @notice The job's proof failed verification; the job is slashed in the same call.
    event ProofRejected(uint256 indexed jobId);
    /// @notice A batch member was left as it was: `reason` is the error a single submission
    ///         would have reverted with (the job moved on, a deadline passed, or no seed yet).
    event SubmissionSkipped(uint256 indexed jobId, bytes reason);
    /// @notice The price was credited to the provider and its stake released.
    event JobSettled(uint256 indexed jobId, address indexed provider, uint256 price);
    /// @notice Reserved stake was slashed: `bounty` to `caller`, the rest and the escrow to the buyer.
    event JobSlashed(
        uint256 indexed jobId, address indexed provider, address indexed caller, uint256 stake, uint256 bounty
    );
    /// @notice An account deposited escrow balance.
    event Deposited(address indexed account, uint256 amount);
    /// @notice An account withdrew its balance (and its slashed-stake credit) to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Governance changed a parameter.
    event DetectionFloorSet(uint16 bps);
    event BountySet(uint16 bps);
    event AbandonFeeSet(uint16 bps);
    event MinWindowsSet(uint32 execWindow, uint32 proveWindow);

    /// @notice The job is not in the state the call needs.
    error WrongState(uint256 jobId, JobState state);
    /// @notice The caller is not the party the call needs.
    error Unauthorized(address caller, address expected);
    /// @notice The buyer's signature over the request does not verify.
    error BadRequestSignature(uint256 jobId, address buyer);
    /// @notice Zero price, a lock deadline in the past, or a token count outside [1, MAX_NEW_TOKENS].
    error BadTerms(uint256 price, uint64 lockBy, uint32 newTokens);
    /// @notice A window is shorter than the governance minimum or longer than MAX_WINDOW.
    error BadWindows(uint32 execWindow, uint32 proveWindow, uint32 challengeWindow);
    /// @notice A value that must be a field element is not below R.
    error NotFieldElement(uint256 value);
    /// @notice The class is not active (unknown or retired).
    error ClassNotActive(bytes32 classId, ClassStatus status);
    /// @notice The stake lock would reserve does not fit 96 bits.
    error StakeTooLarge(uint256 stake);
    /// @notice The lock would reserve more stake, or fix a higher abandonment fee, than the
    ///         provider accepted (governance changed a rate after the provider priced the job).
    error LockTermsExceeded(uint256 stake, uint256 maxStake, uint16 abandonBps, uint16 maxAbandonBps);
    /// @notice The deadline of this step has passed.
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice The deadline that allows this call has not passed.
    error DeadlineNotPassed(uint256 jobId, uint64 deadline);
    /// @notice The seed block is not yet mined, or more than SEED_HORIZON blocks ago.
    error SeedUnavailable(uint256 jobId, uint64 seedBlock, uint256 blockNumber);
    /// @notice The seed is already fixed.
    error SeedAlreadyFixed(uint256 jobId);
    /// @notice Only the buyer's reveal can fix the seed until block `until`.
    error RevealPending(uint256 jobId, uint64 until, uint256 blockNumber);
    /// @notice No seed commitment, or the secret does not hash to it.
    error BadReveal(uint256 jobId, bytes32 commitment);
    /// @notice The reveal window ended at block `until`.
    error RevealClosed(uint256 jobId, uint64 until, uint256 blockNumber);
    /// @notice The trace root and attestation digest do not hash to the commitment.
    error CommitmentMismatch(uint256 jobId, bytes32 given, bytes32 committed);
    /// @notice The class's verifier reverted (a precompile it calls failed, or it ran out of
    ///         gas): no answer about the proof, so nothing is concluded.
    error VerifierFailed(uint256 jobId);
    /// @notice A batch is empty, above MAX_BATCH, or the arrays differ in length.
    error BadBatch(uint256 length);
    /// @notice Batch members must share one class (one verifier).
    error ClassMismatch(uint256 index, bytes32 classId, bytes32 expected);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Zero amount or zero recipient.
    error ZeroValue();
    /// @notice A basis-point parameter or window minimum is out of range.
    error BadParameter(uint256 value);
    /// @notice The token delivered a different amount than transferred.
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice The escrow token is not the registry's stake token.
    error TokenMismatch(address escrowToken, address stakeToken);

    /// @dev What a submission proves, once its calldata checked out.
    struct Prepared {
        uint256 jobId;
        uint256 seed;
        uint256 resultDigest;
        bytes32 receiptDigest;
        uint256[5] input;
        uint256 stake;
    }

    /// @param token_ The escrow token; must be the registry's stake token.
    /// @param providers_ The provider registry (its manager must be set to this contract).
    /// @param classes_ The class registry.
    /// @param hasher_ The result hasher.
    /// @param owner_ Governance.
    constructor(
        IERC20 token_,
        ProviderRegistry providers_,
        ClassRegistry classes_,
        IResultHasher hasher_,
        address owner_
    )
        Ownable(owner_)
        EIP712("Probity", "1")
    {
        address stakeToken = address(providers_.token());
        if (stakeToken != address(token_)) revert TokenMismatch(address(token_), stakeToken);
        token = token_;
        providers = providers_;
        classes = classes_;
        hasher = hasher_;
        challenges = new ChallengeManager(token_, classes_, owner_);
    }

    // ---------------------------------------------------------------- buyer

    /// @notice Posts the caller's request on chain for any provider to lock, and escrows its
    ///         price (from the caller's balance when it covers it, else by transferFrom).
    /// @param req The request; `req.buyer` must be the caller.
    /// @param inputURI Where providers fetch the job file (emitted only).
    /// @return jobId The request's EIP-712 digest.
    function post(Request calldata req, string calldata inputURI) external nonReentrant returns (uint256 jobId) {
        if (msg.sender != req.buyer) revert Unauthorized(msg.sender, req.buyer);
        jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        if (job.state != JobState.None) revert WrongState(jobId, job.state);
        _checkTerms(req);
        _activeClass(req);
        job.state = JobState.Open;
        job.price = req.price;
        emit JobPosted(jobId, req.buyer, req.classId, req, inputURI);
        _collect(req.buyer, req.price);
    }

    /// @notice Cancels an open job (escrow credited back) or revokes a signed request nobody
    ///         has locked yet.
    /// @param req The request.
    function cancel(Request calldata req) external nonReentrant {
        if (msg.sender != req.buyer) revert Unauthorized(msg.sender, req.buyer);
        uint256 jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        JobState state = job.state;
        if (state != JobState.Open && state != JobState.None) revert WrongState(jobId, state);
        uint256 price = job.price;
        job.state = JobState.Cancelled;
        job.price = 0;
        emit JobCancelled(jobId, req.buyer);
        if (state == JobState.Open) _credit(req.buyer, price);
    }

    /// @notice Adds to the caller's balance, from which requests are escrowed.
    /// @param amount Tokens pulled from the caller.
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroValue();
        _pull(msg.sender, amount);
        _credit(msg.sender, amount);
        emit Deposited(msg.sender, amount);
    }

    // ---------------------------------------------------------------- provider

    /// @notice Locks a request the buyer signed off chain: the job is created, escrowed from the
    ///         buyer (balance, else transferFrom) and locked for the caller in one call.
    ///         The provider bounds what the lock may cost it: the stake reserved and the
    ///         abandonment fee follow the governance rates of the moment, so a rate raised in
    ///         front of the lock transaction reverts it instead of locking on worse terms.
    /// @param req The request.
    /// @param signature The buyer's EIP-712 signature over it (ECDSA, or ERC-1271 for a contract buyer).
    /// @param maxStake The most stake the provider accepts to reserve (type(uint256).max: any).
    /// @param maxAbandonBps The highest abandonment fee it accepts (10000: any).
    /// @return jobId The request's digest.
    function lockRequest(Request calldata req, bytes calldata signature, uint256 maxStake, uint16 maxAbandonBps)
        public
        nonReentrant
        returns (uint256 jobId)
    {
        jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        if (job.state != JobState.None) revert WrongState(jobId, job.state);
        if (!SignatureChecker.isValidSignatureNow(req.buyer, bytes32(jobId), signature)) {
            revert BadRequestSignature(jobId, req.buyer);
        }
        _checkTerms(req);
        uint16 minSlots = _activeClass(req);
        emit JobPosted(jobId, req.buyer, req.classId, req, "");
        _lock(jobId, job, req, minSlots, maxStake, maxAbandonBps);
        _collect(req.buyer, req.price);
    }

    /// @notice {lockRequest} for several signed requests in one transaction (a provider taking a
    ///         batch of jobs). All or nothing: any refused request reverts the call.
    /// @param maxStakes Each request's maxStake.
    /// @param maxAbandonBps The highest abandonment fee accepted, for every request.
    /// @return jobIds The requests' digests.
    function lockRequests(
        Request[] calldata reqs,
        bytes[] calldata signatures,
        uint256[] calldata maxStakes,
        uint16 maxAbandonBps
    ) external returns (uint256[] memory jobIds) {
        uint256 n = reqs.length;
        if (n == 0 || n > MAX_BATCH || signatures.length != n || maxStakes.length != n) revert BadBatch(n);
        jobIds = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            jobIds[i] = lockRequest(reqs[i], signatures[i], maxStakes[i], maxAbandonBps);
        }
    }

    /// @notice {lockRequest} and {commit} in one call, for a provider that ran the job before
    ///         locking it (it risks the work if another provider locks first).
    /// @param req The request.
    /// @param signature The buyer's signature over it.
    /// @param traceRoot The trace root.
    /// @param attestationDigest Digest of the attestation record.
    /// @param maxStake See {lockRequest}.
    /// @param maxAbandonBps See {lockRequest}.
    /// @return jobId The request's digest.
    function lockAndCommit(
        Request calldata req,
        bytes calldata signature,
        uint256 traceRoot,
        bytes32 attestationDigest,
        uint256 maxStake,
        uint16 maxAbandonBps
    ) external returns (uint256 jobId) {
        jobId = lockRequest(req, signature, maxStake, maxAbandonBps);
        _commit(jobId, traceRoot, attestationDigest);
    }

    /// @notice Locks an open job for the caller and reserves its stake; the rates of this
    ///         moment become the job's, bounded as {lockRequest} bounds them.
    /// @param req The request.
    /// @param maxStake See {lockRequest}.
    /// @param maxAbandonBps See {lockRequest}.
    function lock(Request calldata req, uint256 maxStake, uint16 maxAbandonBps) external nonReentrant {
        uint256 jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Open) revert WrongState(jobId, job.state);
        if (block.timestamp > req.lockBy) revert DeadlinePassed(jobId, req.lockBy);
        _lock(jobId, job, req, _activeClass(req), maxStake, maxAbandonBps);
    }

    /// @notice Gives a locked job back before committing: the job's abandonBps share of the
    ///         stake goes to the buyer, the rest is released; the job reopens while lockBy
    ///         allows, else its escrow is refunded.
    /// @param req The request.
    function abandon(Request calldata req) external nonReentrant {
        uint256 jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Locked) revert WrongState(jobId, job.state);
        (address provider, uint256 stake) = _unpackHolder(job.holder);
        if (msg.sender != provider) revert Unauthorized(msg.sender, provider);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        uint256 fee = Math.mulDiv(stake, job.abandonBps, BPS);
        bool reopened = block.timestamp <= req.lockBy;
        uint96 price = job.price;
        // Back to what post left: the state and, while the job is open, its price.
        job.flags = 0;
        job.deadline = 0;
        job.proveWindow = 0;
        job.bountyBps = 0;
        job.abandonBps = 0;
        job.state = reopened ? JobState.Open : JobState.Cancelled;
        job.price = reopened ? price : 0;
        job.holder = 0;
        emit JobAbandoned(jobId, provider, fee, reopened);
        if (!reopened) _credit(req.buyer, price);
        if (fee > 0) providers.forfeit(provider, jobId, fee, req.buyer);
        if (stake > fee) providers.release(provider, jobId, stake - fee);
    }

    /// @notice Commits the trace root and attestation digest; the seed block is SEED_DELAY
    ///         blocks ahead, so the seed cannot be known now. Without a seed commitment the proof
    ///         clock starts here (the seed needs nobody's action); with one it starts when the
    ///         seed is fixed.
    /// @param jobId The job.
    /// @param traceRoot The trace root (specs/trace.md §5), below R.
    /// @param attestationDigest Digest of the attestation record.
    function commit(uint256 jobId, uint256 traceRoot, bytes32 attestationDigest) external {
        _commit(jobId, traceRoot, attestationDigest);
    }

    /// @notice {commit} for several jobs of the caller in one transaction.
    function commitMany(uint256[] calldata jobIds, uint256[] calldata traceRoots, bytes32[] calldata attestationDigests)
        external
    {
        uint256 n = jobIds.length;
        if (n == 0 || traceRoots.length != n || attestationDigests.length != n) revert BadBatch(n);
        for (uint256 i = 0; i < n; ++i) {
            _commit(jobIds[i], traceRoots[i], attestationDigests[i]);
        }
    }

    /// @notice Fixes the seed with the buyer's secret. Anyone holding it may call once the seed
    ///         block is mined and until REVEAL_BLOCKS after it; the proof clock starts now.
    /// @param req The request (for its seed commitment).
    /// @param secret The preimage of the commitment.
    function revealSeed(Request calldata req, bytes32 secret) external {
        uint256 jobId = jobIdOf(req);
        Job storage job = _unseeded(jobId);
        bytes32 commitment = req.seedCommitment;
        if (commitment == bytes32(0) || keccak256(abi.encode(secret)) != commitment) {
            revert BadReveal(jobId, commitment);
        }
        uint64 until = uint64(job.seedBlock) + REVEAL_BLOCKS;
        if (block.number > until) revert RevealClosed(jobId, until, block.number);
        _storeSeed(jobId, job, secret, true);
    }

    /// @notice Fixes and stores the seed without the secret: at once without a seed commitment,
    ///         else once REVEAL_BLOCKS passed unrevealed (then the proof clock starts now). A
    ///         provider whose proof will not be mined by seedBlock + SEED_HORIZON calls this first.
    /// @param jobId The job.
    function fixSeed(uint256 jobId) external {
        Job storage job = _unseeded(jobId);
        if (job.flags & FLAG_COMMITMENT != 0) {
            uint64 until = uint64(job.seedBlock) + REVEAL_BLOCKS;
            if (block.number <= until) revert RevealPending(jobId, until, block.number);
        }
        _storeSeed(jobId, job, bytes32(0), false);
    }

    /// @notice Submits one job's proof and result (the caller must be its provider). Valid: the
    ///         job is proved (result emitted) and paid after its challenge window, at once for a
    ///         zero window. Invalid: the job is slashed (no bounty) and the call succeeds.
    /// @return valid Whether the proof verified.
    function submit(Submission calldata s) external nonReentrant returns (bool valid) {
        (uint256 jobId, Job storage job, bytes memory skip) = _load(s.request);
        if (skip.length != 0) _revertWith(skip);
        Prepared memory p = _prepare(jobId, job, s);
        valid = _verifyOne(IGroth16BatchVerifier(classes.verifierOf(s.request.classId)), p.jobId, s.proof, p.input);
        _conclude(job, s, p, valid);
    }

    /// @notice Submits the proofs of several jobs of one class with one aggregated pairing check.
    ///         A member whose job moved on, whose deadline passed or whose seed is not yet
    ///         derivable is skipped (SubmissionSkipped); malformed calldata reverts the batch.
    ///         When the aggregate check fails, every member is verified alone: valid ones
    ///         proceed, invalid ones are slashed.
    /// @return proved Members whose proof verified.
    /// @return slashed Members slashed for an invalid proof.
    function submitBatch(Submission[] calldata subs)
        external
        nonReentrant
        returns (uint256 proved, uint256 slashed)
    {
        uint256 n = subs.length;
        if (n == 0 || n > MAX_BATCH) revert BadBatch(n);
        bytes32 classId = subs[0].request.classId;
        (Prepared[] memory ps, uint256 live) = _prepareBatch(subs, classId);
        if (live == 0) return (0, 0);
        IGroth16BatchVerifier verifier = IGroth16BatchVerifier(classes.verifierOf(classId));
        bool all = _verifyBatch(verifier, subs, ps, live);
        for (uint256 i = 0; i < n; ++i) {
            if (ps[i].jobId == 0) continue;
            uint8 outcome = _concludeMember(verifier, subs[i], ps[i], all);
            if (outcome == PROVED) ++proved;
            else if (outcome == SLASHED) ++slashed;
        }
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Pays the jobs whose challenge window has ended and which the challenge game does
    ///         not hold (ChallengeManager.holds: no open challenge, no data challenge's window
    ///         running); others are passed over.
    /// @param jobIds Jobs in state Proved.
    /// @return paid How many were paid.
    function finalize(uint256[] calldata jobIds) public nonReentrant returns (uint256 paid) {
        for (uint256 i = 0; i < jobIds.length; ++i) {
            Job storage job = _jobs[jobIds[i]];
            if (job.state != JobState.Proved || block.timestamp <= job.deadline) continue;
            if (challenges.holds(jobIds[i])) continue;
            (address provider, uint256 stake) = _unpackHolder(job.holder);
            _settle(jobIds[i], job, provider, stake);
            ++paid;
        }
    }

    /// @notice Slashes a job whose commit or proof deadline passed, or whose seed can no longer
    ///         be derived: the job's bounty share of the stake to the caller, the rest and the
    ///         escrow to the buyer.
    /// @param req The request.
    /// @param c For a committed job, its commitment (JobCommitted carries it); ignored while
    ///        the job is Locked.
    function slash(Request calldata req, Commitment calldata c) external nonReentrant {
        uint256 jobId = jobIdOf(req);
        Job storage job = _jobs[jobId];
        JobState state = job.state;
        address provider;
        uint256 stake;
        if (state == JobState.Locked) {
            if (block.timestamp <= job.deadline) revert DeadlineNotPassed(jobId, job.deadline);
            (provider, stake) = _unpackHolder(job.holder);
        } else if (state == JobState.Committed) {
            bool expired = job.flags & FLAG_SEED == 0 && block.number > uint256(job.seedBlock) + SEED_HORIZON;
            bool late = job.deadline != 0 && block.timestamp > job.deadline;
            if (!expired && !late) {
                if (job.deadline != 0) revert DeadlineNotPassed(jobId, job.deadline);
                revert SeedUnavailable(jobId, job.seedBlock, block.number);
            }
            _openCommitment(jobId, job, c);
            (provider, stake) = (c.provider, c.stake);
        } else {
            revert WrongState(jobId, state);
        }
        _slash(jobId, job, req.buyer, provider, stake, msg.sender);
    }

    /// @notice Slashes a Proved job whose challenge went unanswered: the job's bounty share of
    ///         the stake to the challenger, the rest and the escrow to the buyer. Only the
    ///         ChallengeManager calls it, with the buyer of the request it hashed to `jobId`.
    /// @param jobId The job.
    /// @param buyer The job's buyer.
    /// @param challenger Who opened the unanswered challenge.
    function slashChallenged(uint256 jobId, address buyer, address challenger) external {
        // No reentrancy guard: the caller is the ChallengeManager (itself guarded), and _slash
        // calls only the registry.
        address cm = address(challenges);
        if (msg.sender != cm) revert Unauthorized(msg.sender, cm);
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Proved) revert WrongState(jobId, job.state);
        (address provider, uint256 stake) = _unpackHolder(job.holder);
        _slash(jobId, job, buyer, provider, stake, challenger);
    }

    /// @notice Pays out the caller's balance (refunds, payments, slashed-stake shares).
    function withdraw() external {
        withdrawTo(msg.sender);
    }

    /// @notice Pays out the caller's balance to `to`.
    /// @param to The recipient.
    function withdrawTo(address to) public nonReentrant {
        _withdraw(to);
    }

    /// @notice Pays the given jobs whose window ended ({finalize}), then the caller's balance to
    ///         `to`: a provider collects many jobs in one transaction.
    /// @param jobIds Jobs in state Proved.
    /// @param to The recipient.
    function collect(uint256[] calldata jobIds, address to) external returns (uint256 paid) {
        paid = finalize(jobIds);
        withdrawTo(to);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the detection floor f0 (basis points, strictly between 0 and 10000).
    function setDetectionFloorBps(uint16 bps) external onlyOwner {
        if (bps == 0 || bps >= BPS) revert BadParameter(bps);
        detectionFloorBps = bps;
        emit DetectionFloorSet(bps);
    }

    /// @notice Sets the bounty share of deadline slashes (at most MAX_BOUNTY_BPS); jobs locked later.
    function setBountyBps(uint16 bps) external onlyOwner {
        if (bps > MAX_BOUNTY_BPS) revert BadParameter(bps);
        bountyBps = bps;
        emit BountySet(bps);
    }

    /// @notice Sets the abandonment fee (MIN_ABANDON_BPS..MAX_ABANDON_BPS); jobs locked later.
    function setAbandonBps(uint16 bps) external onlyOwner {
        if (bps < MIN_ABANDON_BPS || bps > MAX_ABANDON_BPS) revert BadParameter(bps);
        abandonBps = bps;
        emit AbandonFeeSet(bps);
    }

    /// @notice Sets the shortest windows a request may carry (1..MAX_WINDOW seconds): they apply
    ///         to jobs created later (`post`, `lockRequest`); an Open job keeps the terms it was
    ///         posted with, and a provider that locks it judges its windows itself.
    function setMinWindows(uint32 execWindow, uint32 proveWindow) external onlyOwner {
        if (execWindow == 0 || execWindow > MAX_WINDOW) revert BadParameter(execWindow);
        if (proveWindow == 0 || proveWindow > MAX_WINDOW) revert BadParameter(proveWindow);
        minExecWindow = execWindow;
        minProveWindow = proveWindow;
        emit MinWindowsSet(execWindow, proveWindow);
    }

    // ---------------------------------------------------------------- views

    /// @notice The job id of a request: its EIP-712 digest under this manager's domain.
    function jobIdOf(Request calldata req) public view returns (uint256) {
        return uint256(_hashTypedDataV4(RequestLibrary.hash(req)));
    }

    /// @notice The stored job (`holder` is the provider and stake while Locked or Proved, the
    ///         commitment while Committed).
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice The provider and stake of a Locked or Proved job (zero otherwise: a committed
    ///         job's are in its commitment and in JobCommitted).
    function holderOf(uint256 jobId) external view returns (address provider, uint256 stake) {
        Job storage job = _jobs[jobId];
        if (job.state == JobState.Locked || job.state == JobState.Proved) return _unpackHolder(job.holder);
    }

    /// @notice What commit stores: keccak256(abi.encode(provider, uint256 stake, traceRoot,
    ///         attestationDigest)).
    function commitmentOf(Commitment calldata c) public pure returns (bytes32) {
        return _commitmentHash(c.provider, c.stake, c.traceRoot, c.attestationDigest);
    }

    /// @notice What {withdraw} would pay `account`.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account] + providers.creditOf(account);
    }

    /// @notice The stake a lock would reserve now for `price` in a class of `minSlots`.
    function requiredStake(uint256 price, uint16 minSlots) public view returns (uint256) {
        return StakeMath.grossStake(StakeMath.requiredStake(price, detectionFloorBps, minSlots), bountyBps);
    }

    /// @notice p(f0, k) in 18-decimal fixed point, rounded down.
    function detectionProbability(uint16 k) external view returns (uint256) {
        return StakeMath.detectionProbability(detectionFloorBps, k);
    }

    /// @notice The seed a submission would use now: the stored one, else the one derived without
    ///         the secret (reverts when no seed is derivable now, RevealPending while the buyer's
    ///         reveal may still replace it). Only a Committed job has one here; a proved job's
    ///         seed is in JobProved (its seed slot holds the challenge anchor).
    function seedOf(uint256 jobId) external view returns (uint256) {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Committed) revert WrongState(jobId, job.state);
        if (job.flags & FLAG_SEED != 0) return job.seed;
        // Inside a seed commitment's reveal window the seed is not known yet: the secret-less
        // value would be replaced by the buyer's reveal, and a provider proving against it
        // would be slashed for a valid proof of the wrong seed.
        if (job.flags & FLAG_COMMITMENT != 0) {
            uint64 until = uint64(job.seedBlock) + REVEAL_BLOCKS;
            if (block.number <= until) revert RevealPending(jobId, until, block.number);
        }
        return _deriveSeed(jobId, job, bytes32(0));
    }

    /// @notice The EIP-712 domain separator (name "Probity", version "1").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Whether `signature` is the provider's current node key over `receipt`.
    function verifyReceipt(Receipt calldata receipt, bytes calldata signature) external view returns (bool) {
        (address signer, ECDSA.RecoverError rerr,) =
            ECDSA.tryRecover(_hashTypedDataV4(ReceiptLibrary.hash(receipt)), signature);
        return rerr == ECDSA.RecoverError.NoError && signer != address(0)
            && signer == providers.nodeKeyOf(receipt.provider);
    }

    /// @notice The EIP-712 digest a node key signs for `receipt`.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _hashTypedDataV4(ReceiptLibrary.hash(receipt));
    }

    // ---------------------------------------------------------------- internal

    function _checkTerms(Request calldata req) private view {
        if (req.price == 0 || req.lockBy < block.timestamp || req.newTokens == 0 || req.newTokens > MAX_NEW_TOKENS) {
            revert BadTerms(req.price, req.lockBy, req.newTokens);
        }
        if (
            req.execWindow < minExecWindow || req.execWindow > MAX_WINDOW || req.proveWindow < minProveWindow
                || req.proveWindow > MAX_WINDOW || req.challengeWindow > MAX_WINDOW
        ) revert BadWindows(req.execWindow, req.proveWindow, req.challengeWindow);
        if (req.modelRoot >= R) revert NotFieldElement(req.modelRoot);
        if (req.jobDigest >= R) revert NotFieldElement(req.jobDigest);
    }

    /// @dev The class must be active; returns its minSlots. The model catalogue is not
    ///      consulted: it is an open claim, and enforcing it would let the first registrant of a
    ///      root veto every job of the model (settlement.md §2).
    function _activeClass(Request calldata req) private view returns (uint16) {
        (ClassStatus status, uint16 minSlots) = classes.termsOf(req.classId);
        if (status != ClassStatus.Active) revert ClassNotActive(req.classId, status);
        return minSlots;
    }

    function _lock(
        uint256 jobId,
        Job storage job,
        Request calldata req,
        uint16 minSlots,
        uint256 maxStake,
        uint16 maxAbandonBps
    ) private {
        uint16 bounty = bountyBps;
        uint16 abandon = abandonBps;
        uint256 stake = StakeMath.grossStake(StakeMath.requiredStake(req.price, detectionFloorBps, minSlots), bounty);
        if (stake > type(uint96).max) revert StakeTooLarge(stake);
        if (stake > maxStake || abandon > maxAbandonBps) {
            revert LockTermsExceeded(stake, maxStake, abandon, maxAbandonBps);
        }
        uint64 commitBy = uint64(block.timestamp) + req.execWindow;
        job.state = JobState.Locked;
        job.flags = req.seedCommitment != bytes32(0) ? FLAG_COMMITMENT : 0;
        job.deadline = uint40(commitBy);
        job.proveWindow = req.proveWindow;
        job.bountyBps = bounty;
        job.abandonBps = abandon;
        job.price = req.price;
        job.holder = _packHolder(msg.sender, stake);
        emit JobLocked(jobId, msg.sender, stake, commitBy);
        providers.reserve(msg.sender, jobId, stake);
    }

    function _commit(uint256 jobId, uint256 traceRoot, bytes32 attestationDigest) private {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Locked) revert WrongState(jobId, job.state);
        (address provider, uint256 stake) = _unpackHolder(job.holder);
        if (msg.sender != provider) revert Unauthorized(msg.sender, provider);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (traceRoot >= R) revert NotFieldElement(traceRoot);
        uint64 seedBlock = uint64(block.number) + SEED_DELAY;
        uint64 proveBy = job.flags & FLAG_COMMITMENT != 0 ? 0 : uint64(block.timestamp) + job.proveWindow;
        job.state = JobState.Committed;
        job.seedBlock = uint40(seedBlock);
        job.deadline = uint40(proveBy);
        // The holder slot becomes the commitment: no new slot, and later calls open it.
        job.holder = _commitmentHash(provider, stake, traceRoot, attestationDigest);
        emit JobCommitted(jobId, provider, stake, traceRoot, attestationDigest, seedBlock, proveBy);
    }

    /// @dev Requires `c` to open the commitment of a Committed job.
    function _openCommitment(uint256 jobId, Job storage job, Commitment calldata c) private view {
        bytes32 given = commitmentOf(c);
        if (given != job.holder) revert CommitmentMismatch(jobId, given, job.holder);
    }

    /// @dev The one definition of the commitment (settlement.md §3), for commit and commitmentOf.
    function _commitmentHash(address provider, uint256 stake, uint256 traceRoot, bytes32 attestationDigest)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(provider, stake, traceRoot, attestationDigest));
    }

    function _packHolder(address provider, uint256 stake) private pure returns (bytes32) {
        return bytes32((uint256(uint160(provider)) << 96) | stake);
    }

    function _unpackHolder(bytes32 holder) private pure returns (address provider, uint256 stake) {
        provider = address(uint160(uint256(holder) >> 96));
        stake = uint256(holder) & type(uint96).max;
    }

    function _unseeded(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.state != JobState.Committed) revert WrongState(jobId, job.state);
        if (job.flags & FLAG_SEED != 0) revert SeedAlreadyFixed(jobId);
    }

    /// @dev settlement.md §4: from a block hash that did not exist at commit and, when revealed,
    ///      a secret the provider never saw. Reverts outside (seedBlock, seedBlock + SEED_HORIZON].
    function _deriveSeed(uint256 jobId, Job storage job, bytes32 secret) private view returns (uint256) {
        uint64 seedBlock = job.seedBlock;
        if (block.number <= seedBlock || block.number > uint256(seedBlock) + SEED_HORIZON) {
            revert SeedUnavailable(jobId, seedBlock, block.number);
        }
        // A chain whose blockhash does not name its own recent blocks (zero) would make the seed
        // a function of the commitment alone, which the provider chose: no seed at all then.
        bytes32 h = blockhash(seedBlock);
        if (h == bytes32(0)) revert SeedUnavailable(jobId, seedBlock, block.number);
        return uint256(
            keccak256(
                abi.encodePacked(
                    "probity/seed/v2",
                    block.chainid,
                    address(this),
                    jobId,
                    job.holder,
                    h,
                    secret
                )
            )
        ) % R;
    }

    /// @dev Stores the seed; a job with a seed commitment starts its proof clock here.
    function _storeSeed(uint256 jobId, Job storage job, bytes32 secret, bool revealed) private {
        uint256 seed = _deriveSeed(jobId, job, secret);
        uint64 proveBy = job.deadline;
        if (job.flags & FLAG_COMMITMENT != 0) {
            proveBy = uint64(block.timestamp) + job.proveWindow;
            job.deadline = uint40(proveBy);
        }
        job.seed = seed;
        job.flags |= FLAG_SEED;
        emit SeedFixed(jobId, seed, proveBy, revealed);
    }

    /// @dev The checks a batch skips rather than reverts on, because they depend on when the
    ///      transaction lands: the job's state, the proof deadline, the seed's availability.
    function _load(Request calldata req) private view returns (uint256 jobId, Job storage job, bytes memory skip) {
        jobId = jobIdOf(req);
        job = _jobs[jobId];
        if (job.state != JobState.Committed) {
            return (jobId, job, abi.encodeWithSelector(WrongState.selector, jobId, job.state));
        }
        uint64 deadline = job.deadline;
        uint64 seedBlock = job.seedBlock;
        if (job.flags & FLAG_SEED == 0) {
            if (job.flags & FLAG_COMMITMENT != 0 && block.number <= uint256(seedBlock) + REVEAL_BLOCKS) {
                return (jobId, job, abi.encodeWithSelector(RevealPending.selector, jobId, seedBlock + REVEAL_BLOCKS, block.number));
            }
            if (block.number <= seedBlock || block.number > uint256(seedBlock) + SEED_HORIZON) {
                return (jobId, job, abi.encodeWithSelector(SeedUnavailable.selector, jobId, seedBlock, block.number));
            }
        }
        // A commitment job whose seed is derived here starts (and meets) its clock now.
        if (deadline != 0 && block.timestamp > deadline) {
            return (jobId, job, abi.encodeWithSelector(DeadlinePassed.selector, jobId, deadline));
        }
    }

    /// @dev The checks that revert even in a batch: the caller's own data. The receipt's
    ///      signature is not checked here (settlement.md §6): the caller is the provider, and the
    ///      signed document is for auditors, who check it offline or with {verifyReceipt}.
    function _prepare(uint256 jobId, Job storage job, Submission calldata s) private view returns (Prepared memory p) {
        Commitment calldata c = s.commitment;
        address provider = c.provider;
        if (msg.sender != provider) revert Unauthorized(msg.sender, provider);
        _openCommitment(jobId, job, c);
        Request calldata req = s.request;
        p.jobId = jobId;
        p.stake = c.stake;
        p.seed = job.flags & FLAG_SEED != 0 ? job.seed : _deriveSeed(jobId, job, bytes32(0));
        p.resultDigest = hasher.resultDigest(req.newTokens, s.result);
        p.input = [req.modelRoot, req.jobDigest, c.traceRoot, p.resultDigest, p.seed];
        p.receiptDigest = _hashTypedDataV4(
            ReceiptLibrary.hash(
                Receipt({
                    jobId: jobId,
                    provider: provider,
                    modelRoot: req.modelRoot,
                    jobDigest: req.jobDigest,
                    traceRoot: c.traceRoot,
                    attestationDigest: c.attestationDigest,
                    seed: p.seed,
                    resultDigest: p.resultDigest,
                    proofHash: ReceiptLibrary.proofHash(s.proof)
                })
            )
        );
    }

    /// @dev Steps 1 and 2 of settlement.md §5 for every member; skipped members keep jobId 0.
    function _prepareBatch(Submission[] calldata subs, bytes32 classId)
        private
        returns (Prepared[] memory ps, uint256 live)
    {
        ps = new Prepared[](subs.length);
        for (uint256 i = 0; i < subs.length; ++i) {
            Submission calldata s = subs[i];
            if (s.request.classId != classId) revert ClassMismatch(i, s.request.classId, classId);
            (uint256 jobId, Job storage job, bytes memory skip) = _load(s.request);
            if (skip.length != 0) {
                emit SubmissionSkipped(jobId, skip);
                continue;
            }
            ps[i] = _prepare(jobId, job, s);
            ++live;
        }
    }

    /// @dev Concludes one prepared member. A job named twice concludes at its first
    ///      occurrence, and the second is skipped.
    function _concludeMember(IGroth16BatchVerifier verifier, Submission calldata s, Prepared memory p, bool all)
        private
        returns (uint8)
    {
        Job storage job = _jobs[p.jobId];
        if (job.state != JobState.Committed) {
            emit SubmissionSkipped(p.jobId, abi.encodeWithSelector(WrongState.selector, p.jobId, job.state));
            return SKIPPED;
        }
        bool valid = all || _verifyOne(verifier, p.jobId, s.proof, p.input);
        _conclude(job, s, p, valid);
        return valid ? PROVED : SLASHED;
    }

    /// @dev One verifier call with all the gas there is. Only its answer counts: false slashes,
    ///      a revert (a precompile that failed, gas that ran out) reverts the submission, so
    ///      neither too small a gas limit nor a fork that reprices the precompiles can make a
    ///      valid proof read as invalid, and eth_estimateGas finds no cheaper slash path.
    function _verifyOne(IGroth16BatchVerifier verifier, uint256 jobId, uint256[8] calldata proof, uint256[5] memory input)
        private
        view
        returns (bool)
    {
        try verifier.verifyProof(proof, input) returns (bool ok) {
            return ok;
        } catch {
            revert VerifierFailed(jobId);
        }
    }

    /// @dev The aggregate check of the live members (false for a single member, which the
    ///      caller verifies alone).
    function _verifyBatch(
        IGroth16BatchVerifier verifier,
        Submission[] calldata subs,
        Prepared[] memory ps,
        uint256 live
    ) private view returns (bool) {
        if (live == 1) return false;
        uint256[8][] memory proofs = new uint256[8][](live);
        uint256[5][] memory inputs = new uint256[5][](live);
        uint256 k;
        for (uint256 i = 0; i < subs.length; ++i) {
            if (ps[i].jobId == 0) continue;
            proofs[k] = subs[i].proof;
            inputs[k] = ps[i].input;
            ++k;
        }
        // A revert is no answer either; the members are then verified one by one.
        try verifier.verifyBatch(proofs, inputs) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    /// @dev The outcome of a verified (or rejected) submission.
    function _conclude(Job storage job, Submission calldata s, Prepared memory p, bool valid) private {
        address provider = s.commitment.provider;
        if (!valid) {
            emit ProofRejected(p.jobId);
            _slash(p.jobId, job, s.request.buyer, provider, p.stake, address(0));
            return;
        }
        uint32 window = s.request.challengeWindow;
        uint64 payableAt = uint64(block.timestamp) + window;
        emit JobProved(p.jobId, provider, p.seed, p.resultDigest, s.result, p.receiptDigest, payableAt);
        if (window == 0) {
            _settle(p.jobId, job, provider, p.stake);
        } else {
            job.state = JobState.Proved;
            // FLAG_SEED now says that slot 2 holds the anchor (cleared at the final state).
            job.flags = FLAG_SEED;
            job.deadline = uint40(payableAt);
            job.holder = _packHolder(provider, p.stake);
            job.seed = uint256(keccak256(abi.encode(s.commitment.traceRoot, p.resultDigest)));
        }
    }

    function _settle(uint256 jobId, Job storage job, address provider, uint256 stake) private {
        uint256 price = job.price;
        job.state = JobState.Settled;
        _clear(job);
        emit JobSettled(jobId, provider, price);
        _credit(provider, price);
        providers.release(provider, jobId, stake);
    }

    /// @dev A final job needs only its state; clearing the rest refunds gas.
    function _clear(Job storage job) private {
        bool seeded = job.flags & FLAG_SEED != 0;
        job.flags = 0;
        job.seedBlock = 0;
        job.deadline = 0;
        job.proveWindow = 0;
        job.bountyBps = 0;
        job.abandonBps = 0;
        job.price = 0;
        job.holder = 0;
        if (seeded) job.seed = 0;
    }

    /// @dev The stake never leaves the registry: it credits the buyer and the bounty there.
    function _slash(uint256 jobId, Job storage job, address buyer, address provider, uint256 stake, address caller)
        private
    {
        uint256 bounty = caller == address(0) ? 0 : Math.mulDiv(stake, job.bountyBps, BPS);
        uint256 price = job.price;
        job.state = JobState.Slashed;
        _clear(job);
        emit JobSlashed(jobId, provider, caller, stake, bounty);
        _credit(buyer, price);
        providers.slash(provider, jobId, stake, buyer, caller, bounty);
    }

    function _credit(address account, uint256 amount) private {
        _balances[account] += amount;
    }

    /// @dev Escrow from the buyer's balance when it covers the price, else pulled in full.
    function _collect(address buyer, uint256 price) private {
        uint256 balance = _balances[buyer];
        if (balance >= price) {
            // balance >= price was checked just above.
            unchecked {
                _balances[buyer] = balance - price;
            }
        } else {
            _pull(buyer, price);
        }
    }

    function _pull(address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }

    function _withdraw(address to) private {
        if (to == address(0)) revert ZeroValue();
        uint256 amount = _balances[msg.sender];
        uint256 staked = providers.creditOf(msg.sender);
        if (amount == 0 && staked == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount + staked);
        if (amount > 0) token.safeTransfer(to, amount);
        if (staked > 0) providers.payCredit(msg.sender, to);
    }

    function _revertWith(bytes memory reason) private pure {
        assembly ("memory-safe") {
            revert(add(reason, 0x20), mload(reason))
        }
    }
}
