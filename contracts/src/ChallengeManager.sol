// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IGroth16Verifier} from "./interfaces/IGroth16Verifier.sol";
import {ClassRegistry} from "./ClassRegistry.sol";
import {Request} from "./types/Request.sol";
import {Job, JobState} from "./types/Settlement.sol";

/// @notice What the challenge game needs of the SLA manager.
interface IChallengeTarget {
    function jobIdOf(Request calldata req) external view returns (uint256);
    function getJob(uint256 jobId) external view returns (Job memory);
    function slashChallenged(uint256 jobId, address buyer, address challenger) external;
}

/// @notice Lifecycle of one challenge. Answered, Upheld and Voided are final.
enum ChallengeState {
    None,
    Open,
    Answered,
    Upheld,
    Voided
}

/// @notice One challenge of one element of a proved job's trace.
struct Challenge {
    address challenger;
    /// @notice The bond, fixed when the challenge was opened.
    uint96 bond;
    /// @notice The last timestamp at which an answer is accepted.
    uint64 respondBy;
    ChallengeState state;
}

/// @notice A job's challenge bookkeeping: its open challenges and the latest response deadline.
struct JobChallenges {
    uint128 open;
    uint64 lastRespondBy;
}

/// @title ChallengeManager
/// @notice Targeted challenges of proved jobs (specs/settlement.md, "Challenges"). While a job
///         with a nonzero challenge window is Proved and its window is open, anyone may
///         challenge one element of its committed trace with a bond; the job cannot be paid
///         while a challenge is open. The provider (or anyone) answers with a Groth16 proof of
///         the class's targeted statement, whose public inputs
///         [modelRoot, jobDigest, traceRoot, resultDigest, element] are rebuilt here from the
///         request and the job's anchor, never taken from the caller: the bond then goes to
///         the provider. A challenge left unanswered past `respondBy` (the job's proveWindow
///         after it was opened) slashes the job, its bounty share of the stake and the bond to
///         the challenger. Deployed by the SLA manager, which it alone may ask to slash.
///         Bonds and payouts are pulled with {withdraw}.
contract ChallengeManager is Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Elements are below 2^98: kind (2 bits) · 2^96 + op · 2^64 + row · 2^32 + col.
    uint256 public constant ELEMENT_BOUND = 1 << 98;
    /// @notice The largest element kind (0 op result, 1 input row, 2 selected token).
    uint256 public constant MAX_KIND = 2;
    /// @notice The bond of a new deployment, until governance sets another.
    uint96 public constant INITIAL_BOND = 10e18;

    /// @notice The SLA manager that deployed this contract.
    IChallengeTarget public immutable manager;
    /// @notice The bond token (the manager's escrow token).
    IERC20 public immutable token;
    /// @notice The class registry, for each class's targeted verifier.
    ClassRegistry public immutable classes;

    /// @notice The bond a new challenge takes.
    uint96 public bond = INITIAL_BOND;

    mapping(uint256 jobId => mapping(uint256 element => Challenge)) private _challenges;
    /// @dev Per job: the open challenges, and the latest response deadline given (answers are
    ///      due one proveWindow apart, so a flood of challenges delays a job, never outruns its
    ///      provider).
    mapping(uint256 jobId => JobChallenges) private _jobs;
    mapping(address account => uint256) private _balances;

    /// @notice `challenger` challenged `element` of a proved job; an answer is due by `respondBy`.
    event ChallengeOpened(
        uint256 indexed jobId, uint256 indexed element, address indexed challenger, uint256 bond, uint64 respondBy
    );
    /// @notice A valid targeted proof answered the challenge: the bond was credited to the provider.
    event ChallengeAnswered(uint256 indexed jobId, uint256 indexed element, address indexed provider, uint256 bond);
    /// @notice An unanswered challenge slashed the job: the bond was credited back to the challenger.
    event ChallengeUpheld(uint256 indexed jobId, uint256 indexed element, address indexed challenger, uint256 bond);
    /// @notice The job left Proved another way (another challenge slashed it): the bond was
    ///         credited back to the challenger.
    event ChallengeVoided(uint256 indexed jobId, uint256 indexed element, address indexed challenger, uint256 bond);
    /// @notice An account withdrew its balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Governance set the bond of new challenges.
    event BondSet(uint96 bond);

    /// @notice The job is not in the state the call needs.
    error WrongState(uint256 jobId, JobState state);
    /// @notice The job's challenge window ended at `payableAt`.
    error ChallengeClosed(uint256 jobId, uint64 payableAt);
    /// @notice The trace root and result digest do not hash to the job's anchor.
    error AnchorMismatch(uint256 jobId, bytes32 given, bytes32 anchor);
    /// @notice The element is not canonical.
    error BadElement(uint256 element);
    /// @notice The element was challenged on this job before.
    error AlreadyChallenged(uint256 jobId, uint256 element);
    /// @notice The challenge is not open.
    error ChallengeNotOpen(uint256 jobId, uint256 element, ChallengeState state);
    /// @notice The answer is due by `respondBy`, which has passed.
    error DeadlinePassed(uint256 jobId, uint64 respondBy);
    /// @notice The challenge can be upheld only after `respondBy`.
    error DeadlineNotPassed(uint256 jobId, uint64 respondBy);
    /// @notice The targeted verifier reverted: no answer about the proof, nothing concluded.
    error VerifierFailed(uint256 jobId);
    /// @notice The answer's proof does not verify; nothing changed.
    error InvalidAnswer(uint256 jobId, uint256 element);
    /// @notice The job is still Proved: its challenges are answered or upheld, not voided.
    error JobStillProved(uint256 jobId);
    /// @notice A parameter is out of range.
    error BadParameter(uint256 value);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(address account);
    /// @notice Zero recipient.
    error ZeroValue();
    /// @notice The token delivered a different amount than transferred.
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @param token_ The bond token.
    /// @param classes_ The class registry.
    /// @param owner_ Governance. The deployer is the SLA manager.
    constructor(IERC20 token_, ClassRegistry classes_, address owner_) Ownable(owner_) {
        manager = IChallengeTarget(msg.sender);
        token = token_;
        classes = classes_;
    }

    // ---------------------------------------------------------------- challenge game

    /// @notice Challenges one element of a proved job's trace with the current bond (from the
    ///         caller's balance here when it covers it, else by transferFrom). The answer is
    ///         due within the job's proveWindow: the time its provider agreed it can prove in.
    /// @param req The job's request.
    /// @param traceRoot The committed trace root (JobCommitted).
    /// @param resultDigest The result digest (JobProved).
    /// @param element The element (kind · 2^96 + op · 2^64 + row · 2^32 + col), canonical.
    function challenge(Request calldata req, uint256 traceRoot, uint256 resultDigest, uint256 element)
        external
        nonReentrant
    {
        (uint256 jobId, Job memory job) = _proved(req);
        if (block.timestamp > job.deadline) revert ChallengeClosed(jobId, uint64(job.deadline));
        _openAnchor(jobId, job, traceRoot, resultDigest);
        checkElement(element);
        Challenge storage c = _challenges[jobId][element];
        if (c.state != ChallengeState.None) revert AlreadyChallenged(jobId, element);
        uint96 b = bond;
        // Each answer gets a whole proveWindow after the previous challenge's deadline: the
        // provider agreed it can prove in one, and N challenges at once would otherwise ask N
        // proofs in one window and slash an honest provider that cannot keep up.
        JobChallenges storage jc = _jobs[jobId];
        uint64 start = jc.lastRespondBy > block.timestamp ? jc.lastRespondBy : uint64(block.timestamp);
        uint64 respondBy = start + req.proveWindow;
        jc.lastRespondBy = respondBy;
        ++jc.open;
        c.challenger = msg.sender;
        c.bond = b;
        c.respondBy = respondBy;
        c.state = ChallengeState.Open;
        emit ChallengeOpened(jobId, element, msg.sender, b, respondBy);
        _collect(msg.sender, b);
    }

    /// @notice Answers an open challenge with a proof of the class's targeted statement. Anyone
    ///         may send it: the proof is what counts. The bond is credited to the job's provider.
    ///         A proof that does not verify reverts and changes nothing.
    /// @param req The job's request.
    /// @param traceRoot The committed trace root.
    /// @param resultDigest The result digest.
    /// @param element The challenged element.
    /// @param proof The Groth16 proof, in the verifier's layout.
    function answer(
        Request calldata req,
        uint256 traceRoot,
        uint256 resultDigest,
        uint256 element,
        uint256[8] calldata proof
    ) external nonReentrant {
        (uint256 jobId, Job memory job) = _proved(req);
        _openAnchor(jobId, job, traceRoot, resultDigest);
        Challenge storage c = _openChallenge(jobId, element);
        if (block.timestamp > c.respondBy) revert DeadlinePassed(jobId, c.respondBy);
        IGroth16Verifier verifier = IGroth16Verifier(classes.targetedVerifierOf(req.classId));
        uint256[5] memory input = [req.modelRoot, req.jobDigest, traceRoot, resultDigest, element];
        // All the gas goes to the verifier, and only its answer counts: a revert is no answer.
        bool ok;
        try verifier.verifyProof(proof, input) returns (bool valid) {
            ok = valid;
        } catch {
            revert VerifierFailed(jobId);
        }
        if (!ok) revert InvalidAnswer(jobId, element);
        address provider = address(uint160(uint256(job.holder) >> 96));
        uint96 b = c.bond;
        c.state = ChallengeState.Answered;
        _closeOne(jobId);
        emit ChallengeAnswered(jobId, element, provider, b);
        _balances[provider] += b;
    }

    /// @notice Upholds a challenge left unanswered past its respondBy: the job is slashed, its
    ///         bounty share of the stake to the challenger, the rest and the escrow to the buyer,
    ///         and the bond is credited back to the challenger. Anyone may call.
    /// @param req The job's request.
    /// @param element The challenged element.
    function enforce(Request calldata req, uint256 element) external nonReentrant {
        (uint256 jobId,) = _proved(req);
        Challenge storage c = _openChallenge(jobId, element);
        if (block.timestamp <= c.respondBy) revert DeadlineNotPassed(jobId, c.respondBy);
        address challenger = c.challenger;
        uint96 b = c.bond;
        c.state = ChallengeState.Upheld;
        _closeOne(jobId);
        emit ChallengeUpheld(jobId, element, challenger, b);
        _balances[challenger] += b;
        manager.slashChallenged(jobId, req.buyer, challenger);
    }

    /// @notice Credits the bond of an open challenge back to its challenger once the job is no
    ///         longer Proved (another challenge slashed it). Anyone may call.
    /// @param req The job's request.
    /// @param element The challenged element.
    function reclaim(Request calldata req, uint256 element) external nonReentrant {
        uint256 jobId = manager.jobIdOf(req);
        JobState s = manager.getJob(jobId).state;
        if (s == JobState.Proved) revert JobStillProved(jobId);
        Challenge storage c = _openChallenge(jobId, element);
        address challenger = c.challenger;
        uint96 b = c.bond;
        c.state = ChallengeState.Voided;
        _closeOne(jobId);
        emit ChallengeVoided(jobId, element, challenger, b);
        _balances[challenger] += b;
    }

    // ---------------------------------------------------------------- balances

    /// @notice Pays out the caller's balance (bonds returned or won).
    function withdraw() external {
        withdrawTo(msg.sender);
    }

    /// @notice Pays out the caller's balance to `to`.
    /// @param to The recipient.
    function withdrawTo(address to) public nonReentrant {
        if (to == address(0)) revert ZeroValue();
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Sets the bond of challenges opened later (nonzero); open ones keep theirs.
    /// @param bond_ The bond in token units.
    function setBond(uint96 bond_) external onlyOwner {
        if (bond_ == 0) revert BadParameter(bond_);
        bond = bond_;
        emit BondSet(bond_);
    }

    // ---------------------------------------------------------------- views

    /// @notice The challenge of `element` on a job (state None when never challenged).
    /// @param jobId The job.
    /// @param element The element.
    function challengeOf(uint256 jobId, uint256 element) external view returns (Challenge memory) {
        return _challenges[jobId][element];
    }

    /// @notice How many challenges of the job are open; the manager pays no job with any.
    /// @param jobId The job.
    function openCount(uint256 jobId) external view returns (uint256) {
        return _jobs[jobId].open;
    }

    /// @notice What {withdraw} would pay `account`.
    /// @param account The account.
    function balanceOf(address account) external view returns (uint256) {
        return _balances[account];
    }

    /// @notice What the manager stores as a proved job's anchor: keccak256(abi.encode(traceRoot,
    ///         resultDigest)).
    function anchorOf(uint256 traceRoot, uint256 resultDigest) public pure returns (bytes32) {
        return keccak256(abi.encode(traceRoot, resultDigest));
    }

    /// @notice Reverts with BadElement unless `element` is canonical: below 2^98, kind at most
    ///         2, and op = col = 0 for kinds 1 (input row) and 2 (selected token).
    /// @param element The element.
    function checkElement(uint256 element) public pure {
        if (element >= ELEMENT_BOUND) revert BadElement(element);
        uint256 kind = element >> 96;
        if (kind > MAX_KIND) revert BadElement(element);
        // Kinds 1 and 2 name a row only: the op (bits 64..95) and col (bits 0..31) are zero.
        if (kind != 0 && element & 0xffffffff_00000000_ffffffff != 0) revert BadElement(element);
    }

    // ---------------------------------------------------------------- internal

    function _proved(Request calldata req) private view returns (uint256 jobId, Job memory job) {
        jobId = manager.jobIdOf(req);
        job = manager.getJob(jobId);
        if (job.state != JobState.Proved) revert WrongState(jobId, job.state);
    }

    function _openAnchor(uint256 jobId, Job memory job, uint256 traceRoot, uint256 resultDigest) private pure {
        bytes32 given = anchorOf(traceRoot, resultDigest);
        if (given != bytes32(job.seed)) revert AnchorMismatch(jobId, given, bytes32(job.seed));
    }

    function _openChallenge(uint256 jobId, uint256 element) private view returns (Challenge storage c) {
        c = _challenges[jobId][element];
        if (c.state != ChallengeState.Open) revert ChallengeNotOpen(jobId, element, c.state);
    }

    function _closeOne(uint256 jobId) private {
        // An open challenge was counted when it opened, and each closes once.
        unchecked {
            --_jobs[jobId].open;
        }
    }

    /// @dev The bond from the caller's balance when it covers it, else pulled in full.
    function _collect(address from, uint256 amount) private {
        uint256 balance = _balances[from];
        if (balance >= amount) {
            // balance >= amount was checked just above.
            unchecked {
                _balances[from] = balance - amount;
            }
        } else {
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(from, address(this), amount);
            uint256 received = token.balanceOf(address(this)) - before;
            if (received != amount) revert TransferAmountMismatch(amount, received);
        }
    }
}
