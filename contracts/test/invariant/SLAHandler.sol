// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {ChallengeManager, ChallengeState} from "../../src/ChallengeManager.sol";
import {IResultHasher} from "../../src/interfaces/IResultHasher.sol";
import {ResultDigest} from "../../src/libraries/ResultDigest.sol";
import {Request} from "../../src/types/Request.sol";
import {Job, JobState, Commitment, Submission} from "../../src/types/Settlement.sol";
import {SyntheticGroth16} from "../helpers/SyntheticGroth16.sol";
import {TraceTree} from "../helpers/TraceTree.sol";
import {TraceOpening} from "../../src/types/TraceOpening.sol";

/// @notice The names of SLAHandler.Reached, in its order (reach logs and assertions).
function reachedNames() pure returns (string[53] memory) {
    return [
        "calls",
        "posted",
        "signed",
        "escrowFromBalance",
        "lockedOpen",
        "lockedSigned",
        "lockedAndCommitted",
        "committed",
        "committedMany",
        "revealed",
        "seedFixed",
        "settledSingle",
        "provedSingle",
        "settledBatch",
        "provedBatch",
        "finalized",
        "collected",
        "slashedInvalidSingle",
        "slashedInvalidBatch",
        "slashedCommitMissed",
        "slashedProofMissed",
        "slashedSeedExpired",
        "skippedBatchMember",
        "abandonedReopened",
        "abandonedRefunded",
        "cancelled",
        "revoked",
        "deposited",
        "withdrawn",
        "horizonPassed",
        "driven",
        "lockRefused",
        "commitRefused",
        "submitRefused",
        "seedRefused",
        "slashRefused",
        "abandonRefused",
        "withdrawRefused",
        "cancelRefused",
        "badCommitmentSubmitRefused",
        "badCommitmentSlashRefused",
        "challengeOpened",
        "challengeAnswered",
        "challengeUpheld",
        "challengeVoided",
        "falseAnswerRefused",
        "challengeRefused",
        "bondsWithdrawn",
        "dataChallengeOpened",
        "dataChallengeAnswered",
        "dataChallengeUpheld",
        "dataBondReleasedToProvider",
        "dataBondRefunded"
    ];
}

/// @notice The only fuzz target of the invariant suite (SLAInvariant.t.sol). It owns the
///         actors (two buyers with signing keys, two staked providers with node keys, a keeper)
///         and drives every SLAManager call with bounded arguments. Each action picks its job
///         from the jobs whose state it needs, guards the preconditions of the calls that must
///         succeed and try/catches the ones that must fail, checking the exact error.
///
///         Beside the contracts it keeps a model (the ghost): every job's state, provider,
///         stake (requiredStake at the lock), deadlines and seed, computed from the request and
///         the moment of each call, never read back from the job the manager stores (a committed
///         job's provider and stake are hidden in its commitment: the model's are what
///         submissions and slashes open it with, and the commitment and seed it expects are
///         computed from them by the spec's formulas); and every account's manager balance and
///         registry credit. The invariants compare the contracts against the model after every
///         call. A
///         job leaves a live state only through a transition the model predicts: in particular
///         a slash needs an invalid proof submitted in that call or a deadline the model says
///         has passed, so a job its provider drives honestly within its deadlines is never
///         slashed. What the model cannot see afterwards (a balance delta at the moment of a
///         slash, a batch's return values and skip events) is checked on the spot and recorded
///         as a violation.
contract SLAHandler is Test {
    /// @dev Lock bounds that accept whatever the manager's rates give (the campaign changes
    ///      rates mid-job on purpose).
    uint256 internal constant ANY_STAKE = type(uint256).max;
    uint16 internal constant ANY_ABANDON = 10_000;

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Jobs a run creates at most; later creating actions drive an existing job instead.
    uint256 public constant MAX_JOBS = 48;
    uint256 public constant MAX_PRICE = 10_000e18;
    uint256 internal constant MODEL_ROOT = 0x1111;
    uint256 internal constant VOCAB = 50_257;
    uint64 internal constant REVEAL_BLOCKS = 32;
    uint64 internal constant SEED_HORIZON = 256;
    uint256 internal constant BPS = 10_000;
    /// @dev settlement.md §2: the request's EIP-712 type and domain, spelled out here rather
    ///      than taken from the contracts so that the job id is checked against the spec.
    bytes32 internal constant REQUEST_TYPEHASH = keccak256(
        "Request(address buyer,bytes32 classId,uint256 modelRoot,uint256 jobDigest,uint32 newTokens,uint96 price,uint64 lockBy,uint32 execWindow,uint32 proveWindow,uint32 challengeWindow,bytes32 seedCommitment,uint256 salt)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    IERC20 public immutable token;
    ProviderRegistry public immutable providers;
    SLAManager public immutable manager;
    IResultHasher public immutable hasher;
    bytes32 public immutable classId;
    uint16 public immutable minSlots;

    address[2] public buyers;
    uint256[2] internal buyerPks;
    address[2] public provs;
    address public keeper;
    /// @notice Where some withdrawals go (not an actor of the protocol).
    address public sink;

    // ---------------------------------------------------------------- the model

    /// @notice Why the model expects a job to be slashed (None: it must not be).
    enum Cause {
        None,
        InvalidProof,
        CommitMissed,
        ProofMissed,
        SeedExpired,
        /// @dev An unanswered challenge of the job's falsified element.
        Challenged
    }

    struct Ghost {
        JobState state;
        /// @dev Created by the buyer's signature (None until a provider locks it).
        bool signed;
        /// @dev An invalid proof was submitted for the job.
        bool cheated;
        bool seedFixed;
        /// @dev Times the provider was credited the price.
        uint8 paid;
        Cause cause;
        address provider;
        uint96 stake;
        uint16 bountyBps;
        uint16 abandonBps;
        uint64 commitBy;
        uint64 seedBlock;
        /// @dev 0 while a commitment job waits for its seed.
        uint64 proveBy;
        uint64 payableAt;
        bytes32 secret;
        uint256 seed;
    }

    uint256[] public jobIds;
    mapping(uint256 jobId => Request) internal _req;
    mapping(uint256 jobId => Ghost) internal _ghost;
    uint256 internal nonce;

    /// @notice The manager balance (without registry credits) the model expects per account.
    mapping(address => uint256) public gBal;
    /// @notice The registry credit (slashed stake, abandonment fees) the model expects.
    mapping(address => uint256) public gCredit;
    /// @notice A provider's free + reserved stake, and the reserved part, per the model.
    mapping(address => uint256) public gStake;
    mapping(address => uint256) public gReserved;
    /// @notice Deposited to, and withdrawn from, an account's manager balance (credits apart).
    mapping(address => uint256) public depositedInternal;
    mapping(address => uint256) public withdrawnInternal;

    string[] internal _violations;

    // ---------------------------------------------------------------- the challenge model

    /// @notice The manager's ChallengeManager.
    ChallengeManager public immutable challenges;
    /// @notice Challenges a run opens at most (the honest provider's answers loop over them).
    uint256 public constant MAX_CHALLENGES = 96;

    /// @dev One challenge as the model sees it.
    struct GChallenge {
        address challenger;
        uint96 bond;
        uint64 respondBy;
        ChallengeState state;
    }

    struct ChallengeRef {
        uint256 id;
        uint256 element;
    }

    mapping(uint256 jobId => mapping(uint256 element => GChallenge)) internal _gch;
    /// @dev The latest response deadline the model gave a job's challenges.
    mapping(uint256 jobId => uint64) internal gLastRespondBy;
    ChallengeRef[] internal _challenged;
    /// @notice Open challenges per job, per the model.
    mapping(uint256 jobId => uint256) public gOpen;
    /// @notice An account's ChallengeManager balance per the model.
    mapping(address => uint256) public gBond;
    /// @notice The bonds of open challenges, per the model.
    uint256 public gOpenBonds;
    /// @notice The bonds of answered data challenges not released yet, per the model: held by
    ///         the ChallengeManager until the job's fate is known.
    uint256 public gHeldBonds;
    /// @notice Who a released data challenge's bond was credited to, per the model.
    mapping(uint256 jobId => mapping(uint256 element => address)) public gReleasedTo;
    /// @notice Per job, until when answered data challenges keep its window open, per the model
    ///         (the latest answerData time + proveWindow).
    mapping(uint256 jobId => uint64) public gDataUntil;

    // ---------------------------------------------------------------- the committed trace

    /// @dev Every job commits a trace of this shape (TraceTree.sample): T rows, N tensors,
    ///      tensor COL_TENSOR committed by columns too. Only the trace root depends on the job
    ///      (its job digest), so the tensor root is computed once and each job's root at its
    ///      request; an opening rebuilds the job's trace.
    uint32 internal constant TRACE_ROWS = 3;
    uint32 internal constant TRACE_TENSORS = 3;
    uint256 internal constant COL_TENSOR = 2;
    uint256 internal immutable _tensorRoot;
    mapping(uint256 jobId => uint256) internal _traceRoot;

    // ---------------------------------------------------------------- reach

    enum Reached {
        Calls,
        Posted,
        Signed,
        EscrowFromBalance,
        LockedOpen,
        LockedSigned,
        LockedAndCommitted,
        Committed,
        CommittedMany,
        Revealed,
        SeedFixed,
        SettledSingle,
        ProvedSingle,
        SettledBatch,
        ProvedBatch,
        Finalized,
        Collected,
        SlashedInvalidSingle,
        SlashedInvalidBatch,
        SlashedCommitMissed,
        SlashedProofMissed,
        SlashedSeedExpired,
        SkippedBatchMember,
        AbandonedReopened,
        AbandonedRefunded,
        Cancelled,
        Revoked,
        Deposited,
        Withdrawn,
        HorizonPassed,
        Driven,
        LockRefused,
        CommitRefused,
        SubmitRefused,
        SeedRefused,
        SlashRefused,
        AbandonRefused,
        WithdrawRefused,
        CancelRefused,
        BadCommitmentSubmitRefused,
        BadCommitmentSlashRefused,
        ChallengeOpened,
        ChallengeAnswered,
        ChallengeUpheld,
        ChallengeVoided,
        FalseAnswerRefused,
        ChallengeRefused,
        BondsWithdrawn,
        DataChallengeOpened,
        DataChallengeAnswered,
        DataChallengeUpheld,
        DataBondReleasedToProvider,
        DataBondRefunded
    }

    uint256 internal constant REACHED = 53;
    uint256[REACHED] internal _reached;

    // ---------------------------------------------------------------- picking jobs

    uint8 internal constant P_PENDING = 0; // signed, not yet locked
    uint8 internal constant P_OPEN = 1;
    uint8 internal constant P_OPEN_LOCKABLE = 2;
    uint8 internal constant P_LOCKED = 3;
    uint8 internal constant P_LOCKED_LIVE = 4; // now <= commitBy
    uint8 internal constant P_COMMITTED = 5;
    uint8 internal constant P_READY = 6; // a submission passes its timing checks now
    uint8 internal constant P_UNSEEDED = 7;
    uint8 internal constant P_UNSEEDED_COMMITMENT = 8;
    uint8 internal constant P_REVEALABLE = 9;
    uint8 internal constant P_FIXABLE = 10;
    uint8 internal constant P_PROVED = 11;
    uint8 internal constant P_SLASHABLE = 12;
    uint8 internal constant P_CANCELLABLE = 13; // open or pending
    uint8 internal constant P_FINAL = 14;
    uint8 internal constant P_ANY = 15;
    uint8 internal constant P_CONCLUDED_OF = 16; // no longer Committed, locked by provider `arg`
    uint8 internal constant P_NOT_READY_OF = 17; // Committed to provider `arg`, not submittable now
    uint8 internal constant P_NOT_CANCELLABLE = 18; // exists, neither open nor pending
    uint8 internal constant P_PENDING_LIVE = 19; // signed, not yet locked, lockBy not passed
    uint8 internal constant P_SLASHABLE_COMMITTED = 20; // Committed, slashable now

    constructor(
        IERC20 token_,
        ProviderRegistry providers_,
        SLAManager manager_,
        IResultHasher hasher_,
        bytes32 classId_,
        uint16 minSlots_
    ) {
        token = token_;
        providers = providers_;
        manager = manager_;
        hasher = hasher_;
        classId = classId_;
        minSlots = minSlots_;
        challenges = manager_.challenges();
        require(uint256(type(Reached).max) + 1 == REACHED, "REACHED out of date");
        for (uint256 i = 0; i < 2; ++i) {
            (buyers[i], buyerPks[i]) = makeAddrAndKey(string.concat("v1-buyer-", vm.toString(i)));
            provs[i] = makeAddr(string.concat("v1-provider-", vm.toString(i)));
        }
        keeper = makeAddr("v1-keeper");
        sink = makeAddr("v1-sink");
        _tensorRoot = TraceTree.tensorRootOf(TraceTree.sample(0, TRACE_ROWS, TRACE_TENSORS, COL_TENSOR));
    }

    /// @notice Called by the test once it has funded the actors: approvals, and both providers
    ///         registered with a node key and `stake`.
    function init(uint256 stake) external {
        for (uint256 i = 0; i < 2; ++i) {
            vm.prank(buyers[i]);
            token.approve(address(manager), type(uint256).max);
            (address nodeKey,) = makeAddrAndKey(string.concat("v1-node-", vm.toString(i)));
            vm.startPrank(provs[i]);
            token.approve(address(providers), type(uint256).max);
            providers.register(nodeKey, stake);
            vm.stopPrank();
            gStake[provs[i]] = stake;
        }
        vm.prank(keeper);
        token.approve(address(manager), type(uint256).max);
        for (uint256 i = 0; i < 5; ++i) {
            vm.prank(_actor(i));
            token.approve(address(challenges), type(uint256).max);
        }
    }

    // ================================================================ buyer actions

    /// @notice A buyer posts a new request (escrow from its deposit when it covers the price).
    function post(uint256 who, uint256 price, uint256 terms, bool commitment) external {
        _count(Reached.Calls);
        if (jobIds.length >= MAX_JOBS) return _drive(terms);
        _post(_newRequest(who, price, terms, commitment));
    }

    /// @notice A buyer signs a request off chain (the job exists once a provider locks it).
    function sign(uint256 who, uint256 price, uint256 terms, bool commitment) external {
        _count(Reached.Calls);
        if (jobIds.length >= MAX_JOBS) return _drive(terms);
        _newSigned(who, price, terms, commitment);
    }

    /// @notice The buyer cancels an open job or revokes a signed request; with `probe` it tries
    ///         a job that is neither and must be refused.
    function cancel(uint256 seed, bool probe) external {
        _count(Reached.Calls);
        if (probe) {
            (bool any, uint256 jobId) = _pick(seed, P_NOT_CANCELLABLE, 0);
            if (!any) return;
            Request memory q = _req[jobId];
            vm.prank(q.buyer);
            try manager.cancel(q) {
                _violation("cancel accepted a job that was neither open nor unposted");
            } catch (bytes memory err) {
                _expect(err, _wrongState(jobId, _ghost[jobId].state), "cancel refused with the wrong error");
                _count(Reached.CancelRefused);
            }
            return;
        }
        (bool found, uint256 id) = _pick(seed, P_CANCELLABLE, 0);
        if (found) _cancel(id);
    }

    /// @notice A buyer or the keeper adds to its manager balance.
    function deposit(uint256 who, uint256 amount) external {
        _count(Reached.Calls);
        address a = who % 3 == 2 ? keeper : buyers[who % 3];
        amount = bound(amount, 1, 20_000e18);
        vm.prank(a);
        manager.deposit(amount);
        gBal[a] += amount;
        depositedInternal[a] += amount;
        _count(Reached.Deposited);
    }

    /// @notice Reveals a buyer's secret; tries a wrong secret, an early or a late reveal too.
    function reveal(uint256 seed, bool wrong) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, wrong ? P_UNSEEDED_COMMITMENT : P_REVEALABLE, 0);
        if (!found) (found, id) = _pick(seed, P_UNSEEDED_COMMITMENT, 0);
        if (!found) return;
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        uint64 until = g.seedBlock + REVEAL_BLOCKS;
        bytes memory want;
        bytes32 secret = g.secret;
        if (wrong) {
            secret = keccak256(abi.encode(secret, seed));
            want = abi.encodeWithSelector(SLAManager.BadReveal.selector, id, q.seedCommitment);
        } else if (block.number > until) {
            want = abi.encodeWithSelector(SLAManager.RevealClosed.selector, id, until, block.number);
        } else if (block.number <= g.seedBlock) {
            want = abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, id, g.seedBlock, block.number);
        } else {
            return _reveal(id);
        }
        vm.prank(keeper);
        try manager.revealSeed(q, secret) {
            _violation("a reveal was accepted that must be refused");
        } catch (bytes memory err) {
            _expect(err, want, "reveal refused with the wrong error");
            _count(Reached.SeedRefused);
        }
    }

    // ================================================================ provider actions

    /// @notice A provider locks a signed request (one the buyer signed earlier, else a fresh
    ///         one). One in eight times the signature is the other buyer's and must be refused;
    ///         a request whose lockBy passed must be refused too.
    function lockSigned(uint256 seed, uint256 who, uint256 probe) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_PENDING_LIVE, 0);
        // One in eight times a request whose lockBy passed, which must be refused.
        if (!found && probe % 8 == 2) (found, id) = _pick(seed, P_PENDING, 0);
        if (!found) {
            if (jobIds.length >= MAX_JOBS) return _drive(seed);
            id = _newSigned(seed, seed >> 128, seed >> 16, (seed >> 8) & 1 == 1);
        }
        _lockSigned(id, provs[who % 2], probe, false);
    }

    /// @notice lockAndCommit of a signed request, for a provider that ran the job first.
    function lockAndCommit(uint256 seed, uint256 who) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_PENDING_LIVE, 0);
        if (!found) {
            if (jobIds.length >= MAX_JOBS) return _drive(seed);
            id = _newSigned(seed, seed >> 128, seed >> 16, (seed >> 8) & 1 == 1);
        }
        _lockSigned(id, provs[who % 2], 0, true);
    }

    /// @notice A provider locks an open job; one whose lockBy passed must be refused.
    function lock(uint256 seed, uint256 who) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_OPEN_LOCKABLE, 0);
        if (found) {
            _lockOpen(id, provs[who % 2]);
            return;
        }
        (found, id) = _pick(seed, P_OPEN, 0);
        if (!found) return;
        Request memory q = _req[id];
        vm.prank(provs[who % 2]);
        try manager.lock(q, ANY_STAKE, ANY_ABANDON) {
            _violation("a job was locked after its lockBy");
        } catch (bytes memory err) {
            _expect(
                err,
                abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, id, q.lockBy),
                "late lock refused with the wrong error"
            );
            _count(Reached.LockRefused);
        }
    }

    /// @notice The provider commits a locked job (with `many`, up to three of its jobs in one
    ///         commitMany); past commitBy the commit must be refused.
    function commit(uint256 seed, bool many) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_LOCKED_LIVE, 0);
        if (!found) {
            (found, id) = _pick(seed, P_LOCKED, 0);
            if (!found) return;
            Ghost storage g = _ghost[id];
            vm.prank(g.provider);
            try manager.commit(id, traceRootOf(id), attestationOf(id)) {
                _violation("a commit past commitBy was accepted");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, id, g.commitBy),
                    "late commit refused with the wrong error"
                );
                _count(Reached.CommitRefused);
            }
            return;
        }
        if (many) _commitMany(id);
        else _commit(id);
    }

    /// @notice The provider submits a valid proof alone; a job that cannot be submitted now
    ///         (reveal pending, seed not mined or expired, deadline passed) must be refused.
    function submit(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_READY, 2);
        if (found) return _submitValid(id);
        (found, id) = _pick(seed, P_COMMITTED, 0);
        if (!found) return;
        Submission memory s = _submission(id, 0);
        vm.prank(_ghost[id].provider);
        try manager.submit(s) {
            _violation("a submission was accepted outside its timing");
        } catch (bytes memory err) {
            _expect(err, _timing(id), "untimely submission refused with the wrong error");
            _count(Reached.SubmitRefused);
        }
    }

    /// @notice The provider cheats: an invalid proof (wrong seed, other tokens than proved, a
    ///         malformed point), which must slash the job in the same call, without bounty.
    function cheat(uint256 seed, uint256 flaw) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_READY, 2);
        if (!found) return;
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        address p = g.provider;
        Submission memory s = _submission(id, uint8(1 + flaw % 3));
        uint256 buyerBefore = manager.balanceOf(q.buyer);
        uint256 reservedBefore = providers.reservedStake(p);
        uint256 freeBefore = providers.freeStake(p);
        vm.prank(p);
        bool ok = manager.submit(s);
        if (ok) _violation("an invalid proof was accepted");
        if (manager.getJob(id).state != JobState.Slashed) {
            _violation("an invalid proof did not slash in the same call");
        }
        if (manager.balanceOf(q.buyer) != buyerBefore + q.price + g.stake) {
            _violation("buyer of a rejected proof not paid price + stake");
        }
        if (reservedBefore - providers.reservedStake(p) != g.stake || providers.freeStake(p) != freeBefore) {
            _violation("a rejected proof took other than the job's stake");
        }
        g.cheated = true;
        _slashModel(id, Cause.InvalidProof, address(0), 0);
        _count(Reached.SlashedInvalidSingle);
    }

    /// @notice Calldata that does not open a committed job's commitment: a submission (alone,
    ///         or as one member of a batch beside the honest one) whose commitment has another
    ///         stake, trace root or attestation digest, names another provider than the caller,
    ///         or is sent by the other provider in its own name; or a slash of a Committed job
    ///         past its deadline whose commitment has another stake or provider. Each must revert
    ///         with the exact CommitmentMismatch or Unauthorized and change nothing; the honest
    ///         submission (or the slash with the commitment that opens) then goes through.
    function badCommitment(uint256 seed, uint256 kind) external {
        _count(Reached.Calls);
        kind %= 5;
        bool found;
        uint256 id;
        if (kind == 4) {
            (found, id) = _pick(seed, P_SLASHABLE_COMMITTED, 0);
            if (found) return _badCommitmentSlash(id, seed >> 8);
            kind = (seed >> 8) % 4;
        }
        (found, id) = _pick(seed, P_READY, 0);
        if (found) _badCommitmentSubmit(id, kind, seed >> 16);
    }

    /// @notice A provider submits 2 to 9 members in one batch: 2-6 of its submittable jobs,
    ///         valid or invalid, and sometimes a job that already concluded, a job named twice or
    ///         one not submittable now (all three skipped). Valid members proceed, invalid ones
    ///         are slashed, skipped ones are left as they were.
    function submitBatch(uint256 seed, uint256 who, uint256 mask, uint256 extras) external {
        _count(Reached.Calls);
        uint256 pi = who % 2;
        uint256[] memory ids = new uint256[](9);
        uint8[] memory flaws = new uint8[](9);
        uint256 m = _gatherReady(seed, provs[pi], 2 + seed % 5, ids);
        if (m == 0) return;
        bool allValid = mask % 3 == 0;
        for (uint256 k = 0; k < m; ++k) {
            uint256 r = uint256(keccak256(abi.encode(mask, k)));
            if (!allValid && r % 3 == 0) flaws[k] = uint8(1 + (r >> 8) % 3);
        }
        bool found;
        uint256 x;
        if (extras & 1 != 0 || m == 1) {
            (found, x) = _pick(extras >> 8, P_CONCLUDED_OF, pi);
            if (found) ids[m++] = x;
        }
        if (extras & 2 != 0 || m == 1) {
            ids[m] = ids[0];
            flaws[m] = (extras >> 3) & 1 == 0 ? 0 : 1;
            ++m;
        }
        if (extras & 4 != 0) {
            (found, x) = _pick(extras >> 16, P_NOT_READY_OF, pi);
            if (found) ids[m++] = x;
        }
        // The extras go anywhere in the batch, not only at its end.
        uint256 j = (extras >> 32) % m;
        (ids[j], ids[m - 1]) = (ids[m - 1], ids[j]);
        (flaws[j], flaws[m - 1]) = (flaws[m - 1], flaws[j]);
        _runBatch(provs[pi], ids, flaws, m);
    }

    /// @notice The provider gives a locked job back before commitBy (reopened before lockBy,
    ///         refunded after it); past commitBy it must be refused.
    function abandon(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_LOCKED_LIVE, 0);
        if (found) return _abandon(id);
        (found, id) = _pick(seed, P_LOCKED, 0);
        if (!found) return;
        Ghost storage g = _ghost[id];
        vm.prank(g.provider);
        try manager.abandon(_req[id]) {
            _violation("an abandon past commitBy was accepted");
        } catch (bytes memory err) {
            _expect(
                err,
                abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, id, g.commitBy),
                "late abandon refused with the wrong error"
            );
            _count(Reached.AbandonRefused);
        }
    }

    // ================================================================ anyone

    /// @notice Fixes a seed without the secret where allowed; otherwise tries and must be
    ///         refused (reveal window still open, seed block not mined or expired).
    function fixSeed(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_FIXABLE, 0);
        if (found) return _fixSeed(id);
        (found, id) = _pick(seed, P_UNSEEDED, 0);
        if (!found) return;
        Ghost storage g = _ghost[id];
        bytes memory want;
        if (_req[id].seedCommitment != bytes32(0) && block.number <= g.seedBlock + REVEAL_BLOCKS) {
            want = abi.encodeWithSelector(
                SLAManager.RevealPending.selector, id, g.seedBlock + REVEAL_BLOCKS, block.number
            );
        } else {
            want = abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, id, g.seedBlock, block.number);
        }
        vm.prank(keeper);
        try manager.fixSeed(id) {
            _violation("fixSeed accepted where it must be refused");
        } catch (bytes memory err) {
            _expect(err, want, "fixSeed refused with the wrong error");
            _count(Reached.SeedRefused);
        }
    }

    /// @notice The keeper (or, with `byProvider`, the provider that does not hold the job: a
    ///         third party either way) slashes a job past a deadline; when none is slashable it
    ///         tries any job, which must be refused with the exact error.
    function slash(uint256 seed, bool byProvider) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_SLASHABLE, 0);
        if (found) {
            address p = _ghost[id].provider;
            _slashCall(id, byProvider ? (p == provs[0] ? provs[1] : provs[0]) : keeper);
            return;
        }
        (found, id) = _pick(seed, P_ANY, 0);
        if (!found) return;
        (, bytes memory want,) = _slashable(id);
        Commitment memory c = _commitmentOf(id);
        vm.prank(keeper);
        try manager.slash(_req[id], c) {
            _violation("a job was slashed that the model says is not slashable");
        } catch (bytes memory err) {
            _expect(err, want, "slash refused with the wrong error");
            _count(Reached.SlashRefused);
        }
    }

    /// @notice Pays Proved jobs whose window ended: up to four Proved jobs, sometimes one named
    ///         twice and a job already final, by anyone; with `useCollect` a provider collects
    ///         (finalize, then its whole balance).
    function finalize(uint256 seed, uint256 who, bool useCollect) external {
        _count(Reached.Calls);
        uint256[] memory ids = new uint256[](6);
        uint256 m;
        uint256 n = jobIds.length;
        for (uint256 i = 0; i < n && m < 4; ++i) {
            uint256 id = jobIds[(seed % n + i) % n];
            if (_ghost[id].state == JobState.Proved) ids[m++] = id;
        }
        if (m == 0) return;
        if ((seed >> 128) & 1 == 1) ids[m++] = ids[0];
        if ((seed >> 129) & 1 == 1) {
            (bool found, uint256 x) = _pick(seed >> 130, P_FINAL, 0);
            if (found) ids[m++] = x;
        }
        assembly ("memory-safe") {
            mstore(ids, m)
        }
        address caller = _actor(who);
        _finalize(ids, caller, useCollect && (caller == provs[0] || caller == provs[1]));
    }

    /// @notice Any actor withdraws its balance and credit (to itself or to the sink); with
    ///         nothing owed it must be refused.
    function withdraw(uint256 who, bool toSink) external {
        _count(Reached.Calls);
        address a = _actor(who);
        uint256 owed = manager.balanceOf(a);
        if (owed == 0) {
            vm.prank(a);
            try manager.withdraw() {
                _violation("an empty withdrawal was accepted");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(SLAManager.NothingToWithdraw.selector, a),
                    "empty withdrawal refused with the wrong error"
                );
                _count(Reached.WithdrawRefused);
            }
            return;
        }
        _withdraw(a, toSink ? sink : a);
    }

    /// @notice Time and blocks pass: mostly minutes and a few blocks, one in eight times up to
    ///         two hours, one in sixteen times past the 256-block seed horizon.
    function warp(uint256 dt, uint256 blocks) external {
        _count(Reached.Calls);
        dt = dt % 8 == 0 ? (dt >> 3) % 2 hours : (dt >> 3) % 10 minutes;
        if (blocks % 16 == 0) {
            blocks = SEED_HORIZON + 3 + (blocks >> 4) % 64; // past seedBlock + 256 of a commit now
            _count(Reached.HorizonPassed);
        } else {
            blocks = (blocks >> 4) % 25;
        }
        _warpTo(block.timestamp + dt);
        vm.roll(block.number + blocks);
    }

    /// @notice Moves one random job that is not final one honest step forward (lock, commit,
    ///         wait for the seed block, reveal, submit a valid proof, wait for the window and
    ///         finalize; a job past its deadline is slashed, an unlockable one cancelled), or
    ///         posts a job when none is live.
    function drive(uint256 seed) external {
        _count(Reached.Calls);
        _drive(seed);
    }

    // ================================================================ challenge actions

    /// @notice Anyone challenges an element of a Proved job (settlement.md, "Challenges"): its
    ///         falsified element when it has one (an honest watcher's), a random canonical one,
    ///         (modes 6 and 7) a random data element (a tensor, row or column of its committed
    ///         trace), or (mode 0) a non-canonical one that must be refused; a closed window
    ///         (after payableAt and the job's dataUntil) and a duplicate element must be refused
    ///         too.
    function challenge(uint256 seed, uint256 who, uint8 mode) external {
        _count(Reached.Calls);
        (bool found, uint256 id) = _pick(seed, P_PROVED, 0);
        if (!found) return;
        address a = _actor(who);
        (uint256 tr, uint256 rd) = openingOf(id);
        Request memory q = _req[id];
        mode %= 8;
        // A watcher challenges a falsified job's false element first, then others.
        bool lieOpen = falsified(id) && _gch[id][falseElement(id)].state == ChallengeState.None;
        // A watcher that finds a falsified job's trace withheld (mode 4) opens a node of it.
        uint256 element = mode <= 3 && lieOpen
            ? falseElement(id)
            : (mode >= 6 || (mode == 4 && falsified(id)) ? _dataElementFrom(seed >> 8) : _elementFrom(seed >> 8));
        bytes memory want;
        if (mode == 0) {
            element = (uint256(3) << 96) | (seed >> 200);
            want = abi.encodeWithSelector(ChallengeManager.BadElement.selector, element);
        }
        if (block.timestamp > _closesAt(id)) {
            want = abi.encodeWithSelector(ChallengeManager.ChallengeClosed.selector, id, _closesAt(id));
        } else if (want.length == 0 && _gch[id][element].state != ChallengeState.None) {
            want = abi.encodeWithSelector(ChallengeManager.AlreadyChallenged.selector, id, element);
        }
        if (want.length != 0) {
            vm.prank(a);
            try challenges.challenge(q, tr, rd, element) {
                _violation("a challenge the contract must refuse was opened");
            } catch (bytes memory err) {
                _expect(err, want, "a challenge refused with the wrong error");
                _count(Reached.ChallengeRefused);
            }
            return;
        }
        if (!_open(id, a, element)) return;
        // Modes 1 and 2 on a falsified job: a second watcher piles on another element a second
        // later (left open when the first is upheld, then reclaimed).
        if ((mode == 1 || mode == 2) && element == falseElement(id) && block.timestamp < _closesAt(id)) {
            _warpTo(block.timestamp + 1);
            uint256 other = _elementFrom(seed >> 16);
            if (other != element && _gch[id][other].state == ChallengeState.None) _open(id, keeper, other);
        }
    }

    /// @dev Opens a challenge the model says must succeed (false when the run's cap or the
    ///      challenger's funds do not allow it).
    function _open(uint256 id, address a, uint256 element) internal returns (bool) {
        (uint256 tr, uint256 rd) = openingOf(id);
        Request memory q = _req[id];
        uint96 b = challenges.bond();
        if (_challenged.length >= MAX_CHALLENGES || (gBond[a] < b && token.balanceOf(a) < b)) return false;
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        challenges.challenge(q, tr, rd, element);
        if (gBond[a] >= b) {
            gBond[a] -= b;
            if (token.balanceOf(a) != before) _violation("a bond covered by the balance was pulled");
        } else if (token.balanceOf(a) != before - b) {
            _violation("a challenge pulled other than the bond");
        }
        // Answers are due one proveWindow after the job's previous deadline (settlement.md §10).
        uint64 start = gLastRespondBy[id] > block.timestamp ? gLastRespondBy[id] : uint64(block.timestamp);
        uint64 respondBy = start + q.proveWindow;
        gLastRespondBy[id] = respondBy;
        if (challenges.challengeOf(id, element).respondBy != respondBy) {
            _violation("a challenge's deadline is not one proveWindow after the job's previous one");
        }
        _gch[id][element] = GChallenge({challenger: a, bond: b, respondBy: respondBy, state: ChallengeState.Open});
        _challenged.push(ChallengeRef(id, element));
        ++gOpen[id];
        gOpenBonds += b;
        _count(Reached.ChallengeOpened);
        if (_isData(element)) _count(Reached.DataChallengeOpened);
        return true;
    }

    /// @notice The provider answers an open challenge of a Proved job: with the targeted proof
    ///         or the opening of the honest trace, or for its falsified element (or, having
    ///         withheld its trace, a data element) with the best it can produce (a proof of
    ///         another statement, an opening of another trace root), which must be refused and
    ///         change nothing.
    function answer(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, ChallengeRef memory c) = _pickChallenge(seed, true);
        if (!found) return;
        GChallenge storage gc = _gch[c.id][c.element];
        (uint256 tr, uint256 rd) = openingOf(c.id);
        Request memory q = _req[c.id];
        bool lying = _unanswerable(c.id, c.element);
        if (!lying && block.timestamp <= gc.respondBy) return _answerHonest(c.id, c.element);
        if (_isData(c.element)) return _answerForged(c.id, c.element);
        // A falsified element: the provider cannot prove it, and forges the nearest thing.
        uint256[8] memory forged =
            SyntheticGroth16.proveTargeted([q.modelRoot, q.jobDigest, tr, rd, c.element ^ 1]);
        bytes memory want = block.timestamp > gc.respondBy
            ? abi.encodeWithSelector(ChallengeManager.DeadlinePassed.selector, c.id, gc.respondBy)
            : abi.encodeWithSelector(ChallengeManager.InvalidAnswer.selector, c.id, c.element);
        vm.prank(_ghost[c.id].provider);
        try challenges.answer(q, tr, rd, c.element, forged) {
            _violation("a forged answer was accepted: a falsified element answered");
        } catch (bytes memory err) {
            _expect(err, want, "a forged or late answer refused with the wrong error");
            _count(block.timestamp > gc.respondBy ? Reached.ChallengeRefused : Reached.FalseAnswerRefused);
        }
    }

    /// @dev A data challenge answered with an opening that is not the committed one: refused.
    function _answerForged(uint256 id, uint256 element) internal {
        GChallenge storage gc = _gch[id][element];
        (uint256 tr, uint256 rd) = openingOf(id);
        TraceOpening memory o = openingFor(id, element);
        o.tensorRoot ^= 1;
        bytes memory want = block.timestamp > gc.respondBy
            ? abi.encodeWithSelector(ChallengeManager.DeadlinePassed.selector, id, gc.respondBy)
            : abi.encodeWithSelector(ChallengeManager.InvalidOpening.selector, id, element);
        vm.prank(_ghost[id].provider);
        try challenges.answerData(_req[id], tr, rd, element, o) {
            _violation("a forged opening was accepted");
        } catch (bytes memory err) {
            _expect(err, want, "a forged or late opening refused with the wrong error");
            _count(block.timestamp > gc.respondBy ? Reached.ChallengeRefused : Reached.FalseAnswerRefused);
        }
    }

    /// @notice Anyone upholds an open challenge past its respondBy (only a cheater's can be:
    ///         an honest provider answers in time); before it, it must be refused.
    function enforce(uint256 seed) external {
        _count(Reached.Calls);
        // A watcher enforces what is due; with nothing due it tries one that is not.
        (bool found, ChallengeRef memory c) = _pickDue(seed);
        if (!found) (found, c) = _pickChallenge(seed, true);
        if (!found) return;
        GChallenge storage gc = _gch[c.id][c.element];
        if (block.timestamp <= gc.respondBy) {
            vm.prank(keeper);
            try challenges.enforce(_req[c.id], c.element) {
                _violation("a challenge was upheld before its respondBy");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(ChallengeManager.DeadlineNotPassed.selector, c.id, gc.respondBy),
                    "an early enforce refused with the wrong error"
                );
                _count(Reached.ChallengeRefused);
            }
            return;
        }
        _enforce(c.id, c.element);
    }

    /// @notice Anyone reclaims the bond of an open challenge whose job was slashed by another;
    ///         while the job is Proved it must be refused.
    function reclaim(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, ChallengeRef memory c) = _pickChallenge(seed, false);
        if (!found) return;
        if (_ghost[c.id].state == JobState.Proved) {
            try challenges.reclaim(_req[c.id], c.element) {
                _violation("a challenge of a Proved job was voided");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(ChallengeManager.JobStillProved.selector, c.id),
                    "a reclaim refused with the wrong error"
                );
                _count(Reached.ChallengeRefused);
            }
            return;
        }
        GChallenge storage gc = _gch[c.id][c.element];
        vm.prank(keeper);
        challenges.reclaim(_req[c.id], c.element);
        _closeModel(c.id, c.element, ChallengeState.Voided, gc.challenger);
        _count(Reached.ChallengeVoided);
    }

    /// @notice Any actor withdraws its ChallengeManager balance (refused when empty).
    function withdrawBonds(uint256 who) external {
        _count(Reached.Calls);
        address a = _actor(who);
        uint256 owed = gBond[a];
        if (owed == 0) {
            vm.prank(a);
            try challenges.withdraw() {
                _violation("an empty bond withdrawal was accepted");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(ChallengeManager.NothingToWithdraw.selector, a),
                    "an empty bond withdrawal refused with the wrong error"
                );
                _count(Reached.ChallengeRefused);
            }
            return;
        }
        uint256 before = token.balanceOf(a);
        vm.prank(a);
        challenges.withdraw();
        if (token.balanceOf(a) != before + owed) _violation("a bond withdrawal paid other than the balance");
        gBond[a] = 0;
        _count(Reached.BondsWithdrawn);
    }

    /// @notice Anyone releases the held bond of an answered data challenge: refused while the
    ///         job is Proved; once it is Settled the bond goes to the provider, once it is
    ///         Slashed back to the challenger (only a cheater's job can be: an honest provider's
    ///         answered data bonds end with it). A second release is refused.
    function release(uint256 seed) external {
        _count(Reached.Calls);
        (bool found, ChallengeRef memory c) = _pickHeld(seed, false);
        if (!found) (found, c) = _pickHeld(seed, true);
        if (!found) return;
        GChallenge storage gc = _gch[c.id][c.element];
        JobState s = _ghost[c.id].state;
        if (s == JobState.Proved) {
            try challenges.release(_req[c.id], c.element) {
                _violation("a data bond of a Proved job was released");
            } catch (bytes memory err) {
                _expect(
                    err,
                    abi.encodeWithSelector(ChallengeManager.JobStillProved.selector, c.id),
                    "an early release refused with the wrong error"
                );
                _count(Reached.ChallengeRefused);
            }
            return;
        }
        bool paid = s == JobState.Settled;
        if (!paid && !falsified(c.id)) _violation("an honest provider's job with answered data challenges was slashed");
        address to = paid ? _ghost[c.id].provider : gc.challenger;
        uint256 before = challenges.balanceOf(to);
        vm.prank(keeper);
        challenges.release(_req[c.id], c.element);
        if (challenges.balanceOf(to) != before + gc.bond) _violation("a release credited other than the bond");
        gc.state = ChallengeState.Released;
        gHeldBonds -= gc.bond;
        gBond[to] += gc.bond;
        gReleasedTo[c.id][c.element] = to;
        _count(paid ? Reached.DataBondReleasedToProvider : Reached.DataBondRefunded);
        if (seed & 1 == 0) return;
        try challenges.release(_req[c.id], c.element) {
            _violation("a data bond was released twice");
        } catch (bytes memory err) {
            _expect(
                err,
                abi.encodeWithSelector(
                    ChallengeManager.NotReleasable.selector, c.id, c.element, ChallengeState.Released
                ),
                "a second release refused with the wrong error"
            );
            _count(Reached.ChallengeRefused);
        }
    }

    /// @notice Whether the model's trace of a job is falsified at one element (a cheater whose
    ///         proof passed the sampling): about one windowed job in three.
    function falsified(uint256 id) public pure returns (bool) {
        return uint256(keccak256(abi.encode("falsified", id))) % 3 == 0;
    }

    /// @notice The element a falsified job's trace gets wrong.
    function falseElement(uint256 id) public pure returns (uint256) {
        return _elementFrom(uint256(keccak256(abi.encode("false element", id))));
    }

    function challengeCount() external view returns (uint256) {
        return _challenged.length;
    }

    /// @notice The model's challenge `i` (in opening order).
    function challengeAt(uint256 i) external view returns (uint256 id, uint256 element, GChallenge memory c) {
        ChallengeRef memory r = _challenged[i];
        return (r.id, r.element, _gch[r.id][r.element]);
    }

    // ================================================================ views for the invariants

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    function ghostOf(uint256 jobId) external view returns (Ghost memory) {
        return _ghost[jobId];
    }

    struct JobView {
        uint256 id;
        uint96 price;
        uint32 proveWindow;
        /// @dev The request has a seed commitment.
        bool seedCommitment;
        /// @dev The job's second slot as the model computes it (see _holderModel).
        bytes32 holder;
        /// @dev What the model's provider would open the job's commitment with.
        Commitment commitment;
        Ghost ghost;
    }

    /// @notice Every job's id, request terms, model and the second slot and commitment the
    ///         model computes, in one call (the invariants read it after every call).
    function jobsView() external view returns (JobView[] memory v) {
        v = new JobView[](jobIds.length);
        for (uint256 i = 0; i < v.length; ++i) {
            uint256 id = jobIds[i];
            Request storage q = _req[id];
            v[i] = JobView({
                id: id,
                price: q.price,
                proveWindow: q.proveWindow,
                seedCommitment: q.seedCommitment != bytes32(0),
                holder: _holderModel(id),
                commitment: _commitmentOf(id),
                ghost: _ghost[id]
            });
        }
    }

    /// @notice Every account that can hold a manager balance or a registry credit.
    function accounts() external view returns (address[5] memory) {
        return [buyers[0], buyers[1], provs[0], provs[1], keeper];
    }

    function violations() external view returns (string[] memory) {
        return _violations;
    }

    function reached(Reached what) external view returns (uint256) {
        return _reached[uint256(what)];
    }

    function reachedAll() external view returns (uint256[REACHED] memory) {
        return _reached;
    }

    function settlements() external view returns (uint256) {
        return _reached[uint256(Reached.SettledSingle)] + _reached[uint256(Reached.SettledBatch)]
            + _reached[uint256(Reached.Finalized)];
    }

    function slashes() external view returns (uint256) {
        return _reached[uint256(Reached.SlashedInvalidSingle)] + _reached[uint256(Reached.SlashedInvalidBatch)]
            + _reached[uint256(Reached.SlashedCommitMissed)] + _reached[uint256(Reached.SlashedProofMissed)]
            + _reached[uint256(Reached.SlashedSeedExpired)];
    }

    /// @notice Request terms for the deterministic test, in the layout `_newRequest` decodes:
    ///         lockIn < 7200 s, 60 <= windows < 3660 s, challenge 0 or 1..1800 s, 1..40 tokens.
    function encodeTerms(uint256 lockIn, uint256 exec, uint256 prove, uint256 challenge, uint256 tokens)
        external
        pure
        returns (uint256)
    {
        require(lockIn < 2 hours && exec >= 60 && exec < 60 + 1 hours && prove >= 60 && prove < 60 + 1 hours);
        require(challenge <= 30 minutes && tokens >= 1 && tokens <= 40);
        uint256 c = challenge == 0 ? 0 : 1 | ((challenge - 1) << 1);
        return lockIn | ((exec - 60) << 16) | ((prove - 60) << 32) | (c << 48) | ((tokens - 1) << 72);
    }

    /// @notice The trace root a provider commits for a job: that of the handler's trace shape
    ///         over the job's digest (trace.md §5), so data challenges get real openings.
    function traceRootOf(uint256 jobId) public view returns (uint256) {
        return _traceRoot[jobId];
    }

    /// @notice The honest opening of data element `element` of a job's committed trace.
    function openingFor(uint256 jobId, uint256 element) public view returns (TraceOpening memory) {
        return TraceTree.open(
            TraceTree.sample(_req[jobId].jobDigest, TRACE_ROWS, TRACE_TENSORS, COL_TENSOR), element
        );
    }

    function attestationOf(uint256 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode("attestation", jobId));
    }

    // ================================================================ steps

    function _newRequest(uint256 who, uint256 price, uint256 terms, bool commitment) internal returns (uint256 id) {
        uint256 k = ++nonce;
        Request memory q;
        q.buyer = buyers[who % 2];
        q.classId = classId;
        q.modelRoot = MODEL_ROOT;
        q.jobDigest = uint256(keccak256(abi.encode("job", k))) % R;
        q.newTokens = uint32(1 + ((terms >> 72) & 0xff) % 40);
        q.price = uint96(bound(price, 1, MAX_PRICE));
        q.lockBy = uint64(block.timestamp + (terms & 0xffff) % 2 hours);
        q.execWindow = uint32(60 + ((terms >> 16) & 0xffff) % 1 hours);
        q.proveWindow = uint32(60 + ((terms >> 32) & 0xffff) % 1 hours);
        q.challengeWindow = (terms >> 48) & 1 == 0 ? 0 : uint32(1 + ((terms >> 49) & 0xffff) % 30 minutes);
        bytes32 secret;
        if (commitment) {
            secret = keccak256(abi.encode("secret", k));
            q.seedCommitment = keccak256(abi.encode(secret));
        }
        q.salt = k;
        id = _jobIdOf(q);
        _req[id] = q;
        _traceRoot[id] =
            TraceTree.traceRoot(q.jobDigest, TRACE_ROWS, TRACE_TENSORS, TraceTree.depthFor(TRACE_TENSORS), _tensorRoot);
        _ghost[id].secret = secret;
        jobIds.push(id);
    }

    function _newSigned(uint256 who, uint256 price, uint256 terms, bool commitment) internal returns (uint256 id) {
        id = _newRequest(who, price, terms, commitment);
        _ghost[id].signed = true;
        _count(Reached.Signed);
    }

    function _post(uint256 id) internal {
        Request memory q = _req[id];
        bool fromBalance = gBal[q.buyer] >= q.price;
        vm.prank(q.buyer);
        uint256 got = manager.post(q, "ipfs://job");
        if (got != id) _violation("post returned an id other than the request's EIP-712 digest");
        _escrow(q.buyer, q.price, fromBalance);
        _setState(id, JobState.Open);
        _count(Reached.Posted);
    }

    function _cancel(uint256 id) internal {
        Request memory q = _req[id];
        JobState s = _ghost[id].state;
        uint256 before = manager.balanceOf(q.buyer);
        vm.prank(q.buyer);
        manager.cancel(q);
        if (s == JobState.Open) {
            if (manager.balanceOf(q.buyer) != before + q.price) _violation("cancel did not refund the escrow");
            gBal[q.buyer] += q.price;
            _count(Reached.Cancelled);
        } else {
            if (manager.balanceOf(q.buyer) != before) _violation("revoking a signed request moved money");
            _count(Reached.Revoked);
        }
        _setState(id, JobState.Cancelled);
    }

    /// @return acted False only when the provider lacks the free stake (nothing was called).
    function _lockSigned(uint256 id, address p, uint256 probe, bool andCommit) internal returns (bool acted) {
        Request memory q = _req[id];
        bytes memory want;
        if (probe % 8 == 1) {
            want = abi.encodeWithSelector(SLAManager.BadRequestSignature.selector, id, q.buyer);
        } else if (block.timestamp > q.lockBy) {
            want = abi.encodeWithSelector(SLAManager.BadTerms.selector, q.price, q.lockBy, q.newTokens);
        }
        if (want.length != 0) {
            _lockRefused(id, p, probe % 8 == 1, want);
            return true;
        }
        if (providers.freeStake(p) < manager.requiredStake(q.price, minSlots)) return false;
        bool fromBalance = gBal[q.buyer] >= q.price;
        bytes memory sig = _signature(_buyerPk(q.buyer, false), id);
        vm.recordLogs();
        vm.prank(p);
        uint256 got =
            andCommit
            ? manager.lockAndCommit(q, sig, traceRootOf(id), attestationOf(id), ANY_STAKE, ANY_ABANDON)
            : manager.lockRequest(q, sig, ANY_STAKE, ANY_ABANDON);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (got != id) _violation("lockRequest returned an id other than the request's EIP-712 digest");
        _escrow(q.buyer, q.price, fromBalance);
        _lockModel(id, p);
        if (andCommit) {
            _commitModel(id);
            _checkCommitted(logs, id);
            _count(Reached.LockedAndCommitted);
        } else {
            _count(Reached.LockedSigned);
        }
        return true;
    }

    /// @dev lockRequest with the other buyer's signature (`forged`) or past lockBy: refused.
    function _lockRefused(uint256 id, address p, bool forged, bytes memory want) internal {
        Request memory q = _req[id];
        bytes memory sig = _signature(_buyerPk(q.buyer, forged), id);
        vm.prank(p);
        try manager.lockRequest(q, sig, ANY_STAKE, ANY_ABANDON) {
            _violation("lockRequest accepted a forged or expired request");
        } catch (bytes memory err) {
            _expect(err, want, "lockRequest refused with the wrong error");
            _count(Reached.LockRefused);
        }
    }

    function _buyerPk(address buyer, bool other) internal view returns (uint256) {
        return buyerPks[(buyer == buyers[0]) == other ? 1 : 0];
    }

    function _lockOpen(uint256 id, address p) internal returns (bool) {
        Request memory q = _req[id];
        if (providers.freeStake(p) < manager.requiredStake(q.price, minSlots)) return false;
        vm.prank(p);
        manager.lock(q, ANY_STAKE, ANY_ABANDON);
        _lockModel(id, p);
        _count(Reached.LockedOpen);
        return true;
    }

    function _commit(uint256 id) internal {
        vm.recordLogs();
        vm.prank(_ghost[id].provider);
        manager.commit(id, traceRootOf(id), attestationOf(id));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _commitModel(id);
        _checkCommitted(logs, id);
    }

    /// @dev commitMany of up to three committable jobs of `first`'s provider.
    function _commitMany(uint256 first) internal {
        address p = _ghost[first].provider;
        uint256[] memory ids = new uint256[](3);
        ids[0] = first;
        uint256 m = 1;
        for (uint256 i = 0; i < jobIds.length && m < 3; ++i) {
            uint256 id = jobIds[i];
            if (id != first && _is(id, P_LOCKED_LIVE, 0) && _ghost[id].provider == p) ids[m++] = id;
        }
        uint256[] memory roots = new uint256[](m);
        bytes32[] memory atts = new bytes32[](m);
        assembly ("memory-safe") {
            mstore(ids, m)
        }
        for (uint256 k = 0; k < m; ++k) {
            roots[k] = traceRootOf(ids[k]);
            atts[k] = attestationOf(ids[k]);
        }
        vm.recordLogs();
        vm.prank(p);
        manager.commitMany(ids, roots, atts);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 k = 0; k < m; ++k) {
            _commitModel(ids[k]);
            _checkCommitted(logs, ids[k]);
        }
        if (m > 1) _count(Reached.CommittedMany);
    }

    function _reveal(uint256 id) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        uint256 want = _seedNow(id, g.secret);
        vm.prank(q.buyer);
        manager.revealSeed(q, g.secret);
        g.seedFixed = true;
        g.seed = want;
        g.proveBy = uint64(block.timestamp) + q.proveWindow;
        _count(Reached.Revealed);
    }

    function _fixSeed(uint256 id) internal {
        Ghost storage g = _ghost[id];
        uint256 want = _seedNow(id, bytes32(0));
        vm.prank(keeper);
        manager.fixSeed(id);
        g.seedFixed = true;
        g.seed = want;
        // A commitment job starts its proof clock here; without one it started at the commit.
        if (_req[id].seedCommitment != bytes32(0)) g.proveBy = uint64(block.timestamp) + _req[id].proveWindow;
        _count(Reached.SeedFixed);
    }

    function _submitValid(uint256 id) internal {
        Ghost storage g = _ghost[id];
        address p = g.provider;
        Submission memory s = _submission(id, 0);
        uint256 modelSeed = g.seedFixed ? g.seed : _seedNow(id, bytes32(0));
        if (manager.seedOf(id) != modelSeed) _violation("the seed differs from settlement.md section 4");
        uint256 before = manager.balanceOf(p);
        vm.prank(p);
        bool ok = manager.submit(s);
        if (!ok) _violation("a valid, timely proof was rejected: an honest provider slashed");
        _proved(id, Reached.SettledSingle, Reached.ProvedSingle);
        uint256 paid = _req[id].challengeWindow == 0 ? _req[id].price : 0;
        if (manager.balanceOf(p) != before + paid) _violation("a valid proof paid other than the price once");
    }

    /// @dev JobCommitted for `id` (in `logs`) carries the model's provider, stake, trace root,
    ///      attestation digest, seed block and proveBy: what later calls open the commitment with.
    function _checkCommitted(Vm.Log[] memory logs, uint256 id) internal {
        Ghost storage g = _ghost[id];
        for (uint256 i = 0; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length != 3 || l.topics[0] != SLAManager.JobCommitted.selector) continue;
            if (uint256(l.topics[1]) != id) continue;
            (uint256 stake, uint256 root, bytes32 att, uint64 sb, uint64 proveBy) =
                abi.decode(l.data, (uint256, uint256, bytes32, uint64, uint64));
            if (address(uint160(uint256(l.topics[2]))) != g.provider || stake != g.stake) {
                _violation("JobCommitted carries another provider or stake than the model's");
            }
            if (root != traceRootOf(id) || att != attestationOf(id)) {
                _violation("JobCommitted carries another trace root or attestation than committed");
            }
            if (sb != g.seedBlock || proveBy != g.proveBy) {
                _violation("JobCommitted carries another seed block or proveBy than the model's");
            }
            return;
        }
        _violation("a commit emitted no JobCommitted for its job");
    }

    /// @dev Everything a refused call must leave as it was: the job, the manager balances and
    ///      registry credits of every actor, both providers' stakes, the contracts' tokens.
    function _snapshot(uint256 id) internal view returns (bytes32) {
        Job memory j = manager.getJob(id);
        bytes memory b = abi.encode(j, token.balanceOf(address(manager)), token.balanceOf(address(providers)));
        address[5] memory a = [buyers[0], buyers[1], provs[0], provs[1], keeper];
        for (uint256 i = 0; i < a.length; ++i) {
            b = abi.encode(b, manager.balanceOf(a[i]), providers.creditOf(a[i]));
        }
        for (uint256 i = 0; i < 2; ++i) {
            b = abi.encode(b, providers.freeStake(provs[i]), providers.reservedStake(provs[i]));
        }
        return keccak256(b);
    }

    /// @dev A submission of a Ready job (honest proof) whose commitment does not open: kind 0
    ///      another stake, trace root or attestation; 1 another provider than the caller; 2 sent
    ///      by the other provider in its own name; 3 kind 0 or 1 as a member of the provider's
    ///      batch, next to the honest submission, which reverts the whole batch.
    function _badCommitmentSubmit(uint256 id, uint256 kind, uint256 r) internal {
        Ghost storage g = _ghost[id];
        address p = g.provider;
        address other = p == provs[0] ? provs[1] : provs[0];
        Submission memory s = _submission(id, 0);
        address caller = p;
        // A batch is sent by the job's provider (an honest member from another would fail on
        // its caller first): another stake, root or attestation, or another provider named.
        uint256 variant = kind == 3 ? r % 2 : kind;
        if (variant == 0) {
            uint256 what = (r >> 2) % 3;
            if (what == 0) s.commitment.stake ^= uint96(1 << ((r >> 4) % 96));
            else if (what == 1) s.commitment.traceRoot = addmod(s.commitment.traceRoot, 1, R);
            else s.commitment.attestationDigest ^= bytes32(uint256(1));
        } else if (variant == 1) {
            s.commitment.provider = other;
        } else {
            caller = other;
            s.commitment.provider = other;
        }
        bytes memory want = variant == 1
            ? abi.encodeWithSelector(SLAManager.Unauthorized.selector, p, other)
            : abi.encodeWithSelector(
                SLAManager.CommitmentMismatch.selector, id, _commitmentHash(s.commitment), _holderModel(id)
            );
        bytes32 before = _snapshot(id);
        bytes memory err;
        bool accepted;
        if (kind == 3) {
            Submission[] memory subs = new Submission[](2);
            uint256 bad = (r >> 12) & 1;
            subs[bad] = s;
            subs[1 - bad] = _submission(id, 0);
            vm.prank(caller);
            try manager.submitBatch(subs) {
                accepted = true;
            } catch (bytes memory e) {
                err = e;
            }
        } else {
            vm.prank(caller);
            try manager.submit(s) {
                accepted = true;
            } catch (bytes memory e) {
                err = e;
            }
        }
        if (accepted) return _violation("a submission that does not open the commitment was accepted");
        _expect(err, want, "a submission that does not open the commitment refused with the wrong error");
        if (_snapshot(id) != before) _violation("a refused submission changed the job or a balance");
        _count(Reached.BadCommitmentSubmitRefused);
        // Nothing changed: the honest submission that follows goes through as the model says.
        _submitValid(id);
    }

    /// @dev A slash of a slashable Committed job whose commitment has another stake or names
    ///      another provider, by the keeper or the other provider.
    function _badCommitmentSlash(uint256 id, uint256 r) internal {
        Ghost storage g = _ghost[id];
        address other = g.provider == provs[0] ? provs[1] : provs[0];
        Commitment memory c = _commitmentOf(id);
        if (r & 1 == 0) c.stake ^= uint96(1 << ((r >> 2) % 96));
        else c.provider = other;
        bytes memory want =
            abi.encodeWithSelector(SLAManager.CommitmentMismatch.selector, id, _commitmentHash(c), _holderModel(id));
        Request memory q = _req[id];
        address caller = (r >> 1) & 1 == 0 ? keeper : other;
        bytes32 before = _snapshot(id);
        vm.prank(caller);
        try manager.slash(q, c) {
            return _violation("a slash whose commitment does not open was accepted");
        } catch (bytes memory err) {
            _expect(err, want, "a slash whose commitment does not open refused with the wrong error");
        }
        if (_snapshot(id) != before) _violation("a refused slash changed the job or a balance");
        _count(Reached.BadCommitmentSlashRefused);
        // Nothing changed: the same caller's slash with the commitment that opens goes through.
        _slashCall(id, caller);
    }

    /// @dev The model of a valid proof: settled at once with a zero window, else Proved until
    ///      the window ends.
    function _proved(uint256 id, Reached settled, Reached proved) internal {
        uint32 window = _req[id].challengeWindow;
        if (window == 0) {
            _settleModel(id);
            _count(settled);
        } else {
            _ghost[id].payableAt = uint64(block.timestamp) + window;
            _setState(id, JobState.Proved);
            _count(proved);
        }
    }

    function _abandon(uint256 id) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        address p = g.provider;
        uint256 fee = Math.mulDiv(g.stake, g.abandonBps, BPS);
        bool reopened = block.timestamp <= q.lockBy;
        uint256 buyerBefore = manager.balanceOf(q.buyer);
        uint256 freeBefore = providers.freeStake(p);
        vm.prank(p);
        manager.abandon(q);
        if (manager.balanceOf(q.buyer) != buyerBefore + fee + (reopened ? 0 : q.price)) {
            _violation("abandon paid the buyer other than the fee (and the refund)");
        }
        if (providers.freeStake(p) != freeBefore + g.stake - fee) {
            _violation("abandon released other than stake - fee");
        }
        gCredit[q.buyer] += fee;
        gStake[p] -= fee;
        gReserved[p] -= g.stake;
        g.provider = address(0);
        g.stake = 0;
        g.bountyBps = 0;
        g.abandonBps = 0;
        g.commitBy = 0;
        if (reopened) {
            _setState(id, JobState.Open);
            _count(Reached.AbandonedReopened);
        } else {
            gBal[q.buyer] += q.price;
            _setState(id, JobState.Cancelled);
            _count(Reached.AbandonedRefunded);
        }
    }

    /// @dev A deadline slash by a third party, with balance deltas checked at once: the buyer
    ///      gets price + stake - bounty, the caller the bounty, the provider loses the stake.
    function _slashCall(uint256 id, address caller) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        (bool ok,, Cause cause) = _slashable(id);
        if (!ok) _violation("slash step on a job the model says is not slashable");
        uint256 bounty = Math.mulDiv(g.stake, g.bountyBps, BPS);
        uint256 buyerBefore = manager.balanceOf(q.buyer);
        uint256 callerBefore = manager.balanceOf(caller);
        uint256 reservedBefore = providers.reservedStake(g.provider);
        // A Locked job's slash ignores the commitment: it gets one that opens nothing.
        Commitment memory c = g.state == JobState.Committed
            ? _commitmentOf(id)
            : Commitment({provider: caller, stake: uint96(id), traceRoot: id % R, attestationDigest: bytes32(id)});
        vm.prank(caller);
        manager.slash(q, c);
        if (manager.balanceOf(q.buyer) != buyerBefore + q.price + g.stake - bounty) {
            _violation("buyer of a slashed job not paid price + stake - bounty");
        }
        if (manager.balanceOf(caller) != callerBefore + bounty) _violation("slasher not paid exactly the bounty");
        if (reservedBefore - providers.reservedStake(g.provider) != g.stake) {
            _violation("slash took other than the stake");
        }
        _slashModel(id, cause, caller, bounty);
        if (cause == Cause.CommitMissed) _count(Reached.SlashedCommitMissed);
        else if (cause == Cause.ProofMissed) _count(Reached.SlashedProofMissed);
        else _count(Reached.SlashedSeedExpired);
    }

    function _finalize(uint256[] memory ids, address caller, bool useCollect) internal {
        uint256 m = ids.length;
        bool[] memory pays = new bool[](m);
        uint256 expect;
        uint256 earned; // what caller is credited by these settlements
        for (uint256 k = 0; k < m; ++k) {
            Ghost storage g = _ghost[ids[k]];
            // Paid past the window, with no challenge open and no data answer holding it.
            if (g.state != JobState.Proved || block.timestamp <= _closesAt(ids[k]) || gOpen[ids[k]] != 0) continue;
            bool dup;
            for (uint256 i = 0; i < k; ++i) {
                if (ids[i] == ids[k]) dup = true;
            }
            if (dup) continue;
            pays[k] = true;
            ++expect;
            if (g.provider == caller) earned += _req[ids[k]].price;
        }
        uint256 owed = manager.balanceOf(caller) + earned;
        uint256 paid;
        if (useCollect && owed > 0) {
            uint256 before = token.balanceOf(caller);
            uint256 internalOwed = owed - providers.creditOf(caller);
            vm.prank(caller);
            paid = manager.collect(ids, caller);
            if (token.balanceOf(caller) != before + owed) _violation("collect paid other than the balance owed");
            _settleAll(ids, pays);
            gBal[caller] = 0;
            gCredit[caller] = 0;
            withdrawnInternal[caller] += internalOwed;
            if (expect > 0) _count(Reached.Collected);
            _count(Reached.Withdrawn);
        } else {
            vm.prank(caller);
            paid = manager.finalize(ids);
            _settleAll(ids, pays);
        }
        if (paid != expect) _violation("finalize paid another number of jobs than ended their window");
    }

    function _settleAll(uint256[] memory ids, bool[] memory pays) internal {
        for (uint256 k = 0; k < ids.length; ++k) {
            if (!pays[k]) continue;
            _settleModel(ids[k]);
            _count(Reached.Finalized);
        }
    }

    function _withdraw(address a, address to) internal {
        uint256 owed = manager.balanceOf(a);
        uint256 internalOwed = owed - providers.creditOf(a);
        uint256 before = token.balanceOf(to);
        vm.prank(a);
        if (to == a) manager.withdraw();
        else manager.withdrawTo(to);
        if (token.balanceOf(to) != before + owed) _violation("withdraw delivered other than the balance owed");
        if (manager.balanceOf(a) != 0) _violation("withdraw left a balance");
        gBal[a] = 0;
        gCredit[a] = 0;
        withdrawnInternal[a] += internalOwed;
        _count(Reached.Withdrawn);
    }

    function _drive(uint256 seed) internal {
        uint256 n = jobIds.length;
        for (uint256 i = 0; i < n; ++i) {
            if (_step(jobIds[(seed % n + i) % n], seed >> 8)) {
                _count(Reached.Driven);
                return;
            }
        }
        if (n < MAX_JOBS) {
            _post(_newRequest(seed, seed >> 128, seed >> 16, (seed >> 1) & 1 == 1));
            _count(Reached.Driven);
        }
    }

    /// @dev One honest step of one job; false when the job needs none (final, or nothing the
    ///      honest parties would do now).
    function _step(uint256 id, uint256 r) internal returns (bool) {
        Ghost storage g = _ghost[id];
        JobState s = g.state;
        Request memory q = _req[id];
        if (s == JobState.None || s == JobState.Open) {
            if (block.timestamp > q.lockBy) {
                _cancel(id);
                return true;
            }
            if (s == JobState.Open) return _lockOpen(id, provs[r % 2]);
            return _lockSigned(id, provs[r % 2], 0, (r >> 1) & 1 == 1);
        }
        if (s == JobState.Locked) {
            if (block.timestamp > g.commitBy) _slashCall(id, keeper);
            else _commit(id);
            return true;
        }
        if (s == JobState.Committed) {
            (bool slashable,,) = _slashable(id);
            if (slashable) {
                _slashCall(id, keeper);
            } else if (!g.seedFixed && block.number <= g.seedBlock) {
                vm.roll(uint256(g.seedBlock) + 1);
            } else if (!g.seedFixed && q.seedCommitment != bytes32(0) && block.number <= g.seedBlock + REVEAL_BLOCKS) {
                _reveal(id);
            } else {
                _submitValid(id);
            }
            return true;
        }
        if (s == JobState.Proved) {
            if (gOpen[id] != 0) return _resolveOne(id);
            uint64 closesAt = _closesAt(id);
            if (block.timestamp <= closesAt) {
                // Waiting out a long window would push every other job past its deadlines.
                if (closesAt - block.timestamp >= 10 minutes) return false;
                _warpTo(uint256(closesAt) + 1);
            }
            uint256[] memory ids = new uint256[](1);
            ids[0] = id;
            _finalize(ids, keeper, false);
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- batches

    /// @dev Up to `size` submittable jobs of `p`, from a random start.
    function _gatherReady(uint256 seed, address p, uint256 size, uint256[] memory ids)
        internal
        view
        returns (uint256 m)
    {
        uint256 n = jobIds.length;
        for (uint256 i = 0; i < n && m < size; ++i) {
            uint256 id = jobIds[(seed % n + i) % n];
            if (_ghost[id].provider == p && _is(id, P_READY, 2)) ids[m++] = id;
        }
    }

    struct BatchExpect {
        uint8[] outcome; // 0 skipped, 1 proved, 2 slashed
        bytes[] skips; // SubmissionSkipped reasons in emission order
        uint256 nSkips;
        uint256 proved;
        uint256 slashed;
        int256[2] buyerDelta;
        uint256 providerDelta;
    }

    function _runBatch(address p, uint256[] memory ids, uint8[] memory flaws, uint256 m) internal {
        Submission[] memory subs = new Submission[](m);
        for (uint256 k = 0; k < m; ++k) {
            subs[k] = _submission(ids[k], flaws[k]);
        }
        BatchExpect memory e = _expectBatch(ids, flaws, m);
        uint256[2] memory buyerBefore = [manager.balanceOf(buyers[0]), manager.balanceOf(buyers[1])];
        uint256 providerBefore = manager.balanceOf(p);
        vm.recordLogs();
        vm.prank(p);
        (uint256 proved, uint256 slashed) = manager.submitBatch(subs);
        _checkSkips(vm.getRecordedLogs(), e);
        if (proved != e.proved || slashed != e.slashed) _violation("submitBatch returned other counts than expected");
        for (uint256 b = 0; b < 2; ++b) {
            if (int256(manager.balanceOf(buyers[b])) - int256(buyerBefore[b]) != e.buyerDelta[b]) {
                _violation("buyers of invalid batch members not paid price + stake each");
            }
        }
        if (manager.balanceOf(p) != providerBefore + e.providerDelta) _violation("a batch paid other than the prices");
        for (uint256 k = 0; k < m; ++k) {
            uint256 id = ids[k];
            JobState actual = manager.getJob(id).state;
            if (e.outcome[k] == 1) {
                if (actual == JobState.Slashed) _violation("a valid batch member was slashed");
                _proved(id, Reached.SettledBatch, Reached.ProvedBatch);
            } else if (e.outcome[k] == 2) {
                if (actual != JobState.Slashed) _violation("an invalid batch member was not slashed in the call");
                _ghost[id].cheated = true;
                _slashModel(id, Cause.InvalidProof, address(0), 0);
                _count(Reached.SlashedInvalidBatch);
            } else {
                _count(Reached.SkippedBatchMember);
            }
        }
    }

    /// @dev settlement.md §5 on the model: members failing the timing checks (or not
    ///      Committed) are skipped while the batch is prepared, a job named twice concludes at
    ///      its first live occurrence and is skipped after, the rest are decided by their proof.
    function _expectBatch(uint256[] memory ids, uint8[] memory flaws, uint256 m)
        internal
        view
        returns (BatchExpect memory e)
    {
        e.outcome = new uint8[](m);
        e.skips = new bytes[](m);
        bool[] memory live = new bool[](m);
        for (uint256 k = 0; k < m; ++k) {
            bytes memory reason = _timing(ids[k]);
            if (reason.length != 0) e.skips[e.nSkips++] = reason;
            else live[k] = true;
        }
        for (uint256 k = 0; k < m; ++k) {
            if (!live[k]) continue;
            uint256 first = k;
            for (uint256 i = 0; i < k; ++i) {
                if (ids[i] == ids[k] && live[i]) {
                    first = i;
                    break;
                }
            }
            if (first != k) {
                // Skipped at conclusion: the job moved on at its first occurrence.
                JobState after_ = e.outcome[first] == 2
                    ? JobState.Slashed
                    : (_req[ids[k]].challengeWindow == 0 ? JobState.Settled : JobState.Proved);
                e.skips[e.nSkips++] = _wrongState(ids[k], after_);
                continue;
            }
            Request memory q = _req[ids[k]];
            uint256 b = q.buyer == buyers[0] ? 0 : 1;
            if (flaws[k] == 0) {
                e.outcome[k] = 1;
                ++e.proved;
                if (q.challengeWindow == 0) e.providerDelta += q.price;
            } else {
                e.outcome[k] = 2;
                ++e.slashed;
                e.buyerDelta[b] += int256(uint256(q.price) + _ghost[ids[k]].stake);
            }
        }
    }

    function _checkSkips(Vm.Log[] memory logs, BatchExpect memory e) internal {
        uint256 seen;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].topics[0] != SLAManager.SubmissionSkipped.selector) continue;
            bytes memory reason = abi.decode(logs[i].data, (bytes));
            if (seen >= e.nSkips || keccak256(reason) != keccak256(e.skips[seen])) {
                _violation("a batch skipped another member, or for another reason, than expected");
                return;
            }
            ++seen;
        }
        if (seen != e.nSkips) _violation("a batch skipped fewer members than expected");
    }

    // ---------------------------------------------------------------- the model's transitions

    function _escrow(address buyer, uint256 price, bool fromBalance) internal {
        if (fromBalance) {
            gBal[buyer] -= price;
            _count(Reached.EscrowFromBalance);
        }
    }

    function _lockModel(uint256 id, address p) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        g.provider = p;
        g.stake = uint96(manager.requiredStake(q.price, minSlots));
        g.bountyBps = manager.bountyBps();
        g.abandonBps = manager.abandonBps();
        g.commitBy = uint64(block.timestamp) + q.execWindow;
        gReserved[p] += g.stake;
        _setState(id, JobState.Locked);
    }

    function _commitModel(uint256 id) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        g.seedBlock = uint64(block.number) + 2;
        g.proveBy = q.seedCommitment != bytes32(0) ? 0 : uint64(block.timestamp) + q.proveWindow;
        _setState(id, JobState.Committed);
        _count(Reached.Committed);
    }

    function _settleModel(uint256 id) internal {
        Ghost storage g = _ghost[id];
        if (g.paid != 0) _violation("the model would pay a job twice");
        g.paid += 1;
        gBal[g.provider] += _req[id].price;
        gReserved[g.provider] -= g.stake;
        _setState(id, JobState.Settled);
    }

    function _slashModel(uint256 id, Cause cause, address caller, uint256 bounty) internal {
        Ghost storage g = _ghost[id];
        Request memory q = _req[id];
        g.cause = cause;
        gBal[q.buyer] += q.price;
        gCredit[q.buyer] += g.stake - bounty;
        if (bounty > 0) gCredit[caller] += bounty;
        gStake[g.provider] -= g.stake;
        gReserved[g.provider] -= g.stake;
        _setState(id, JobState.Slashed);
    }

    /// @dev Settled, Slashed and Cancelled are final: the model never leaves them.
    function _setState(uint256 id, JobState s) internal {
        JobState from = _ghost[id].state;
        if (from == JobState.Settled || from == JobState.Slashed || from == JobState.Cancelled) {
            _violation("the model left a final state");
        }
        _ghost[id].state = s;
    }

    // ---------------------------------------------------------------- what the model says now

    /// @dev The error a submission of `id` reverts with now ("" when it passes the timing
    ///      checks), from the model's seed block and deadline.
    function _timing(uint256 id) internal view returns (bytes memory) {
        Ghost storage g = _ghost[id];
        if (g.state != JobState.Committed) return _wrongState(id, g.state);
        uint64 sb = g.seedBlock;
        if (!g.seedFixed) {
            if (_req[id].seedCommitment != bytes32(0) && block.number <= sb + REVEAL_BLOCKS) {
                return abi.encodeWithSelector(SLAManager.RevealPending.selector, id, sb + REVEAL_BLOCKS, block.number);
            }
            if (block.number <= sb || block.number > sb + SEED_HORIZON) {
                return abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, id, sb, block.number);
            }
        }
        if (g.proveBy != 0 && block.timestamp > g.proveBy) {
            return abi.encodeWithSelector(SLAManager.DeadlinePassed.selector, id, g.proveBy);
        }
        return "";
    }

    /// @dev Whether a deadline slash is allowed now, and else the error it must revert with.
    function _slashable(uint256 id) internal view returns (bool, bytes memory, Cause) {
        Ghost storage g = _ghost[id];
        if (g.state == JobState.Locked) {
            if (block.timestamp > g.commitBy) return (true, "", Cause.CommitMissed);
            return (false, abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, id, g.commitBy), Cause.None);
        }
        if (g.state == JobState.Committed) {
            if (g.proveBy != 0 && block.timestamp > g.proveBy) return (true, "", Cause.ProofMissed);
            if (!g.seedFixed && block.number > g.seedBlock + SEED_HORIZON) return (true, "", Cause.SeedExpired);
            if (g.proveBy != 0) {
                return
                    (false, abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, id, g.proveBy), Cause.None);
            }
            return (
                false,
                abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, id, g.seedBlock, block.number),
                Cause.None
            );
        }
        return (false, _wrongState(id, g.state), Cause.None);
    }

    /// @dev settlement.md §4, from the spec's formula and the model's commitment and seed block.
    function _seedNow(uint256 id, bytes32 secret) internal view returns (uint256) {
        bytes32 commitment = _commitmentHash(_commitmentOf(id));
        return uint256(
            keccak256(
            abi.encodePacked(
            "probity/seed/v2", block.chainid, address(manager), id, commitment, blockhash(_ghost[id].seedBlock), secret
        )
        )
        ) % R;
    }

    /// @dev The job's submission: honest (flaw 0), or a proof for another seed (1), other tokens
    ///      than the proof's (2), a malformed proof point (3).
    function _submission(uint256 id, uint8 flaw) internal view returns (Submission memory s) {
        Request memory q = _req[id];
        Ghost storage g = _ghost[id];
        s.request = q;
        s.commitment = _commitmentOf(id);
        uint256[] memory t = new uint256[](q.newTokens);
        for (uint256 i = 0; i < t.length; ++i) {
            t[i] = uint256(keccak256(abi.encode(id, i))) % VOCAB;
        }
        s.result = ResultDigest.pack(t);
        uint256 seed = g.seedFixed ? g.seed : _seedNow(id, bytes32(0));
        uint256 rd = hasher.resultDigest(q.newTokens, s.result);
        if (flaw == 1) seed = addmod(seed, 1, R);
        s.proof = SyntheticGroth16.prove([q.modelRoot, q.jobDigest, s.commitment.traceRoot, rd, seed]);
        if (flaw == 2) {
            t[0] = (t[0] + 1) % VOCAB;
            s.result = ResultDigest.pack(t);
        } else if (flaw == 3) {
            s.proof[0] ^= 1;
        }
    }

    /// @dev What a challenger opens a proved job's anchor with: the committed trace root and
    ///      the digest of the honest result (a job proved with a window was proved honestly).
    function openingOf(uint256 id) public view returns (uint256 traceRoot, uint256 resultDigest) {
        Request memory q = _req[id];
        uint256[] memory t = new uint256[](q.newTokens);
        for (uint256 i = 0; i < t.length; ++i) {
            t[i] = uint256(keccak256(abi.encode(id, i))) % VOCAB;
        }
        return (traceRootOf(id), hasher.resultDigest(q.newTokens, ResultDigest.pack(t)));
    }

    /// @notice A Proved job's anchor per the model: keccak256(abi.encode(traceRoot, resultDigest)).
    function anchorModel(uint256 id) public view returns (bytes32) {
        (uint256 tr, uint256 rd) = openingOf(id);
        return keccak256(abi.encode(tr, rd));
    }

    /// @dev The commitment of a job as the model knows it: its provider and stake (zero when
    ///      it has none) and the trace root and attestation digest its provider commits.
    function _commitmentOf(uint256 id) internal view returns (Commitment memory) {
        Ghost storage g = _ghost[id];
        return Commitment({
            provider: g.provider, stake: g.stake, traceRoot: traceRootOf(id), attestationDigest: attestationOf(id)
        });
    }

    /// @dev settlement.md §3: keccak256(abi.encode(provider, uint256 stake, traceRoot, attestationDigest)).
    function _commitmentHash(Commitment memory c) internal pure returns (bytes32) {
        return keccak256(abi.encode(c.provider, uint256(c.stake), c.traceRoot, c.attestationDigest));
    }

    /// @dev The job's second slot per the model: provider << 96 | stake while Locked or
    ///      Proved, the commitment while Committed, zero otherwise.
    function _holderModel(uint256 id) internal view returns (bytes32) {
        Ghost storage g = _ghost[id];
        JobState s = g.state;
        if (s == JobState.Locked || s == JobState.Proved) {
            return bytes32((uint256(uint160(g.provider)) << 96) | g.stake);
        }
        if (s == JobState.Committed) return _commitmentHash(_commitmentOf(id));
        return bytes32(0);
    }

    // ---------------------------------------------------------------- picking

    function _pick(uint256 seed, uint8 kind, uint256 arg) internal view returns (bool, uint256) {
        uint256 n = jobIds.length;
        if (n == 0) return (false, 0);
        uint256 start = seed % n;
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = jobIds[(start + i) % n];
            if (_is(id, kind, arg)) return (true, id);
        }
        return (false, 0);
    }

    function _is(uint256 id, uint8 kind, uint256 arg) internal view returns (bool) {
        Ghost storage g = _ghost[id];
        JobState s = g.state;
        if (kind == P_PENDING) return s == JobState.None && g.signed;
        if (kind == P_PENDING_LIVE) return s == JobState.None && g.signed && block.timestamp <= _req[id].lockBy;
        if (kind == P_SLASHABLE_COMMITTED) {
            if (s != JobState.Committed) return false;
            (bool ok,,) = _slashable(id);
            return ok;
        }
        if (kind == P_OPEN) return s == JobState.Open;
        if (kind == P_OPEN_LOCKABLE) return s == JobState.Open && block.timestamp <= _req[id].lockBy;
        if (kind == P_LOCKED) return s == JobState.Locked;
        if (kind == P_LOCKED_LIVE) return s == JobState.Locked && block.timestamp <= g.commitBy;
        if (kind == P_COMMITTED) return s == JobState.Committed;
        if (kind == P_READY) return s == JobState.Committed && _timing(id).length == 0;
        if (kind == P_UNSEEDED) return s == JobState.Committed && !g.seedFixed;
        bool commitment = _req[id].seedCommitment != bytes32(0);
        if (kind == P_UNSEEDED_COMMITMENT) return s == JobState.Committed && !g.seedFixed && commitment;
        if (kind == P_REVEALABLE) {
            return s == JobState.Committed && !g.seedFixed && commitment && block.number > g.seedBlock
                && block.number <= g.seedBlock + REVEAL_BLOCKS;
        }
        if (kind == P_FIXABLE) {
            return s == JobState.Committed && !g.seedFixed
                && block.number > g.seedBlock + (commitment ? REVEAL_BLOCKS : 0)
                && block.number <= g.seedBlock + SEED_HORIZON;
        }
        if (kind == P_PROVED) return s == JobState.Proved;
        if (kind == P_SLASHABLE) {
            (bool ok,,) = _slashable(id);
            return ok;
        }
        if (kind == P_CANCELLABLE) return s == JobState.Open || (s == JobState.None && g.signed);
        if (kind == P_FINAL) return s == JobState.Settled || s == JobState.Slashed || s == JobState.Cancelled;
        if (kind == P_ANY) return true;
        if (kind == P_CONCLUDED_OF) {
            return g.provider == provs[arg] && (s == JobState.Proved || s == JobState.Settled || s == JobState.Slashed);
        }
        if (kind == P_NOT_READY_OF) {
            return g.provider == provs[arg] && s == JobState.Committed && _timing(id).length != 0;
        }
        if (kind == P_NOT_CANCELLABLE) return s != JobState.None && s != JobState.Open;
        return false;
    }

    // ---------------------------------------------------------------- challenge helpers

    /// @dev A canonical element from random bits: kind 0 (op, row, col), 1 or 2 (row only);
    ///      rows and columns far out of range too (the targeted circuit answers them).
    function _elementFrom(uint256 r) internal pure returns (uint256) {
        uint256 kind = r % 3;
        uint256 row = (r >> 8) % 4 == 0 ? uint32(r >> 16) : (r >> 16) % 64;
        if (kind != 0) return (kind << 96) | (row << 32);
        return ((r >> 48) % 8 << 64) | (row << 32) | ((r >> 56) % 64);
    }

    /// @dev A canonical data element from random bits: kind 4 (a tensor), 5 (a row of it) or
    ///      6 (a column of it), with tensors, rows and columns past the trace's (vacuous) too.
    function _dataElementFrom(uint256 r) internal pure returns (uint256) {
        uint256 kind = 4 + r % 3;
        uint256 t = (r >> 8) % 8 == 0 ? uint32(r >> 32) : (r >> 16) % (TRACE_TENSORS + 2);
        uint256 index = (r >> 24) % (TRACE_ROWS + 2);
        if (kind == 4) return (kind << 96) | (t << 64);
        if (kind == 5) return (kind << 96) | (t << 64) | (index << 32);
        return (kind << 96) | (t << 64) | index;
    }

    function _isData(uint256 element) internal pure returns (bool) {
        return element >> 96 >= 4;
    }

    /// @notice Whether a falsified job's cheater withholds its trace (about one in two): it
    ///         cannot answer a data challenge. The others answer them (when they please: the
    ///         answer action) and are slashed by their false element all the same.
    function withholds(uint256 id) public pure returns (bool) {
        return falsified(id) && uint256(keccak256(abi.encode("withholds", id))) % 2 == 0;
    }

    /// @dev Whether the provider cannot answer the challenge: the falsified element of a
    ///      falsified job, or any data element of one that withholds its trace.
    function _unanswerable(uint256 id, uint256 element) internal pure returns (bool) {
        return falsified(id) && (element == falseElement(id) || (_isData(element) && withholds(id)));
    }

    /// @dev An answered data challenge whose bond is held (of a Proved job when `proved`, of a
    ///      job no longer Proved otherwise), from `seed` on.
    function _pickHeld(uint256 seed, bool proved) internal view returns (bool, ChallengeRef memory) {
        uint256 n = _challenged.length;
        for (uint256 i = 0; i < n; ++i) {
            ChallengeRef memory c = _challenged[(seed % n + i) % n];
            if (_gch[c.id][c.element].state != ChallengeState.Answered || !_isData(c.element)) continue;
            if ((_ghost[c.id].state == JobState.Proved) == proved) return (true, c);
        }
        ChallengeRef memory none;
        return (false, none);
    }

    /// @dev The end of a job's challenge window: its payableAt, or its dataUntil when later.
    function _closesAt(uint256 id) internal view returns (uint64) {
        uint64 p = _ghost[id].payableAt;
        return gDataUntil[id] > p ? gDataUntil[id] : p;
    }

    /// @dev An Open challenge (of a Proved job when `proved`, of a job no longer Proved
    ///      otherwise), from `seed` on.
    function _pickChallenge(uint256 seed, bool proved) internal view returns (bool, ChallengeRef memory) {
        uint256 n = _challenged.length;
        for (uint256 i = 0; i < n; ++i) {
            ChallengeRef memory c = _challenged[(seed % n + i) % n];
            if (_gch[c.id][c.element].state != ChallengeState.Open) continue;
            if ((_ghost[c.id].state == JobState.Proved) == proved) return (true, c);
        }
        ChallengeRef memory none;
        return (false, none);
    }

    /// @dev An Open challenge of a Proved job past its respondBy, from `seed` on.
    function _pickDue(uint256 seed) internal view returns (bool, ChallengeRef memory) {
        uint256 n = _challenged.length;
        for (uint256 i = 0; i < n; ++i) {
            ChallengeRef memory c = _challenged[(seed % n + i) % n];
            GChallenge storage gc = _gch[c.id][c.element];
            if (gc.state == ChallengeState.Open && _ghost[c.id].state == JobState.Proved && block.timestamp > gc.respondBy) {
                return (true, c);
            }
        }
        ChallengeRef memory none;
        return (false, none);
    }

    function _answerHonest(uint256 id, uint256 element) internal {
        (uint256 tr, uint256 rd) = openingOf(id);
        Request memory q = _req[id];
        address p = _ghost[id].provider;
        if (_isData(element)) {
            TraceOpening memory o = openingFor(id, element);
            vm.prank(p);
            challenges.answerData(q, tr, rd, element, o);
            // The window stays open one proveWindow after the answer (never shortened).
            uint64 until = uint64(block.timestamp) + q.proveWindow;
            if (until > gDataUntil[id]) gDataUntil[id] = until;
            if (challenges.challengeOf(id, element).provider != p) _violation("a data answer recorded another provider");
            // The bond is held until the job's fate is known (release), not credited.
            GChallenge storage gc = _gch[id][element];
            gc.state = ChallengeState.Answered;
            --gOpen[id];
            gOpenBonds -= gc.bond;
            gHeldBonds += gc.bond;
            _count(Reached.DataChallengeAnswered);
        } else {
            uint256[8] memory proof = SyntheticGroth16.proveTargeted([q.modelRoot, q.jobDigest, tr, rd, element]);
            vm.prank(p);
            challenges.answer(q, tr, rd, element, proof);
            _closeModel(id, element, ChallengeState.Answered, p);
        }
        _count(Reached.ChallengeAnswered);
    }

    function _enforce(uint256 id, uint256 element) internal {
        GChallenge storage gc = _gch[id][element];
        if (!falsified(id)) _violation("an honest provider's challenge went unanswered");
        Ghost storage g = _ghost[id];
        uint256 bounty = Math.mulDiv(g.stake, g.bountyBps, BPS);
        address ch = gc.challenger;
        uint256 buyerBefore = manager.balanceOf(_req[id].buyer);
        uint256 chBefore = manager.balanceOf(ch);
        vm.prank(keeper);
        challenges.enforce(_req[id], element);
        if (ch != _req[id].buyer && manager.balanceOf(ch) != chBefore + bounty) {
            _violation("an upheld challenge paid the challenger other than the bounty");
        }
        if (ch != _req[id].buyer && manager.balanceOf(_req[id].buyer) != buyerBefore + _req[id].price + g.stake - bounty) {
            _violation("an upheld challenge paid the buyer other than price + stake - bounty");
        }
        _closeModel(id, element, ChallengeState.Upheld, ch);
        _slashModel(id, Cause.Challenged, ch, bounty);
        _count(Reached.ChallengeUpheld);
        if (_isData(element)) _count(Reached.DataChallengeUpheld);
    }

    /// @dev A challenge closes: its bond credited to `to`.
    function _closeModel(uint256 id, uint256 element, ChallengeState st, address to) internal {
        GChallenge storage gc = _gch[id][element];
        gc.state = st;
        --gOpen[id];
        gOpenBonds -= gc.bond;
        gBond[to] += gc.bond;
    }

    /// @dev One step on a Proved job with open challenges. One the provider cannot answer (a
    ///      falsified element, a data element of a withheld trace, or one a cheater let lapse)
    ///      is upheld first, the one due first, once its respondBy passed (waited out when it
    ///      is near; the others are then reclaimed); with none, the provider answers one.
    function _resolveOne(uint256 id) internal returns (bool) {
        uint256 n = _challenged.length;
        bool found;
        uint256 element;
        uint64 due = type(uint64).max;
        bool answerable;
        uint256 next;
        for (uint256 i = 0; i < n; ++i) {
            ChallengeRef memory c = _challenged[i];
            GChallenge storage gc = _gch[id][c.element];
            if (c.id != id || gc.state != ChallengeState.Open) continue;
            // An honest provider's never lapse: _warpTo answers them first.
            if (_unanswerable(id, c.element) || block.timestamp > gc.respondBy) {
                if (gc.respondBy < due) (found, element, due) = (true, c.element, gc.respondBy);
            } else if (!answerable) {
                (answerable, next) = (true, c.element);
            }
        }
        if (found) {
            if (block.timestamp <= due) {
                if (due - block.timestamp >= 10 minutes) return false;
                _warpTo(uint256(due) + 1);
            }
            _enforce(id, element);
            return true;
        }
        if (!answerable) return false;
        _answerHonest(id, next);
        return true;
    }

    /// @dev Time passes; an honest provider answers, before, every open challenge of its jobs
    ///      that would fall due (it watches the chain).
    function _warpTo(uint256 t) internal {
        uint256 n = _challenged.length;
        for (uint256 i = 0; i < n; ++i) {
            ChallengeRef memory c = _challenged[i];
            GChallenge storage gc = _gch[c.id][c.element];
            if (gc.state != ChallengeState.Open || _ghost[c.id].state != JobState.Proved) continue;
            // A cheater answers only when it pleases (the answer action); it cannot save the job.
            if (falsified(c.id)) continue;
            if (gc.respondBy < t) _answerHonest(c.id, c.element);
        }
        vm.warp(t);
    }

    // ---------------------------------------------------------------- small helpers

    /// @dev The job id as settlement.md §2 defines it: the request's EIP-712 digest.
    function _jobIdOf(Request memory q) internal view returns (uint256) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Probity"), keccak256("1"), block.chainid, address(manager))
        );
        return uint256(keccak256(abi.encodePacked("\x19\x01", domain, keccak256(abi.encode(REQUEST_TYPEHASH, q)))));
    }

    function _signature(uint256 pk, uint256 id) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, bytes32(id));
        return abi.encodePacked(r, s, v);
    }

    function _wrongState(uint256 id, JobState s) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(SLAManager.WrongState.selector, id, s);
    }

    function _actor(uint256 who) internal view returns (address) {
        uint256 k = who % 5;
        if (k < 2) return buyers[k];
        if (k < 4) return provs[k - 2];
        return keeper;
    }

    function _expect(bytes memory err, bytes memory want, string memory what) internal {
        if (keccak256(err) != keccak256(want)) _violation(what);
    }

    function _count(Reached what) internal {
        ++_reached[uint256(what)];
    }

    function _violation(string memory what) internal {
        _violations.push(what);
    }
}
