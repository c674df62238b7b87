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
import {TraceOpening} from "./types/TraceOpening.sol";
import {Poseidon2} from "./libraries/Poseidon2.sol";

/// @notice What the challenge game needs of the SLA manager.
interface IChallengeTarget {
    function jobIdOf(Request calldata req) external view returns (uint256);
    function getJob(uint256 jobId) external view returns (Job memory);
    function slashChallenged(uint256 jobId, address buyer, address challenger) external;
}

/// @notice Lifecycle of one challenge. Upheld, Voided and Released are final, and so is Answered
///         for an element challenge (kinds 0-2); an answered data challenge (kinds 4-6) holds
///         its bond until {ChallengeManager.release} moves it to Released.
enum ChallengeState {
    None,
    Open,
    Answered,
    Upheld,
    Voided,
    Released
}

/// @notice One challenge of one element of a proved job's trace.
struct Challenge {
    address challenger;
    /// @notice The bond, fixed when the challenge was opened.
    uint96 bond;
    /// @notice The last timestamp at which an answer is accepted.
    uint64 respondBy;
    ChallengeState state;
    /// @notice The job's provider, recorded when a data challenge is answered: who its held
    ///         bond is released to when the job is paid (a Settled job no longer names it).
    address provider;
}

/// @notice A job's challenge bookkeeping: its open challenges, the latest response deadline,
///         and how long answered data challenges keep its window open.
struct JobChallenges {
    uint128 open;
    uint64 lastRespondBy;
    /// @notice The latest `answerData time + proveWindow`: challenges stay open until then
    ///         (and the job unpaid) however early the window ended, so a watcher's search of a
    ///         withheld trace (one opening after another) never runs out of window.
    uint64 dataUntil;
}

/// @title ChallengeManager
/// @notice Targeted challenges of proved jobs (specs/settlement.md, "Challenges"). While a job
///         with a nonzero challenge window is Proved and its window is open, anyone may
///         challenge one element of its committed trace with a bond; the job cannot be paid
///         while a challenge is open. The provider (or anyone) answers an element challenge
///         (kinds 0-2) with a Groth16 proof of the class's targeted statement, whose public
///         inputs [modelRoot, jobDigest, traceRoot, resultDigest, element] are rebuilt here
///         from the request and the job's anchor, never taken from the caller, and a data
///         challenge (kinds 4-6: a tensor's leaf, a row or a column of the committed trace
///         tree) with the node's opening to the trace root ({answerData}), which is emitted so
///         the data of a withheld trace comes on chain: the bond is then held until the job's fate
///         is known ({release}: to the provider once the job is Settled, back to the
///         challenger once it is Slashed), so a watcher's search of a withheld trace costs it
///         nothing when it ends in a slash. A
///         challenge left unanswered past `respondBy` (the job's proveWindow after it was
///         opened) slashes the job, its bounty share of the stake and the bond to the
///         challenger. Deployed by the SLA manager, which it alone may ask to slash. Bonds and
///         payouts are pulled with {withdraw}.
contract ChallengeManager is Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Elements are below 2^99: kind (3 bits) · 2^96 + op · 2^64 + row · 2^32 + col.
    uint256 public constant ELEMENT_BOUND = 1 << 99;
    /// @notice The largest element kind: 0 op result, 1 input row, 2 selected token (element
    ///         kinds, answered with a proof); 4 tensor, 5 row, 6 column (data kinds, answered
    ///         with an opening); 3 is none.
    uint256 public constant MAX_KIND = 6;
    /// @notice The smallest data kind: kinds from it on are answered by {answerData}.
    uint256 public constant FIRST_DATA_KIND = 4;
    /// @dev Sponge tags (protocol.md §4.1, trace.md §5): leaf, node, shape root, tensor leaf,
    ///      trace root; and the trace root's version.
    uint256 private constant TAG_LEAF = 1;
    uint256 private constant TAG_NODE = 2;
    uint256 private constant TAG_ROOT = 3;
    uint256 private constant TAG_TRACE_TENSOR = 32;
    uint256 private constant TAG_TRACE = 33;
    uint256 private constant TRACE_VERSION = 1;
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
    /// @notice A valid targeted proof or trace opening answered the challenge: the bond was
    ///         credited to the provider (an element challenge), or is held until {release} (a
    ///         data challenge).
    event ChallengeAnswered(uint256 indexed jobId, uint256 indexed element, address indexed provider, uint256 bond);
    /// @notice An unanswered challenge slashed the job: the bond was credited back to the challenger.
    event ChallengeUpheld(uint256 indexed jobId, uint256 indexed element, address indexed challenger, uint256 bond);
    /// @notice The job left Proved another way (another challenge slashed it): the bond was
    ///         credited back to the challenger.
    event ChallengeVoided(uint256 indexed jobId, uint256 indexed element, address indexed challenger, uint256 bond);
    /// @notice The opening that answered the data challenge of `element`: the watcher's copy of
    ///         the committed node.
    event TraceOpened(uint256 indexed jobId, uint256 indexed element, TraceOpening opening);
    /// @notice The held bond of an answered data challenge was credited to `to`: the provider
    ///         of a Settled job, the challenger of a Slashed one.
    event DataBondReleased(uint256 indexed jobId, uint256 indexed element, address indexed to, uint256 bond);
    /// @notice An account withdrew its balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Governance set the bond of new challenges.
    event BondSet(uint96 bond);

    /// @notice The job is not in the state the call needs.
    error WrongState(uint256 jobId, JobState state);
    /// @notice The job's challenge window ended at `closesAt` (the later of its payableAt and
    ///         its data challenges' dataUntil).
    error ChallengeClosed(uint256 jobId, uint64 closesAt);
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
    /// @notice The opening does not open the challenged node from the trace root; nothing changed.
    error InvalidOpening(uint256 jobId, uint256 element);
    /// @notice The element is answered the other way: a data kind by {answerData}, an element
    ///         kind by {answer}.
    error WrongAnswerKind(uint256 element);
    /// @notice The job is still Proved: its challenges are answered or upheld, not voided.
    error JobStillProved(uint256 jobId);
    /// @notice The challenge holds no bond to release: it is no answered data challenge (or
    ///         its bond was released).
    error NotReleasable(uint256 jobId, uint256 element, ChallengeState state);
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

    /// @notice Challenges one element of a proved job's trace, or one node of its committed
    ///         trace tree (a data kind), with the current bond (from the caller's balance here
    ///         when it covers it, else by transferFrom). The answer is due within the job's
    ///         proveWindow: the time its provider agreed it can prove in. Open until the job's
    ///         payableAt, or its dataUntil when later.
    /// @param req The job's request.
    /// @param traceRoot The committed trace root (JobCommitted).
    /// @param resultDigest The result digest (JobProved).
    /// @param element The element (kind · 2^96 + op · 2^64 + row · 2^32 + col), canonical
    ///        ({checkElement}).
    function challenge(Request calldata req, uint256 traceRoot, uint256 resultDigest, uint256 element)
        external
        nonReentrant
    {
        (uint256 jobId, Job memory job) = _proved(req);
        JobChallenges storage jc = _jobs[jobId];
        // The window: payableAt, or later while answered data challenges keep it open.
        uint64 closesAt = jc.dataUntil > job.deadline ? jc.dataUntil : uint64(job.deadline);
        if (block.timestamp > closesAt) revert ChallengeClosed(jobId, closesAt);
        _openAnchor(jobId, job, traceRoot, resultDigest);
        checkElement(element);
        Challenge storage c = _challenges[jobId][element];
        if (c.state != ChallengeState.None) revert AlreadyChallenged(jobId, element);
        uint96 b = bond;
        // Each answer gets a whole proveWindow after the previous challenge's deadline: the
        // provider agreed it can prove in one, and N challenges at once would otherwise ask N
        // proofs in one window and slash an honest provider that cannot keep up.
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
        if (element >> 96 >= FIRST_DATA_KIND) revert WrongAnswerKind(element);
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

    /// @notice Answers an open data challenge (kinds 4-6) with the opening of the challenged
    ///         node of the job's committed trace tree ({isOpening}). Anyone may send it: the
    ///         opening is what counts. The bond is held until the job's fate is known
    ///         ({release}), the provider recorded for it, the opening emitted (TraceOpened), and the job's window kept open one proveWindow from now
    ///         (dataUntil), so the watcher can challenge what the opening shows. An opening that
    ///         does not check reverts and changes nothing.
    /// @param req The job's request.
    /// @param traceRoot The committed trace root.
    /// @param resultDigest The result digest.
    /// @param element The challenged data element.
    /// @param o The opening.
    function answerData(
        Request calldata req,
        uint256 traceRoot,
        uint256 resultDigest,
        uint256 element,
        TraceOpening calldata o
    ) external nonReentrant {
        if (element >> 96 < FIRST_DATA_KIND) revert WrongAnswerKind(element);
        (uint256 jobId, Job memory job) = _proved(req);
        _openAnchor(jobId, job, traceRoot, resultDigest);
        Challenge storage c = _openChallenge(jobId, element);
        if (block.timestamp > c.respondBy) revert DeadlinePassed(jobId, c.respondBy);
        if (!isOpening(req.jobDigest, traceRoot, element, o)) revert InvalidOpening(jobId, element);
        address provider = address(uint160(uint256(job.holder) >> 96));
        c.state = ChallengeState.Answered;
        // The bond stays here: paying it now would let a cheater that withholds its trace
        // collect the bond of every step of the watcher's search.
        c.provider = provider;
        _closeOne(jobId);
        JobChallenges storage jc = _jobs[jobId];
        uint64 until = uint64(block.timestamp) + req.proveWindow;
        if (until > jc.dataUntil) jc.dataUntil = until;
        emit ChallengeAnswered(jobId, element, provider, c.bond);
        emit TraceOpened(jobId, element, o);
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

    /// @notice Credits the held bond of an answered data challenge once the job's fate is
    ///         known: to the provider that answered when the job is Settled (it was paid), back
    ///         to the challenger when it is Slashed (by any challenge or deadline). Anyone may
    ///         call.
    /// @param req The job's request.
    /// @param element The answered data element.
    function release(Request calldata req, uint256 element) external nonReentrant {
        uint256 jobId = manager.jobIdOf(req);
        JobState s = manager.getJob(jobId).state;
        if (s == JobState.Proved) revert JobStillProved(jobId);
        if (s != JobState.Settled && s != JobState.Slashed) revert WrongState(jobId, s);
        Challenge storage c = _challenges[jobId][element];
        ChallengeState cs = c.state;
        if (cs != ChallengeState.Answered || element >> 96 < FIRST_DATA_KIND) {
            revert NotReleasable(jobId, element, cs);
        }
        address to = s == JobState.Settled ? c.provider : c.challenger;
        uint96 b = c.bond;
        c.state = ChallengeState.Released;
        emit DataBondReleased(jobId, element, to, b);
        _balances[to] += b;
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

    /// @notice How many challenges of the job are open.
    /// @param jobId The job.
    function openCount(uint256 jobId) external view returns (uint256) {
        return _jobs[jobId].open;
    }

    /// @notice Until when answered data challenges keep the job's window open (0: none answered).
    /// @param jobId The job.
    function dataUntilOf(uint256 jobId) external view returns (uint64) {
        return _jobs[jobId].dataUntil;
    }

    /// @notice Whether the challenge game holds the job's payment: a challenge is open, or an
    ///         answered data challenge keeps its window open (now <= dataUntil). The manager
    ///         pays no job it holds.
    /// @param jobId The job.
    function holds(uint256 jobId) external view returns (bool) {
        JobChallenges memory jc = _jobs[jobId];
        return jc.open != 0 || block.timestamp <= jc.dataUntil;
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

    /// @notice Reverts with BadElement unless `element` is canonical: below 2^99, and kind 0
    ///         (op result at (row, col) of op), 1 (input row) or 2 (selected token) with op =
    ///         col = 0 for kinds 1 and 2, or a data kind: 4 (tensor op's leaf, row = col = 0),
    ///         5 (row `row` of tensor op's row tree, col = 0) or 6 (leaf `col` of tensor op's
    ///         column tree, row = 0). Kinds 3 and 7 are none.
    /// @param element The element.
    function checkElement(uint256 element) public pure {
        if (element >= ELEMENT_BOUND) revert BadElement(element);
        uint256 kind = element >> 96;
        // The fields a kind leaves unused, which must be zero: op (bits 64..95), row
        // (bits 32..63), col (bits 0..31).
        uint256 unused;
        if (kind == 0) return;
        else if (kind <= 2) unused = 0xffffffff_00000000_ffffffff;
        else if (kind == 4) unused = 0xffffffff_ffffffff;
        else if (kind == 5) unused = 0xffffffff;
        else if (kind == 6) unused = 0xffffffff_00000000;
        else revert BadElement(element);
        if (element & unused != 0) revert BadElement(element);
    }

    /// @notice Whether `o` opens the node the data element names from the trace root of a job
    ///         with job digest `jobDigest` (specs/trace.md §5; S(tag; xs) the Poseidon2 sponge,
    ///         node(l, r) = S(NODE; l, r)): (a) S(TRACE; 1, jobDigest, rows, tensors, depth,
    ///         tensorRoot) is the trace root; (b) a tensor t = op >= tensors is nothing and
    ///         needs only (a); (c) else the d-sibling tensorPath walks S(TRACE_TENSOR; t,
    ///         rowRoot, colRoot) up to tensorRoot by the bits of t, which answers kind 4;
    ///         (d) kind 5 (6) opens the row (column) tree: a column root of 0 is no tree;
    ///         else S(ROOT; treeKind, treeRows, treeCols, treeDepth, treeRoot) is the tree's
    ///         root, an index (row, col) >= treeRows is nothing, and else the treeDepth-sibling
    ///         path walks S(LEAF; leaf...) up to treeRoot by the index's bits. A walk needs a
    ///         path of exactly the depth and an index below 2^depth. A word that is no field
    ///         element reverts (Poseidon2.NotFieldElement).
    /// @param jobDigest The job digest (the request's).
    /// @param traceRoot The committed trace root.
    /// @param element A canonical data element (else BadElement or WrongAnswerKind).
    /// @param o The opening.
    function isOpening(uint256 jobDigest, uint256 traceRoot, uint256 element, TraceOpening calldata o)
        public
        pure
        returns (bool)
    {
        checkElement(element);
        uint256 kind = element >> 96;
        if (kind < FIRST_DATA_KIND) revert WrongAnswerKind(element);
        uint256[] memory xs = new uint256[](6);
        xs[0] = TRACE_VERSION;
        xs[1] = jobDigest;
        xs[2] = o.rows;
        xs[3] = o.tensors;
        xs[4] = o.depth;
        xs[5] = o.tensorRoot;
        if (Poseidon2.hash(TAG_TRACE, xs) != traceRoot) return false;
        uint256 t = uint32(element >> 64);
        if (t >= o.tensors) return true;
        assembly ("memory-safe") {
            mstore(xs, 3) // xs := (t, rowRoot, colRoot)
        }
        xs[0] = t;
        xs[1] = o.rowRoot;
        xs[2] = o.colRoot;
        if (!_walk(Poseidon2.hash(TAG_TRACE_TENSOR, xs), t, o.depth, o.tensorPath, o.tensorRoot)) return false;
        if (kind == FIRST_DATA_KIND) return true;
        uint256 root = o.rowRoot;
        uint256 index = uint32(element >> 32);
        if (kind == 6) {
            root = o.colRoot;
            index = uint32(element);
            if (root == 0) return true;
        }
        assembly ("memory-safe") {
            mstore(xs, 5) // xs := (treeKind, treeRows, treeCols, treeDepth, treeRoot)
        }
        xs[0] = o.treeKind;
        xs[1] = o.treeRows;
        xs[2] = o.treeCols;
        xs[3] = o.treeDepth;
        xs[4] = o.treeRoot;
        if (Poseidon2.hash(TAG_ROOT, xs) != root) return false;
        if (index >= o.treeRows) return true;
        return _walk(Poseidon2.hash(TAG_LEAF, o.leaf), index, o.treeDepth, o.path, o.treeRoot);
    }

    // ---------------------------------------------------------------- internal

    /// @dev Whether the siblings walk `cur` (the leaf at `index`) up a tree of `depth` to
    ///      `root`: at height h the node is node(sibling, cur) when bit h of index is 1, else
    ///      node(cur, sibling).
    function _walk(uint256 cur, uint256 index, uint256 depth, uint256[] calldata siblings, uint256 root)
        private
        pure
        returns (bool)
    {
        if (siblings.length != depth || index >> depth != 0) return false;
        uint256[] memory pair = new uint256[](2);
        for (uint256 h; h < depth; ++h) {
            if ((index >> h) & 1 == 1) (pair[0], pair[1]) = (siblings[h], cur);
            else (pair[0], pair[1]) = (cur, siblings[h]);
            cur = Poseidon2.hash(TAG_NODE, pair);
        }
        return cur == root;
    }

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
