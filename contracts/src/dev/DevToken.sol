// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DevToken
/// @notice A plain ERC-20 for local chains (anvil, the simulated backend): the owner mints.
///         Production deployments use an existing token.
contract DevToken is ERC20, Ownable {
    /// @param owner_ The account allowed to mint; receives `initialSupply`.
    /// @param initialSupply Tokens minted to `owner_` at deployment.
    constructor(address owner_, uint256 initialSupply) ERC20("Probity Dev Token", "PDEV") Ownable(owner_) {
        _mint(owner_, initialSupply);
    }

    /// @notice Mints `amount` to `to`.
    /// @param to Recipient.
    /// @param amount Amount.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
