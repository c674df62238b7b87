// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

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
///         block hash, and the provider proves k sampled outputs per layer. A valid proof pays
///         the provider; an invalid proof or a missed deadline slashes the reserved stake to the
///         buyer (plus a bounty for whoever triggers a deadline slash). Public inputs are always
///         rebuilt from state, never taken from the caller. Payouts are pulled with {withdraw}.
contract SLAManager is Ownable2Step, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;
    using JobSpecLibrary for JobSpec;

    /// @notice BN254 scalar field order: every public input is below it.
    uint256 public constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Blocks between commit and the block whose hash seeds the challenge (spec §6.2).
    uint64 public constant SEED_DELAY = 2;
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
    /// @notice Share of slashed stake paid to whoever triggers a deadline slash.
    uint16 public bountyBps = 500;
    /// @notice Id of the last posted job (ids start at 1).
    uint256 public jobCount;
    /// @notice Sum of the prices of jobs not yet ended.
    uint256 public totalEscrow;
    /// @notice Sum of all credited, not yet withdrawn balances.
    uint256 public totalCredits;

    mapping(uint256 jobId => Job) private _jobs;
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
        JobSpec spec,
        string inputURI
    );
    /// @notice The buyer cancelled an open job; the escrow was credited back.
    event JobCancelled(uint256 indexed jobId, address indexed buyer);
    /// @notice A provider locked a job and reserved stake for it.
    event JobLocked(uint256 indexed jobId, address indexed provider, uint256 stake, uint64 commitBy);
    /// @notice The provider committed its output roots and attestation digest.
    event JobCommitted(
        uint256 indexed jobId, uint256[] outputRoots, bytes32 attestationDigest, uint64 seedBlock, uint64 proveBy
    );
    /// @notice The challenge seed was fixed.
    event SeedFixed(uint256 indexed jobId, uint256 seed);
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
    /// @notice An account withdrew its credited balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Governance changed the detection floor.
    event DetectionFloorSet(uint16 bps);
    /// @notice Governance changed the bounty share.
    event BountySet(uint16 bps);

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
    /// @notice Zero price, a lock deadline in the past, or a zero window.
    error BadTerms(uint256 price, uint64 lockBy, uint32 execWindow, uint32 proveWindow);
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
    /// @param proveWindow Seconds from commit to the proof deadline.
    /// @param inputURI Where providers fetch the input and model (spec: job manifest).
    /// @return jobId The new job's id.
    function postJob(
        JobSpec calldata spec,
        uint256 price,
        uint64 lockBy,
        uint32 execWindow,
        uint32 proveWindow,
        string calldata inputURI
    ) external nonReentrant returns (uint256 jobId) {
        if (price == 0 || lockBy < block.timestamp || execWindow == 0 || proveWindow == 0) {
            revert BadTerms(price, lockBy, execWindow, proveWindow);
        }
        uint16 kmin = _validateSpec(spec);
        jobId = _createJob(spec, price, lockBy, execWindow, proveWindow, kmin);
        _emitPosted(jobId, spec, inputURI);

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

    /// @notice Locks an open job for the caller and reserves requiredStake(price, kmin) of its free stake.
    /// @param jobId The job.
    function lock(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Open) revert WrongState(jobId, job.state);
        if (block.timestamp > job.lockBy) revert DeadlinePassed(jobId, job.lockBy);
        if (!providers.isRegistered(msg.sender)) revert ProviderNotRegistered(msg.sender);
        uint256 stake = StakeMath.requiredStake(job.price, detectionFloorBps, job.kmin);
        uint256 free = providers.freeStake(msg.sender);
        if (free < stake) revert InsufficientStake(msg.sender, free, stake);

        uint64 commitBy = uint64(block.timestamp) + job.execWindow;
        job.state = JobState.Locked;
        job.provider = msg.sender;
        job.stake = stake;
        job.commitBy = commitBy;
        emit JobLocked(jobId, msg.sender, stake, commitBy);
        providers.reserve(msg.sender, jobId, stake);
    }

    /// @notice Commits every layer's output root and the attestation digest; the seed block is
    ///         fixed SEED_DELAY blocks ahead, so the seed cannot be known now.
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
        uint64 proveBy = uint64(block.timestamp) + job.proveWindow;
        job.state = JobState.Committed;
        job.outputsDigest = outputsDigestOf(outputRoots, attestationDigest);
        job.seedBlock = seedBlock;
        job.proveBy = proveBy;
        emit JobCommitted(jobId, outputRoots, attestationDigest, seedBlock, proveBy);
    }

    /// @notice Fixes the challenge seed from blockhash(seedBlock) (spec §6.2). Anyone may call.
    /// @param jobId The job.
    function fixSeed(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        if (job.state != JobState.Committed) revert WrongState(jobId, job.state);
        if (job.seedFixed) revert SeedAlreadyFixed(jobId);
        _fixSeed(jobId, job);
    }

    /// @notice Submits one proof per layer with the node key's signed receipt. The public inputs
    ///         are rebuilt from the stored spec hash, the committed digest and the seed. All valid:
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

    /// @notice Slashes a job whose commit or proof deadline passed: the bounty share of the
    ///         reserved stake to the caller, the rest and the escrow to the buyer.
    /// @param jobId The job.
    function slash(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        if (job.state == JobState.Locked) {
            if (block.timestamp <= job.commitBy) revert DeadlineNotPassed(jobId, job.commitBy);
        } else if (job.state == JobState.Committed) {
            if (block.timestamp <= job.proveBy) revert DeadlineNotPassed(jobId, job.proveBy);
        } else {
            revert WrongState(jobId, job.state);
        }
        _slash(jobId, job, msg.sender);
    }

    /// @notice Pays out the caller's credited balance.
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        totalCredits -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the detection floor f0 (basis points, strictly between 0 and 10000).
    /// @param bps The new floor.
    function setDetectionFloorBps(uint16 bps) external onlyOwner {
        if (bps == 0 || bps >= BPS) revert BadBps(bps);
        detectionFloorBps = bps;
        emit DetectionFloorSet(bps);
    }

    /// @notice Sets the bounty share of deadline slashes (basis points, at most 10000).
    /// @param bps The new share.
    function setBountyBps(uint16 bps) external onlyOwner {
        if (bps > BPS) revert BadBps(bps);
        bountyBps = bps;
        emit BountySet(bps);
    }

    // ---------------------------------------------------------------- views

    /// @notice The stored job.
    /// @param jobId The job.
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @notice The caller-independent credited balance of `account`.
    /// @param account The account.
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @notice The stake a job of `price` with `k` samples per layer requires now (spec §11).
    /// @param price The price.
    /// @param k The minimum samples over the job's layers.
    function requiredStake(uint256 price, uint16 k) external view returns (uint256) {
        return StakeMath.requiredStake(price, detectionFloorBps, k);
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

    function _emitPosted(uint256 jobId, JobSpec calldata spec, string calldata inputURI) private {
        Job storage job = _jobs[jobId];
        emit JobPosted(
            jobId, job.buyer, job.specHash, job.price, job.lockBy, job.execWindow, job.proveWindow, spec, inputURI
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
        if (block.timestamp > job.proveBy) revert DeadlinePassed(jobId, job.proveBy);
        bytes32 specHash = spec.hash();
        if (specHash != job.specHash) revert SpecMismatch(specHash, job.specHash);
        bytes32 digest = outputsDigestOf(outputRoots, attestationDigest);
        if (digest != job.outputsDigest) revert OutputsMismatch(digest, job.outputsDigest);
        if (numProofs != outputRoots.length) revert LengthMismatch(numProofs, outputRoots.length);
        if (!job.seedFixed) _fixSeed(jobId, job);
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

    function _fixSeed(uint256 jobId, Job storage job) private {
        uint64 seedBlock = job.seedBlock;
        if (block.number <= seedBlock || block.number > uint256(seedBlock) + 256) {
            revert SeedUnavailable(jobId, seedBlock, block.number);
        }
        uint256 seed = uint256(
            keccak256(
                abi.encodePacked(
                    "probity/seed/v0", block.chainid, address(this), jobId, job.outputsDigest, blockhash(seedBlock)
                )
            )
        ) % R;
        job.seed = seed;
        job.seedFixed = true;
        emit SeedFixed(jobId, seed);
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

    function _slash(uint256 jobId, Job storage job, address caller) private {
        uint256 stake = job.stake;
        uint256 bounty = caller == address(0) ? 0 : (stake * bountyBps) / BPS;
        address provider = job.provider;
        address buyer = job.buyer;
        job.state = JobState.Slashed;
        totalEscrow -= job.price;
        emit JobSlashed(jobId, provider, caller, stake, bounty);
        _credit(buyer, job.price + stake - bounty);
        if (bounty > 0) _credit(caller, bounty);
        uint256 before = token.balanceOf(address(this));
        providers.slash(provider, jobId, stake);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != stake) revert TransferAmountMismatch(stake, received);
    }

    function _credit(address account, uint256 amount) private {
        _credits[account] += amount;
        totalCredits += amount;
        emit Credited(account, amount);
    }
}
