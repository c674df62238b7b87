// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice TEST ONLY. Burns 1% of every transfer, so the receiver gets less than was sent.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice TEST ONLY. Calls back into a target on every transfer (an ERC-777-like hook), to
///         check that reentrancy guards hold.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public lastCallSucceeded;
    bytes public lastRevertData;
    uint256 public attempts;

    constructor() ERC20("Reenter", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && from != address(0) && to != address(0)) {
            address t = target;
            target = address(0); // one shot, so the hook cannot recurse forever
            attempts++;
            (bool ok, bytes memory ret) = t.call(payload);
            lastCallSucceeded = ok;
            lastRevertData = ret;
        }
    }
}

/// @notice TEST ONLY. A token that behaves until its fee is switched on, then burns `feeBps` of
///         every transfer between two accounts: the receiver gets less, the sender pays the
///         full amount. Models a token that upgrades to fee-on-transfer after jobs were locked.
contract SwitchableFeeToken is ERC20 {
    /// @notice Share of each transfer burned, in basis points (0 = off).
    uint16 public feeBps;
    /// @notice Sum of all fees burned, so tests can check conservation of supply + burned.
    uint256 public burned;

    constructor() ERC20("Switch", "SWF") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setFeeBps(uint16 bps) external {
        require(bps <= 10_000, "fee > 100%");
        feeBps = bps;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (feeBps != 0 && from != address(0) && to != address(0)) {
            uint256 fee = (value * feeBps) / 10_000;
            burned += fee;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}
