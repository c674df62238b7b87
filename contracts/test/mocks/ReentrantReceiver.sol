// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SLAManager} from "../../src/SLAManager.sol";
import {Request} from "../../src/types/Request.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice TEST ONLY. A buyer contract that tries to withdraw twice: it arms the reentrant
///         token so the payout transfer calls withdraw() again.
contract ReentrantReceiver {
    SLAManager public immutable manager;

    constructor(SLAManager manager_) {
        manager = manager_;
    }

    function approve(IERC20 token, uint256 amount) external {
        token.approve(address(manager), amount);
    }

    function post(Request calldata req) external returns (uint256) {
        return manager.post(req, "ipfs://x");
    }

    function cancel(Request calldata req) external {
        manager.cancel(req);
    }

    function withdraw() external {
        manager.withdraw();
    }
}
