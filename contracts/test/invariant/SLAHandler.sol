// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "../utils/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {SLAManager} from "../../src/SLAManager.sol";
import {StakeMath} from "../../src/libraries/StakeMath.sol";
import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";
import {Job, JobState} from "../../src/types/Job.sol";
import {JobSpec} from "../../src/types/JobSpec.sol";
import {Layer} from "../../src/types/Layer.sol";
import {Receipt, ReceiptLibrary} from "../../src/types/Receipt.sol";
import {SwitchableFeeToken} from "../mocks/MaliciousTokens.sol";

/// @notice The names of SLAHandler.Reached, in its order (reach snapshots and assertions).
function reachedNamesOf() pure returns (string[34] memory) {
    return [
        "calls",
        "posted",
        "postedMultiLayer",
        "postedWithCommitment",
        "windowTooShortRefused",
        "cancelled",
        "locked",
        "committed",
        "settled",
        "settledMultiLayer",
        "settledHonest",
        "slashedInvalidProof",
        "slashedCommitMissed",
        "slashedProveMissed",
        "slashedSeedExpired",
        "selfSlashed",
        "slashRefused",
        "abandonedReopened",
        "abandonedRefunded",
        "revealed",
        "badRevealRefused",
        "revealPendingRefused",
        "seedFallbackFixSeed",
        "seedFallbackSubmit",
        "gasCappedReverted",
        "gasCappedSettled",
        "keyRotated",
        "governanceChanged",
        "withdrawn",
        "withdrawnTo",
        "unbondedWithdrawn",
        "feeSwitched",
        "endedWhileFeeOn",
        "feeRefusedDeposit"
    ];
}

/// @notice TEST ONLY. A synthetic verifier that accepts exactly the designated proofs (first word
///         even), so a handler can submit valid and invalid proofs through one registered
///         verifier. It burns BURN gas like a real pairing check does, so a submission short of
///         gas would make it run out and read as a rejection if the manager did not refuse to
///         call it with less than VERIFIER_GAS.
contract ParityVerifier is IGroth16Verifier {
    uint256 public constant BURN = 30_000;

    function verifyProof(uint256[8] calldata proof, uint256[5] calldata) external view returns (bool) {
        uint256 start = gasleft();
        // A busy loop: `start - gasleft()` grows with every iteration and cannot underflow.
        while (start - gasleft() < BURN) {}
        return proof[0] % 2 == 0;
    }
}

/// @notice Drives every SLA action with bounded arguments, picking each action's job from the
///         state that action needs (per-state job lists), and records ghost accounting and the
///         outcome of every step for the invariants. Two providers: HONEST follows the protocol's
///         timing with valid proofs (a node watching the chain: it acts before any time passes),
///         CHEATER does anything, including slashing itself from a second address it controls.
///         Time and block steps are bounded by the windows the honest node accepts.
contract SLAHandler is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant EPILOGUE = (1 << 30) + (31 << 32) + (128 << 40) + (1 << 48);
    uint256 internal constant HONEST = 0;
    uint256 internal constant CHEATER = 1;
    /// @notice The shortest exec/prove window the honest node locks (its measured times plus a
    ///         block and a margin); also the longest time step, so the node always gets a turn
    ///         before a deadline it accepted.
    uint32 public constant HONEST_WINDOW = 90;
    /// @notice Longest block step: inside the SEED_HORIZON - REVEAL_BLOCKS - SEED_DELAY blocks
    ///         during which the honest node can fix a seed without the buyer, so its turn always
    ///         falls inside them.
    uint256 public constant MAX_BLOCK_STEP = 200;
    /// @notice Calls into a run after which the hostile token may start charging (half a run of
    ///         the default depth).
    uint256 public constant FEE_AFTER_CALLS = 128;

    IERC20 public immutable token;
    ProviderRegistry public immutable providers;
    SLAManager public immutable manager;
    bytes32 public immutable shapeA; // K=16 N=4 D=3 k=2
    bytes32 public immutable shapeB; // K=4  N=4 D=3 k=3 (chains after A and after itself)
    address public immutable gov;
    /// @notice The hostile token when the fee can be switched on, else zero.
    SwitchableFeeToken public immutable feeToken;

    address[3] public buyers;
    address[2] public provs;
    uint256[2] internal nodePks;
    uint256 internal keyNonce;
    address public keeper;
    address public cheaterAlt;
    address public sink;

    // ---------------------------------------------------------------- jobs by state

    uint256[] internal openJobs;
    uint256[] internal lockedJobs;
    uint256[] internal committedJobs;
    uint256[] public allJobs;
    mapping(uint256 => uint256) internal listPos; // index + 1 in its state's list
    mapping(uint256 => JobState) public listedAs;

    /// @dev What the cheater does with a job it locked, drawn at lock.
    enum Plan {
        Silent, // never commits: slashed after commitBy
        CommitNoProof, // commits, never proves: slashed after proveBy once someone fixes the seed
        CommitLetSeedExpire, // commits, nobody fixes the seed: slashable at seedBlock + SEED_HORIZON
        Invalid, // proves with a bad layer: slashed on submission
        Valid, // proves honestly
        Abandon // gives the job back before commitBy
    }

    struct Ghost {
        Plan plan;
        uint8 layers;
        uint8 firstShape;
        uint16 salt;
        bytes32 secret;
        uint256 netRequired; // the detection bound at lock, before the bounty gross-up
        JobState finalState;
        bool seedSeen;
        uint256 seed;
    }

    mapping(uint256 => Ghost) public ghost;

    // ---------------------------------------------------------------- ghost money

    uint256 public ghostEscrow;
    mapping(address => uint256) public deposited;
    mapping(address => uint256) public withdrawnUnbonded;
    mapping(address => uint256) public lost;
    bool public feeOn;

    // ---------------------------------------------------------------- violations seen

    string[] internal _violations;

    // ---------------------------------------------------------------- reach

    enum Reached {
        Calls,
        Posted,
        PostedMultiLayer,
        PostedWithCommitment,
        WindowTooShortRefused,
        Cancelled,
        Locked,
        Committed,
        Settled,
        SettledMultiLayer,
        SettledHonest,
        SlashedInvalidProof,
        SlashedCommitMissed,
        SlashedProveMissed,
        SlashedSeedExpired,
        SelfSlashed,
        SlashRefused,
        AbandonedReopened,
        AbandonedRefunded,
        Revealed,
        BadRevealRefused,
        RevealPendingRefused,
        SeedFallbackFixSeed,
        SeedFallbackSubmit,
        GasCappedReverted,
        GasCappedSettled,
        KeyRotated,
        GovernanceChanged,
        Withdrawn,
        WithdrawnTo,
        UnbondedWithdrawn,
        FeeSwitched,
        EndedWhileFeeOn,
        FeeRefusedDeposit
    }

    uint256 internal constant REACHED = 34;
    uint256[REACHED] internal _reached;

    constructor(
        IERC20 token_,
        ProviderRegistry providers_,
        SLAManager manager_,
        bytes32 shapeA_,
        bytes32 shapeB_,
        address gov_,
        SwitchableFeeToken feeToken_
    ) {
        token = token_;
        providers = providers_;
        manager = manager_;
        shapeA = shapeA_;
        shapeB = shapeB_;
        gov = gov_;
        feeToken = feeToken_;
        buyers = [makeAddr("b0"), makeAddr("b1"), makeAddr("b2")];
        provs = [makeAddr("honest"), makeAddr("cheater")];
        keeper = makeAddr("keeper");
        cheaterAlt = makeAddr("cheaterAlt");
        sink = makeAddr("sink");
        require(uint256(type(Reached).max) + 1 == REACHED, "REACHED out of date");
        for (uint256 i = 0; i < 2; ++i) {
            (, nodePks[i]) = makeAddrAndKey(string.concat("node", vm.toString(i)));
        }
    }

    /// @dev Called by the test after it has funded the actors.
    function init(uint256 stake) external {
        for (uint256 i = 0; i < 3; ++i) {
            vm.prank(buyers[i]);
            token.approve(address(manager), type(uint256).max);
        }
        for (uint256 i = 0; i < 2; ++i) {
            vm.startPrank(provs[i]);
            token.approve(address(providers), type(uint256).max);
            providers.register(vm.addr(nodePks[i]), stake);
            vm.stopPrank();
            deposited[provs[i]] = stake;
        }
    }

    // ================================================================ buyer actions

    function postJob(uint256 who, uint256 price, uint256 shapeSeed, uint256 windowSeed, bool commitment) external {
        _count(Reached.Calls);
        address b = buyers[who % 3];
        price = bound(price, 1e15, 2_000e18);
        Ghost memory g;
        g.layers = uint8(1 + shapeSeed % 3);
        g.firstShape = uint8((shapeSeed / 3) % 2);
        g.salt = uint16(shapeSeed >> 8);
        if (commitment) g.secret = keccak256(abi.encode("secret", manager.jobCount() + 1, shapeSeed));
        windowSeed = _rand(windowSeed, "windows");
        (uint32 exec, uint32 prove, bool tooShort) = _windows(windowSeed);
        uint64 lockBy = uint64(block.timestamp + 30 + (windowSeed >> 40) % 180);
        bytes32 c = commitment ? keccak256(abi.encode(g.secret)) : bytes32(0);
        JobSpec memory spec = _spec(g.layers, g.firstShape, g.salt);
        if (tooShort) {
            bytes memory want = abi.encodeWithSelector(
                SLAManager.WindowTooShort.selector, exec, prove, manager.minExecWindow(), manager.minProveWindow()
            );
            vm.prank(b);
            try manager.postJob(spec, price, lockBy, exec, prove, c, "") {
                _violation("a window below the minimum was accepted");
            } catch (bytes memory err) {
                if (keccak256(err) != keccak256(want)) _violation("short window refused with the wrong error");
                _count(Reached.WindowTooShortRefused);
            }
            return;
        }
        if (feeOn) {
            _expectFeeRefusal(b, spec, price, lockBy, exec, prove, c);
            return;
        }
        vm.prank(b);
        uint256 jobId = manager.postJob(spec, price, lockBy, exec, prove, c, "");
        ghost[jobId] = g;
        allJobs.push(jobId);
        _push(openJobs, jobId, JobState.Open);
        ghostEscrow += price;
        _count(Reached.Posted);
        if (g.layers > 1) _count(Reached.PostedMultiLayer);
        if (commitment) _count(Reached.PostedWithCommitment);
    }

    /// @dev A buyer takes back an open job nobody locked in time; one in eight times a live one.
    function cancel(uint256 seed) external {
        _count(Reached.Calls);
        uint256 n = openJobs.length;
        if (n == 0) return;
        bool any = _rand(seed, "cancel any") % 8 == 0;
        uint256 jobId;
        for (uint256 i = 0; i < n; ++i) {
            jobId = openJobs[(seed % n + i) % n];
            if (any || block.timestamp > manager.getJob(jobId).lockBy) break;
            if (i == n - 1) return;
        }
        Job memory j = manager.getJob(jobId);
        uint256 before = manager.creditOf(j.buyer);
        vm.prank(j.buyer);
        manager.cancel(jobId);
        if (manager.creditOf(j.buyer) != before + j.price) _violation("cancel did not refund the price");
        ghostEscrow -= j.price;
        _sync(jobId);
        _count(Reached.Cancelled);
    }

    /// @dev The buyer (or whoever holds the secret) reveals; with `good` false someone guesses.
    function reveal(uint256 seed, bool good) external {
        _count(Reached.Calls);
        (bool found, uint256 jobId) = _pickCommitted(seed, _REVEALABLE);
        if (!found) return;
        Job memory j = manager.getJob(jobId);
        bytes32 secret = ghost[jobId].secret;
        if (!good) {
            bytes32 guess = keccak256(abi.encode(secret, seed));
            vm.prank(keeper);
            try manager.revealSeed(jobId, guess) {
                _violation("a wrong secret fixed the seed");
            } catch (bytes memory err) {
                bytes memory want = abi.encodeWithSelector(SLAManager.BadReveal.selector, jobId, j.seedCommitment);
                if (keccak256(err) != keccak256(want)) _violation("bad reveal refused with the wrong error");
                _count(Reached.BadRevealRefused);
            }
            return;
        }
        if (block.number > uint256(j.seedBlock) + manager.REVEAL_BLOCKS()) {
            // Past the reveal window only the fallback fixes the seed: a late reveal must be
            // refused, or a cheater could choose between two seeds.
            vm.prank(j.buyer);
            try manager.revealSeed(jobId, secret) {
                _violation("a late reveal fixed the seed");
            } catch (bytes memory err) {
                uint64 until = j.seedBlock + manager.REVEAL_BLOCKS();
                bytes memory closed = abi.encodeWithSelector(SLAManager.RevealClosed.selector, jobId, until, block.number);
                if (keccak256(err) != keccak256(closed)) _violation("late reveal refused with the wrong error");
            }
            return;
        }
        uint256 want = _seedOf(jobId, j, secret);
        vm.prank(j.buyer);
        manager.revealSeed(jobId, secret);
        _checkFixedSeed(jobId, want);
        _count(Reached.Revealed);
    }

    // ================================================================ provider actions

    function lock(uint256 seed, uint256 who) external {
        _count(Reached.Calls);
        uint256 n = openJobs.length;
        if (n == 0) return;
        uint256 pi = who % 2;
        address p = provs[pi];
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = openJobs[(seed % n + i) % n];
            Job memory j = manager.getJob(jobId);
            if (block.timestamp > j.lockBy) continue;
            // The honest node refuses windows below its own measured times (issue 11).
            if (pi == HONEST && (j.execWindow < HONEST_WINDOW || j.proveWindow < HONEST_WINDOW)) continue;
            uint256 net = StakeMath.requiredStake(j.price, manager.detectionFloorBps(), j.kmin);
            uint256 gross = StakeMath.grossStake(net, manager.bountyBps());
            if (providers.freeStake(p) < gross) return;
            uint16 bountyNow = manager.bountyBps();
            uint16 abandonNow = manager.abandonBps();
            vm.prank(p);
            manager.lock(jobId);
            Job memory l = manager.getJob(jobId);
            if (l.stake != gross || l.bountyBps != bountyNow || l.abandonBps != abandonNow) {
                _violation("lock did not fix the stake and rates of this moment");
            }
            ghost[jobId].netRequired = net;
            ghost[jobId].plan = _drawPlan(_rand(seed ^ jobId, "plan"));
            _sync(jobId);
            _count(Reached.Locked);
            return;
        }
    }

    /// @dev The cheater commits (the honest node commits on its own turn, see honestAct).
    function commit(uint256 seed) external {
        _count(Reached.Calls);
        uint256 n = lockedJobs.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = lockedJobs[(seed % n + i) % n];
            Job memory j = manager.getJob(jobId);
            if (j.provider != provs[CHEATER] || block.timestamp > j.commitBy) continue;
            Plan plan = ghost[jobId].plan;
            if (plan == Plan.Silent || plan == Plan.Abandon) continue;
            _commit(jobId, j);
            return;
        }
    }

    /// @dev The cheater submits what its plan says: valid proofs, or proofs bad at one layer.
    function submit(uint256 seed, uint256 badLayer) external {
        _count(Reached.Calls);
        (bool found, uint256 jobId) = _pickCommitted(seed, _SUBMITTABLE_CHEATER);
        if (!found) return;
        _submit(jobId, CHEATER, ghost[jobId].plan == Plan.Valid, badLayer);
    }

    /// @dev A submission with a gas cap: too little gas must revert (the job unchanged), never
    ///      slash a valid proof; enough gas decides as usual (the cheater's proofs per its plan).
    function submitGasCapped(uint256 seed, uint256 gasCap, bool honest) external {
        _count(Reached.Calls);
        uint256 pi = honest ? HONEST : CHEATER;
        (bool found, uint256 jobId) = _pickCommitted(seed, honest ? _SUBMITTABLE_HONEST : _SUBMITTABLE_CHEATER);
        if (!found) return;
        Job memory j = manager.getJob(jobId);
        // From a few tens of thousands (out of gas before the checks) to enough for every layer.
        gasCap = 30_000 + _rand(gasCap, "gas") % (100_000 + 340_000 * uint256(ghost[jobId].layers));
        bool valid = pi == HONEST || ghost[jobId].plan == Plan.Valid;
        Submission memory sub = _prepare(jobId, j, pi, valid, 0);
        uint256 buyerBefore = manager.creditOf(j.buyer);
        vm.prank(provs[pi]);
        try manager.submitProof{gas: gasCap}(jobId, sub.spec, sub.roots, bytes32(jobId), sub.proofs, sub.sig) returns (
            bool ok
        ) {
            if (ok != valid) _violation("a capped submission decided against the proof");
            if (!j.seedFixed) _checkFixedSeed(jobId, sub.seed);
            if (ok) {
                _afterSettled(jobId, j);
            } else {
                if (manager.creditOf(j.buyer) != buyerBefore + j.price + j.stake) {
                    _violation("buyer of a rejected proof not paid price + stake");
                }
                _afterSlashed(jobId, j, address(0), 0);
                _count(Reached.SlashedInvalidProof);
            }
            _count(Reached.GasCappedSettled);
        } catch {
            Job memory a = manager.getJob(jobId);
            if (a.state != JobState.Committed || a.seedFixed != j.seedFixed) {
                _violation("a reverted capped submission changed the job");
            }
            _count(Reached.GasCappedReverted);
        }
    }

    /// @dev The cheater gives back the jobs it planned to; one in eight times the honest node
    ///         gives one back too (its executor failed before the commit).
    function abandon(uint256 seed) external {
        _count(Reached.Calls);
        uint256 n = lockedJobs.length;
        bool honestToo = _rand(seed, "honest abandons") % 8 == 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = lockedJobs[(seed % n + i) % n];
            Job memory j = manager.getJob(jobId);
            if (block.timestamp > j.commitBy) continue;
            // Most planned abandonments wait for lockBy to pass, so both ends are seen: a refund
            // (after lockBy) and a reopened job (before it).
            bool cheaterPlan = j.provider == provs[CHEATER] && ghost[jobId].plan == Plan.Abandon
                && (_rand(seed, "abandon now") % 4 == 0 || block.timestamp > j.lockBy);
            if (!cheaterPlan && !(honestToo && j.provider == provs[HONEST])) continue;
            _abandon(jobId, j);
            return;
        }
    }

    function rotateKey(uint256 who) public {
        _count(Reached.Calls);
        uint256 pi = who % 2;
        uint256 pk = uint256(keccak256(abi.encode("rotated key", ++keyNonce))) % SECP256K1_ORDER;
        vm.prank(provs[pi]);
        providers.rotateNodeKey(vm.addr(pk));
        nodePks[pi] = pk;
        _count(Reached.KeyRotated);
    }

    function addStake(uint256 who, uint256 amount) public {
        _count(Reached.Calls);
        address p = provs[who % 2];
        amount = bound(amount, 1, 20_000e18);
        uint256 fee = feeOn ? (amount * feeToken.feeBps()) / 10_000 : 0;
        vm.prank(p);
        if (fee != 0) {
            // The registry refuses stake it would receive short of.
            bytes memory want =
                abi.encodeWithSelector(ProviderRegistry.TransferAmountMismatch.selector, amount, amount - fee);
            try providers.addStake(amount) {
                _violation("stake accepted short of its amount");
            } catch (bytes memory err) {
                if (keccak256(err) != keccak256(want)) _violation("fee stake refused with the wrong error");
                _count(Reached.FeeRefusedDeposit);
            }
            return;
        }
        // Without a fee, or one that rounds to zero on this amount, the stake arrives in full.
        providers.addStake(amount);
        deposited[p] += amount;
    }

    /// @dev A provider unbonds part of its free stake, and waits it out before asking again (a
    ///      new request restarts the delay for the whole unbonding amount).
    function unbond(uint256 who, uint256 amount) public {
        _count(Reached.Calls);
        address p = provs[who % 2];
        uint256 free = providers.freeStake(p);
        if (free == 0 || providers.providerOf(p).unbonding != 0) return;
        vm.prank(p);
        providers.requestUnbond(bound(amount, 1, free / 10 + 1));
    }

    function withdrawUnbonded(uint256 who, bool toSink) public {
        _count(Reached.Calls);
        address p = provs[who % 2];
        uint256 amount = providers.providerOf(p).unbonding;
        if (amount == 0 || block.timestamp < providers.providerOf(p).unbondReadyAt) return;
        address to = toSink ? sink : p;
        uint256 before = token.balanceOf(to);
        vm.prank(p);
        providers.withdrawUnbondedTo(to);
        _checkDelivered(to, before, amount);
        withdrawnUnbonded[p] += amount;
        _count(Reached.UnbondedWithdrawn);
    }

    // ================================================================ anyone

    /// @dev Fixes a seed without the secret once allowed; with `early` it tries during the
    ///      reveal window instead and must be refused.
    function fixSeed(uint256 seed, bool early) external {
        _count(Reached.Calls);
        (bool found, uint256 jobId) = _pickCommitted(seed, early ? _REVEAL_PENDING : _FALLBACK_FIXABLE);
        if (!found) return;
        Job memory j = manager.getJob(jobId);
        if (early) {
            uint64 until = j.seedBlock + manager.REVEAL_BLOCKS();
            bytes memory want = abi.encodeWithSelector(SLAManager.RevealPending.selector, jobId, until, block.number);
            vm.prank(keeper);
            try manager.fixSeed(jobId) {
                _violation("the seed was fixed without the secret during the reveal window");
            } catch (bytes memory err) {
                if (keccak256(err) != keccak256(want)) _violation("early fixSeed refused with the wrong error");
                _count(Reached.RevealPendingRefused);
            }
            return;
        }
        uint256 want_ = _seedOf(jobId, j, bytes32(0));
        vm.prank(keeper);
        manager.fixSeed(jobId);
        _checkFixedSeed(jobId, want_);
        _count(Reached.SeedFallbackFixSeed);
    }

    /// @dev A keeper (or, with `byAlt`, the cheater's second address) sweeps: slashes up to four
    ///      slashable jobs. With `probe` it first tries one live job at random, so early slashes
    ///      are tried too and must be refused with the exact error.
    function slash(uint256 seed, bool byAlt, bool probe) external {
        _count(Reached.Calls);
        address caller = byAlt ? cheaterAlt : keeper;
        uint256 nl = lockedJobs.length;
        uint256 n = nl + committedJobs.length;
        if (n == 0) return;
        if (probe) {
            uint256 k = seed % n;
            uint256 jobId = k < nl ? lockedJobs[k] : committedJobs[k - nl];
            Job memory j = manager.getJob(jobId);
            (bool ok, bytes memory want, Reached cause) = _slashable(jobId, j);
            _slash(jobId, j, caller, ok, want, cause);
        }
        uint256[] memory live = new uint256[](lockedJobs.length + committedJobs.length);
        for (uint256 i = 0; i < lockedJobs.length; ++i) {
            live[i] = lockedJobs[i];
        }
        for (uint256 i = 0; i < committedJobs.length; ++i) {
            live[lockedJobs.length + i] = committedJobs[i];
        }
        uint256 swept;
        for (uint256 i = 0; i < live.length && swept < 4; ++i) {
            Job memory j = manager.getJob(live[i]);
            if (j.state != JobState.Locked && j.state != JobState.Committed) continue;
            (bool ok, bytes memory want, Reached cause) = _slashable(live[i], j);
            if (!ok) continue;
            _slash(live[i], j, caller, ok, want, cause);
            swept++;
        }
    }

    /// @dev The rarer actions share one selector, so the job lifecycle gets more of the calls:
    ///      key rotation, governance, adding stake, unbonding, withdrawing unbonded stake.
    function admin(uint256 kind, uint256 a, uint256 b) external {
        uint256 k = kind % 5;
        if (k == 0) rotateKey(a);
        else if (k == 1) govern(a, b);
        else if (k == 2) addStake(a, b);
        else if (k == 3) unbond(a, b);
        else withdrawUnbonded(a, b % 2 == 0);
    }

    function withdraw(uint256 who, bool toSink) external {
        _count(Reached.Calls);
        address[7] memory all = [buyers[0], buyers[1], buyers[2], provs[0], provs[1], keeper, cheaterAlt];
        address a = all[who % 7];
        uint256 owed = manager.creditOf(a);
        if (owed == 0) return;
        address to = toSink ? sink : a;
        uint256 before = token.balanceOf(to);
        vm.prank(a);
        manager.withdrawTo(to);
        if (manager.creditOf(a) != 0) _violation("withdraw left a credit");
        _checkDelivered(to, before, owed);
        _count(toSink ? Reached.WithdrawnTo : Reached.Withdrawn);
    }

    /// @dev Governance changes any rate mid-job; locked jobs must keep theirs.
    function govern(uint256 kind, uint256 value) public {
        _count(Reached.Calls);
        vm.startPrank(gov);
        uint256 k = kind % 4;
        if (k == 0) manager.setBountyBps(uint16(bound(value, 0, manager.MAX_BOUNTY_BPS())));
        else if (k == 1) manager.setDetectionFloorBps(uint16(bound(value, 500, 5_000)));
        else if (k == 2) manager.setAbandonBps(uint16(bound(value, manager.MIN_ABANDON_BPS(), manager.MAX_ABANDON_BPS())));
        else manager.setMinWindows(uint32(bound(value, 1, 300)), uint32(bound(value >> 32, 1, 300)));
        vm.stopPrank();
        _count(Reached.GovernanceChanged);
    }

    /// @dev The hostile token's fee, switched on (or changed, or, one time in four, off) in the
    ///      second half of a run, after jobs were posted and locked while the token behaved.
    function switchFee(uint256 bps) external {
        _count(Reached.Calls);
        if (address(feeToken) == address(0) || reached(Reached.Calls) < FEE_AFTER_CALLS) return;
        uint256 r = _rand(bps, "fee");
        uint16 fee = r % 4 == 0 ? 0 : uint16(1 + (r >> 8) % 500);
        feeToken.setFeeBps(fee);
        feeOn = fee != 0;
        _count(Reached.FeeSwitched);
    }

    /// @dev The honest node's turn: commit what it locked, prove what it can.
    function honestAct() public {
        _count(Reached.Calls);
        _honestAct();
    }

    /// @dev Time passes, never more than the honest node's shortest accepted window, and the node
    ///      gets its turn first (it watches the chain).
    function passTime(uint256 dt, uint256 blocks) external {
        _count(Reached.Calls);
        _honestAct();
        vm.warp(block.timestamp + bound(dt, 1, HONEST_WINDOW));
        // Mostly a few blocks (so reveal windows are seen), one step in four a long stretch.
        uint256 r = _rand(blocks, "blocks");
        vm.roll(block.number + 1 + (r % 4 == 0 ? (r >> 8) % MAX_BLOCK_STEP : (r >> 8) % 8));
    }

    /// @dev The windows postJob derives from `windowSeed` (for the smoke test).
    function previewWindows(uint256 windowSeed) external view returns (uint32 exec, uint32 prove, bool tooShort) {
        return _windows(_rand(windowSeed, "windows"));
    }

    /// @dev For the smoke test only (not a fuzz target): fixes the cheater's plan for a job.
    function forcePlan(uint256 jobId, Plan plan) external {
        ghost[jobId].plan = plan;
    }

    // ================================================================ views for the invariants

    function jobCount() external view returns (uint256) {
        return allJobs.length;
    }

    function violations() external view returns (string[] memory) {
        return _violations;
    }

    function reached(Reached what) public view returns (uint256) {
        return _reached[uint256(what)];
    }

    function reachedAll() external view returns (uint256[REACHED] memory) {
        return _reached;
    }

    function reachedNames() external pure returns (string[REACHED] memory) {
        return reachedNamesOf();
    }

    function settlements() public view returns (uint256) {
        return reached(Reached.Settled);
    }

    function slashes() public view returns (uint256) {
        return reached(Reached.SlashedInvalidProof) + reached(Reached.SlashedCommitMissed)
            + reached(Reached.SlashedProveMissed) + reached(Reached.SlashedSeedExpired);
    }

    /// @notice Every account the handler moves tokens to or from.
    function holders() external view returns (address[8] memory) {
        return [buyers[0], buyers[1], buyers[2], provs[0], provs[1], keeper, cheaterAlt, sink];
    }

    /// @notice Sum of the stakes of `p`'s live (Locked or Committed) jobs.
    function liveStakeOf(address p) external view returns (uint256 sum) {
        for (uint256 i = 0; i < lockedJobs.length; ++i) {
            Job memory j = manager.getJob(lockedJobs[i]);
            if (j.provider == p) sum += j.stake;
        }
        for (uint256 i = 0; i < committedJobs.length; ++i) {
            Job memory j = manager.getJob(committedJobs[i]);
            if (j.provider == p) sum += j.stake;
        }
    }

    // ================================================================ internals: actions

    function _honestAct() internal {
        address h = provs[HONEST];
        uint256[] memory locked = lockedJobs;
        for (uint256 i = 0; i < locked.length; ++i) {
            Job memory j = manager.getJob(locked[i]);
            if (j.provider != h) continue;
            if (block.timestamp > j.commitBy) _violation("the honest node missed its commit deadline");
            else _commit(locked[i], j);
        }
        uint256[] memory committed = committedJobs;
        for (uint256 i = 0; i < committed.length; ++i) {
            Job memory j = manager.getJob(committed[i]);
            if (j.provider != h) continue;
            if (_can(committed[i], j, _SUBMITTABLE_HONEST)) {
                _submit(committed[i], HONEST, true, 0);
            } else if (j.seedFixed || block.number > uint256(j.seedBlock) + manager.SEED_HORIZON()) {
                _violation("the honest node missed its proof deadline");
            }
        }
    }

    function _commit(uint256 jobId, Job memory j) internal {
        vm.prank(j.provider);
        manager.commit(jobId, _roots(jobId, ghost[jobId].layers), bytes32(jobId));
        _sync(jobId);
        _count(Reached.Committed);
    }

    function _submit(uint256 jobId, uint256 pi, bool valid, uint256 badLayer) internal {
        Job memory j = manager.getJob(jobId);
        Submission memory sub = _prepare(jobId, j, pi, valid, badLayer % ghost[jobId].layers);
        uint256 buyerBefore = manager.creditOf(j.buyer);
        vm.prank(provs[pi]);
        bool settled = manager.submitProof(jobId, sub.spec, sub.roots, bytes32(jobId), sub.proofs, sub.sig);
        if (!j.seedFixed) {
            _checkFixedSeed(jobId, sub.seed);
            _count(Reached.SeedFallbackSubmit);
        }
        if (settled != valid) _violation("submission outcome differs from proof validity");
        if (settled) {
            _afterSettled(jobId, j);
        } else {
            // An invalid proof: no bounty, the buyer gets price + stake.
            if (manager.creditOf(j.buyer) != buyerBefore + j.price + j.stake) {
                _violation("buyer of a rejected proof not paid price + stake");
            }
            _afterSlashed(jobId, j, address(0), 0);
            _count(Reached.SlashedInvalidProof);
        }
    }

    struct Submission {
        JobSpec spec;
        uint256[] roots;
        uint256[8][] proofs;
        bytes sig;
        uint256 seed;
    }

    /// @dev What provider `pi` submits: the job's spec and roots, proofs valid or bad at layer
    ///      `bad`, signed over the seed the job has or the submission will fix.
    function _prepare(uint256 jobId, Job memory j, uint256 pi, bool valid, uint256 bad)
        internal
        view
        returns (Submission memory sub)
    {
        Ghost memory g = ghost[jobId];
        sub.seed = j.seedFixed ? j.seed : _seedOf(jobId, j, bytes32(0));
        sub.proofs = _proofs(g.layers, valid, bad);
        sub.roots = _roots(jobId, g.layers);
        sub.sig = _sign(jobId, pi, j, sub.roots, sub.seed, sub.proofs);
        sub.spec = _spec(g.layers, g.firstShape, g.salt);
    }

    function _afterSettled(uint256 jobId, Job memory j) internal {
        if (manager.getJob(jobId).state != JobState.Settled) _violation("settled job not in Settled");
        ghostEscrow -= j.price;
        _sync(jobId);
        _count(Reached.Settled);
        if (ghost[jobId].layers > 1) _count(Reached.SettledMultiLayer);
        if (j.provider == provs[HONEST]) _count(Reached.SettledHonest);
        if (feeOn) _count(Reached.EndedWhileFeeOn);
    }

    function _abandon(uint256 jobId, Job memory j) internal {
        uint256 fee = (j.stake * j.abandonBps) / manager.BPS();
        bool reopen = block.timestamp <= j.lockBy;
        uint256 buyerBefore = manager.creditOf(j.buyer);
        uint256 freeBefore = providers.freeStake(j.provider);
        vm.prank(j.provider);
        manager.abandon(jobId);
        if (manager.creditOf(j.buyer) != buyerBefore + fee + (reopen ? 0 : j.price)) {
            _violation("abandon paid the buyer the wrong amount");
        }
        if (providers.freeStake(j.provider) != freeBefore + j.stake - fee) _violation("abandon released wrong");
        lost[j.provider] += fee;
        if (!reopen) ghostEscrow -= j.price;
        _sync(jobId);
        _count(reopen ? Reached.AbandonedReopened : Reached.AbandonedRefunded);
        if (feeOn) _count(Reached.EndedWhileFeeOn);
    }

    function _slash(uint256 jobId, Job memory j, address caller, bool ok, bytes memory want, Reached cause) internal {
        uint256 buyerBefore = manager.creditOf(j.buyer);
        uint256 callerBefore = manager.creditOf(caller);
        vm.prank(caller);
        try manager.slash(jobId) {
            if (!ok) _violation("slashed before its deadline");
            uint256 bounty = (j.stake * j.bountyBps) / manager.BPS();
            if (manager.creditOf(j.buyer) != buyerBefore + j.price + j.stake - bounty) {
                _violation("buyer of a slashed job not paid price + stake - bounty");
            }
            if (manager.creditOf(caller) != callerBefore + bounty) _violation("slasher not paid the bounty");
            _afterSlashed(jobId, j, caller, bounty);
            _count(cause);
            if (caller == cheaterAlt && j.provider == provs[CHEATER]) _count(Reached.SelfSlashed);
        } catch (bytes memory err) {
            if (ok) _violation("a slashable job could not be slashed");
            else if (keccak256(err) != keccak256(want)) _violation("early slash refused with the wrong error");
            _count(Reached.SlashRefused);
        }
    }

    function _afterSlashed(uint256 jobId, Job memory j, address caller, uint256 bounty) internal {
        if (manager.getJob(jobId).state != JobState.Slashed) _violation("slashed job not in Slashed");
        ghostEscrow -= j.price;
        lost[j.provider] += j.stake;
        if (j.provider == provs[HONEST]) _violation("the honest provider was slashed");
        if (j.provider == provs[CHEATER]) {
            // What the cheater gets back of its own slash: the bounty, when it triggered it.
            uint256 recovered = caller == cheaterAlt || caller == provs[CHEATER] ? bounty : 0;
            if (j.stake - recovered < ghost[jobId].netRequired) _violation("the cheater kept part of the bound");
        }
        _sync(jobId);
        if (feeOn) _count(Reached.EndedWhileFeeOn);
    }

    function _expectFeeRefusal(
        address b,
        JobSpec memory spec,
        uint256 price,
        uint64 lockBy,
        uint32 exec,
        uint32 prove,
        bytes32 c
    ) internal {
        uint256 fee = (price * feeToken.feeBps()) / 10_000;
        bytes memory want = abi.encodeWithSelector(SLAManager.TransferAmountMismatch.selector, price, price - fee);
        // price >= 1e15 and a fee of at least 1 bps: the fee never rounds to zero here.
        vm.prank(b);
        try manager.postJob(spec, price, lockBy, exec, prove, c, "") {
            _violation("escrow accepted short of its price");
        } catch (bytes memory err) {
            if (keccak256(err) != keccak256(want)) _violation("fee escrow refused with the wrong error");
            _count(Reached.FeeRefusedDeposit);
        }
    }

    // ================================================================ internals: picking jobs

    uint8 internal constant _REVEALABLE = 0;
    uint8 internal constant _REVEAL_PENDING = 1;
    uint8 internal constant _FALLBACK_FIXABLE = 2;
    uint8 internal constant _SUBMITTABLE_CHEATER = 3;
    uint8 internal constant _SUBMITTABLE_HONEST = 4;

    function _pickCommitted(uint256 seed, uint8 need) internal view returns (bool, uint256) {
        uint256 n = committedJobs.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = committedJobs[(seed % n + i) % n];
            if (_can(jobId, manager.getJob(jobId), need)) return (true, jobId);
        }
        return (false, 0);
    }

    /// @dev What a committed job allows now, from the protocol's rules (spec §6.2, §10).
    function _can(uint256 jobId, Job memory j, uint8 need) internal view returns (bool) {
        uint256 b = block.number;
        bool inHorizon = b > j.seedBlock && b <= uint256(j.seedBlock) + manager.SEED_HORIZON();
        bool inReveal = b <= uint256(j.seedBlock) + manager.REVEAL_BLOCKS();
        bool hasCommitment = j.seedCommitment != bytes32(0);
        if (need == _REVEALABLE) return !j.seedFixed && hasCommitment && inHorizon && !_leftToExpire(jobId, j);
        if (need == _REVEAL_PENDING) return !j.seedFixed && hasCommitment && inHorizon && inReveal;
        bool fallbackOk = !j.seedFixed && inHorizon && (!hasCommitment || !inReveal);
        if (need == _FALLBACK_FIXABLE) return fallbackOk && !_leftToExpire(jobId, j);
        address p = provs[need == _SUBMITTABLE_HONEST ? HONEST : CHEATER];
        if (j.provider != p) return false;
        if (need == _SUBMITTABLE_CHEATER) {
            Plan plan = ghost[jobId].plan;
            if (plan != Plan.Valid && plan != Plan.Invalid) return false;
        }
        return j.seedFixed ? block.timestamp <= j.proveBy : fallbackOk;
    }

    /// @dev A cheater job nobody bothers to fix the seed of (the buyer is offline, keepers earn
    ///      nothing for it): it must become slashable at the seed horizon.
    function _leftToExpire(uint256 jobId, Job memory j) internal view returns (bool) {
        return j.provider == provs[CHEATER] && ghost[jobId].plan == Plan.CommitLetSeedExpire;
    }

    /// @dev Whether `slash` must succeed now, the exact error otherwise, and the cause.
    function _slashable(uint256 jobId, Job memory j) internal view returns (bool, bytes memory, Reached) {
        if (j.state == JobState.Locked) {
            if (block.timestamp > j.commitBy) return (true, "", Reached.SlashedCommitMissed);
            return
                (false, abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, j.commitBy), Reached.Calls);
        }
        if (j.seedFixed) {
            if (block.timestamp > j.proveBy) return (true, "", Reached.SlashedProveMissed);
            return
                (false, abi.encodeWithSelector(SLAManager.DeadlineNotPassed.selector, jobId, j.proveBy), Reached.Calls);
        }
        if (block.number > uint256(j.seedBlock) + manager.SEED_HORIZON()) {
            return (true, "", Reached.SlashedSeedExpired);
        }
        return (
            false,
            abi.encodeWithSelector(SLAManager.SeedUnavailable.selector, jobId, j.seedBlock, block.number),
            Reached.Calls
        );
    }

    // ================================================================ internals: bookkeeping

    /// @dev Moves a job to the list of its current state; records final states once.
    function _sync(uint256 jobId) internal {
        JobState s = manager.getJob(jobId).state;
        JobState was = listedAs[jobId];
        if (s == was) return;
        if (was == JobState.Open) _remove(openJobs, jobId);
        else if (was == JobState.Locked) _remove(lockedJobs, jobId);
        else if (was == JobState.Committed) _remove(committedJobs, jobId);
        listedAs[jobId] = s;
        if (s == JobState.Open) _push(openJobs, jobId, s);
        else if (s == JobState.Locked) _push(lockedJobs, jobId, s);
        else if (s == JobState.Committed) _push(committedJobs, jobId, s);
        else ghost[jobId].finalState = s;
    }

    function _push(uint256[] storage list, uint256 jobId, JobState s) internal {
        list.push(jobId);
        listPos[jobId] = list.length;
        listedAs[jobId] = s;
    }

    function _remove(uint256[] storage list, uint256 jobId) internal {
        uint256 i = listPos[jobId] - 1;
        uint256 last = list[list.length - 1];
        list[i] = last;
        listPos[last] = i + 1;
        list.pop();
        listPos[jobId] = 0;
    }

    function _checkFixedSeed(uint256 jobId, uint256 want) internal {
        Job memory j = manager.getJob(jobId);
        if (!j.seedFixed || j.seed != want) _violation("seed differs from spec 6.2");
        if (j.proveBy != block.timestamp + j.proveWindow) _violation("proof deadline not from the seed fixing");
        ghost[jobId].seedSeen = true;
        ghost[jobId].seed = j.seed;
    }

    /// @dev Without a fee the recipient gets exactly `amount`; with one, at most that.
    function _checkDelivered(address to, uint256 before, uint256 amount) internal {
        uint256 got = token.balanceOf(to) - before;
        if (feeOn ? got > amount : got != amount) _violation("payout delivered the wrong amount");
    }

    /// @dev Weights out of 10: each way to be slashed 2, proving honestly 1, abandoning 1.
    function _drawPlan(uint256 r) internal pure returns (Plan) {
        uint256 x = r % 10;
        if (x < 8) return Plan(x / 2);
        return x == 8 ? Plan.Valid : Plan.Abandon;
    }

    function _rand(uint256 x, string memory tag) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(tag, x)));
    }

    function _count(Reached what) internal {
        _reached[uint256(what)]++;
    }

    function _violation(string memory what) internal {
        _violations.push(what);
    }

    // ================================================================ internals: encodings

    function _windows(uint256 seed) internal view returns (uint32 exec, uint32 prove, bool tooShort) {
        uint32 minE = manager.minExecWindow();
        uint32 minP = manager.minProveWindow();
        // Short windows, so deadlines pass within a run of the campaign.
        exec = minE + uint32(seed % 120);
        prove = minP + uint32((seed >> 16) % 120);
        // One post in 16 offers a window just below the minimum.
        if ((seed >> 32) % 16 == 0) {
            tooShort = true;
            if ((seed >> 36) % 2 == 0) exec = minE - 1;
            else prove = minP - 1;
        }
    }

    /// @dev Layer 0 is shape A or B; later layers are B (K=4 after N=4), so every spec chains.
    function _spec(uint8 layers, uint8 firstShape, uint16 salt) internal view returns (JobSpec memory spec) {
        spec.inputRoot = 1 + uint256(salt);
        spec.rows = 8;
        spec.layers = new Layer[](layers);
        for (uint256 l = 0; l < layers; ++l) {
            bytes32 s = l == 0 && firstShape == 0 ? shapeA : shapeB;
            spec.layers[l] = Layer({shapeId: s, weightsRoot: 7 + l, epilogue: EPILOGUE});
        }
    }

    function _roots(uint256 jobId, uint8 layers) internal pure returns (uint256[] memory roots) {
        roots = new uint256[](layers);
        for (uint256 l = 0; l < layers; ++l) {
            roots[l] = uint256(keccak256(abi.encode(jobId, l))) % R;
        }
    }

    function _proofs(uint8 layers, bool valid, uint256 bad) internal pure returns (uint256[8][] memory proofs) {
        proofs = new uint256[8][](layers);
        for (uint256 l = 0; l < layers; ++l) {
            proofs[l][0] = 2 * (l + 1) + (!valid && l == bad ? 1 : 0);
            proofs[l][1] = l;
        }
    }

    /// @dev spec §6.2: the seed _fixSeed derives at this block with `secret`.
    function _seedOf(uint256 jobId, Job memory j, bytes32 secret) internal view returns (uint256) {
        return uint256(
            keccak256(
            abi.encodePacked(
            "probity/seed/v1", block.chainid, address(manager), jobId, j.outputsDigest, blockhash(j.seedBlock), secret
        )
        )
        ) % R;
    }

    function _sign(
        uint256 jobId,
        uint256 pi,
        Job memory j,
        uint256[] memory roots,
        uint256 seed,
        uint256[8][] memory proofs
    ) internal view returns (bytes memory) {
        bytes memory all;
        for (uint256 i = 0; i < proofs.length; ++i) {
            all = bytes.concat(all, abi.encode(proofs[i]));
        }
        Receipt memory r = Receipt({
            jobId: jobId,
            provider: provs[pi],
            specHash: j.specHash,
            outputRoots: roots,
            attestationDigest: bytes32(jobId),
            seed: seed,
            k: j.kmin,
            proofsHash: keccak256(all)
        });
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", manager.domainSeparator(), ReceiptLibrary.hash(r)));
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(nodePks[pi], digest);
        return abi.encodePacked(rr, ss, v);
    }
}
