// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Provider} from "./types/Provider.sol";

/// @title ProviderRegistry
/// @notice Holds providers' ERC-20 stake and node keys (spec §2, §11). Stake is free, reserved
///         for a locked job, or unbonding. Only the SLA manager reserves, releases and slashes;
///         a slash can only take reserved stake, and reserved stake cannot be unbonded, so a
///         provider cannot run away from a job it holds. Slashed stake stays here as credits of
///         the buyer and the bounty taker, paid out through the manager's withdraw: no token
///         moves between the two contracts, so their accounting cannot drift from their balances.
contract ProviderRegistry is Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The stake token.
    IERC20 public immutable token;
    /// @notice Seconds between requestUnbond and the earliest withdrawUnbonded.
    uint64 public immutable unbondingDelay;
    /// @notice The SLA manager, set once by the owner.
    address public manager;
    /// @notice Sum of free, reserved and unbonding stake over all providers.
    uint256 public totalStaked;
    /// @notice Sum of slashed stake credited to accounts and not yet paid out.
    uint256 public totalCredits;

    mapping(address provider => Provider) private _providers;
    mapping(address account => uint256) private _credits;

    /// @notice A provider registered with a node key and an initial stake.
    event ProviderRegistered(address indexed provider, address indexed nodeKey, uint256 amount);
    /// @notice A provider replaced its node key.
    event NodeKeyRotated(address indexed provider, address indexed oldKey, address indexed newKey);
    /// @notice Stake was added to a provider's free stake.
    event StakeAdded(address indexed provider, uint256 amount, uint256 free);
    /// @notice Free stake moved to unbonding; withdrawable from `readyAt`.
    event UnbondRequested(address indexed provider, uint256 amount, uint256 unbonding, uint64 readyAt);
    /// @notice Unbonded stake was paid out.
    event UnbondedWithdrawn(address indexed provider, uint256 amount);
    /// @notice Free stake was reserved for a job.
    event StakeReserved(address indexed provider, uint256 indexed jobId, uint256 amount);
    /// @notice Reserved stake returned to free stake.
    event StakeReleased(address indexed provider, uint256 indexed jobId, uint256 amount);
    /// @notice Reserved stake was slashed: `amount - bounty` credited to `to`, `bounty` to `bountyTo`.
    event StakeSlashed(
        address indexed provider, uint256 indexed jobId, uint256 amount, address to, address bountyTo, uint256 bounty
    );
    /// @notice Reserved stake was forfeited to `to` as the fee of an abandoned job (not a slash).
    event StakeForfeited(address indexed provider, uint256 indexed jobId, uint256 amount, address to);
    /// @notice Slashed-stake credit was paid out to `to`.
    event CreditPaid(address indexed account, address indexed to, uint256 amount);
    /// @notice The SLA manager was set.
    event ManagerSet(address indexed manager);

    /// @notice The caller is not the SLA manager.
    error NotManager(address caller);
    /// @notice The manager is already set.
    error ManagerAlreadySet(address manager);
    /// @notice The zero address was given where an account is needed.
    error ZeroAddress();
    /// @notice The amount was zero.
    error ZeroAmount();
    /// @notice The provider is already registered.
    error AlreadyRegistered(address provider);
    /// @notice The account is not a registered provider.
    error NotRegistered(address account);
    /// @notice Less free stake than needed.
    error InsufficientFreeStake(address provider, uint256 free, uint256 needed);
    /// @notice Less reserved stake than the operation moves.
    error InsufficientReservedStake(address provider, uint256 reserved, uint256 needed);
    /// @notice The provider's free and reserved stake would exceed 2^128 - 1.
    error StakeTooLarge(address provider, uint256 amount);
    /// @notice Nothing is unbonding.
    error NothingUnbonding(address provider);
    /// @notice The unbonding delay has not passed.
    error UnbondingNotReady(address provider, uint64 readyAt, uint256 nowTs);
    /// @notice The token delivered a different amount than transferred (fee-on-transfer tokens are unsupported).
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @param token_ The stake token.
    /// @param unbondingDelay_ Seconds an unbond waits before withdrawal.
    /// @param owner_ Governance.
    constructor(IERC20 token_, uint64 unbondingDelay_, address owner_) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        unbondingDelay = unbondingDelay_;
    }

    modifier onlyManager() {
        if (msg.sender != manager) revert NotManager(msg.sender);
        _;
    }

    /// @notice Sets the SLA manager, once.
    /// @param manager_ The SLAManager contract.
    function setManager(address manager_) external onlyOwner {
        if (manager != address(0)) revert ManagerAlreadySet(manager);
        if (manager_ == address(0)) revert ZeroAddress();
        manager = manager_;
        emit ManagerSet(manager_);
    }

    /// @notice Registers the caller as a provider with a receipt-signing node key and an initial stake.
    /// @param nodeKey The secp256k1 address that signs receipts (may be the caller).
    /// @param amount Initial stake pulled from the caller (may be zero).
    function register(address nodeKey, uint256 amount) external nonReentrant {
        if (nodeKey == address(0)) revert ZeroAddress();
        Provider storage p = _providers[msg.sender];
        if (p.nodeKey != address(0)) revert AlreadyRegistered(msg.sender);
        if (amount > type(uint128).max) revert StakeTooLarge(msg.sender, amount);
        p.nodeKey = nodeKey;
        // amount <= type(uint128).max was checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.free = uint128(amount);
        totalStaked += amount;
        emit ProviderRegistered(msg.sender, nodeKey, amount);
        if (amount > 0) _pull(amount);
    }

    /// @notice Replaces the caller's node key; receipts are checked against the key current at submission.
    /// @param newKey The new node key.
    function rotateNodeKey(address newKey) external {
        if (newKey == address(0)) revert ZeroAddress();
        Provider storage p = _requireProvider(msg.sender);
        address old = p.nodeKey;
        p.nodeKey = newKey;
        emit NodeKeyRotated(msg.sender, old, newKey);
    }

    /// @notice Adds to the caller's free stake.
    /// @param amount Tokens pulled from the caller.
    function addStake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _requireProvider(msg.sender);
        // free + reserved <= type(uint128).max always holds, so the subtraction cannot underflow.
        if (amount > type(uint128).max - uint256(p.free) - p.reserved) revert StakeTooLarge(msg.sender, amount);
        // The check above keeps free + reserved within 128 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.free += uint128(amount);
        totalStaked += amount;
        emit StakeAdded(msg.sender, amount, p.free);
        _pull(amount);
    }

    /// @notice Moves free stake to unbonding; the whole unbonding amount becomes withdrawable
    ///         `unbondingDelay` seconds after the latest request.
    /// @param amount Free stake to unbond.
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _requireProvider(msg.sender);
        if (p.free < amount) revert InsufficientFreeStake(msg.sender, p.free, amount);
        // p.free >= amount was checked just above, so the cast cannot truncate.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            p.free -= uint128(amount);
        }
        p.unbonding += amount;
        uint64 readyAt = uint64(block.timestamp) + unbondingDelay;
        p.unbondReadyAt = readyAt;
        emit UnbondRequested(msg.sender, amount, p.unbonding, readyAt);
    }

    /// @notice Pays the caller its unbonded stake once the delay has passed.
    function withdrawUnbonded() external {
        withdrawUnbondedTo(msg.sender);
    }

    /// @notice Pays the caller's unbonded stake to `to` once the delay has passed.
    /// @param to The recipient.
    function withdrawUnbondedTo(address to) public nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Provider storage p = _requireProvider(msg.sender);
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < p.unbondReadyAt) {
            revert UnbondingNotReady(msg.sender, p.unbondReadyAt, block.timestamp);
        }
        p.unbonding = 0;
        totalStaked -= amount;
        emit UnbondedWithdrawn(msg.sender, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice Reserves free stake for a job.
    /// @param provider The locking provider.
    /// @param jobId The job.
    /// @param amount Stake to reserve.
    function reserve(address provider, uint256 jobId, uint256 amount) external onlyManager {
        Provider storage p = _requireProvider(provider);
        if (p.free < amount) revert InsufficientFreeStake(provider, p.free, amount);
        // p.free >= amount was checked just above, so the cast cannot truncate, and the sum
        // free + reserved is unchanged.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            p.free -= uint128(amount);
            // forge-lint: disable-next-line(unsafe-typecast)
            p.reserved += uint128(amount);
        }
        emit StakeReserved(provider, jobId, amount);
    }

    /// @notice Returns reserved stake to free stake after a job settles.
    /// @param provider The provider.
    /// @param jobId The job.
    /// @param amount Stake to release.
    function release(address provider, uint256 jobId, uint256 amount) external onlyManager {
        Provider storage p = _requireProvider(provider);
        if (p.reserved < amount) revert InsufficientReservedStake(provider, p.reserved, amount);
        // p.reserved >= amount was checked just above, so the cast cannot truncate, and the sum
        // free + reserved is unchanged.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            p.reserved -= uint128(amount);
            // forge-lint: disable-next-line(unsafe-typecast)
            p.free += uint128(amount);
        }
        emit StakeReleased(provider, jobId, amount);
    }

    /// @notice Takes reserved stake and credits it: `bounty` to `bountyTo`, the rest to `to`.
    /// @param provider The provider.
    /// @param jobId The job.
    /// @param amount Stake to slash.
    /// @param to Receives amount - bounty (the buyer).
    /// @param bountyTo Receives the bounty (ignored when bounty is zero).
    /// @param bounty Part of amount for bountyTo; at most amount.
    function slash(address provider, uint256 jobId, uint256 amount, address to, address bountyTo, uint256 bounty)
        external
        onlyManager
    {
        if (bounty > amount) revert InsufficientReservedStake(provider, amount, bounty);
        _takeReserved(provider, amount);
        // bounty <= amount was checked above.
        unchecked {
            _credits[to] += amount - bounty;
        }
        if (bounty > 0) _credits[bountyTo] += bounty;
        emit StakeSlashed(provider, jobId, amount, to, bountyTo, bounty);
    }

    /// @notice Takes reserved stake and credits it to `to`: the fee of an abandoned job, which
    ///         indexers must not count as a slash.
    /// @param provider The provider.
    /// @param jobId The job.
    /// @param amount Stake forfeited.
    /// @param to Receives it (the buyer).
    function forfeit(address provider, uint256 jobId, uint256 amount, address to) external onlyManager {
        _takeReserved(provider, amount);
        _credits[to] += amount;
        emit StakeForfeited(provider, jobId, amount, to);
    }

    /// @dev Moves `amount` of the provider's reserved stake out of the stake totals into credits.
    function _takeReserved(address provider, uint256 amount) private {
        Provider storage p = _requireProvider(provider);
        if (p.reserved < amount) revert InsufficientReservedStake(provider, p.reserved, amount);
        // p.reserved >= amount was checked just above; totalStaked >= p.reserved always.
        unchecked {
            // forge-lint: disable-next-line(unsafe-typecast)
            p.reserved -= uint128(amount);
            totalStaked -= amount;
        }
        totalCredits += amount;
    }

    /// @notice Pays `account`'s slashed-stake credit to `to` (the manager's withdraw).
    /// @param account The credited account.
    /// @param to The recipient.
    /// @return amount What was paid.
    function payCredit(address account, address to) external onlyManager nonReentrant returns (uint256 amount) {
        amount = _credits[account];
        if (amount == 0) return 0;
        _credits[account] = 0;
        totalCredits -= amount;
        emit CreditPaid(account, to, amount);
        token.safeTransfer(to, amount);
    }

    /// @notice Slashed stake credited to `account`, paid out by the manager's withdraw.
    /// @param account The account.
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @notice A provider's full account.
    /// @param provider The provider.
    function providerOf(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @notice Whether `account` is a registered provider.
    /// @param account The account.
    function isRegistered(address account) external view returns (bool) {
        return _providers[account].nodeKey != address(0);
    }

    /// @notice The node key that signs `provider`'s receipts (zero when unregistered).
    /// @param provider The provider.
    function nodeKeyOf(address provider) external view returns (address) {
        return _providers[provider].nodeKey;
    }

    /// @notice Stake available to back new jobs.
    /// @param provider The provider.
    function freeStake(address provider) external view returns (uint256) {
        return _providers[provider].free;
    }

    /// @notice Stake backing locked jobs.
    /// @param provider The provider.
    function reservedStake(address provider) external view returns (uint256) {
        return _providers[provider].reserved;
    }

    function _requireProvider(address account) private view returns (Provider storage p) {
        p = _providers[account];
        if (p.nodeKey == address(0)) revert NotRegistered(account);
    }

    /// @dev Pulls `amount` from the caller and rejects tokens that deliver less (fee-on-transfer).
    function _pull(uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }
}
