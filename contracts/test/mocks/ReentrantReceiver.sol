// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SLAManager} from "../../src/SLAManager.sol";
import {JobSpec} from "../../src/types/JobSpec.sol";
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

    function post(JobSpec calldata spec, uint256 price, uint64 lockBy) external returns (uint256) {
        return manager.postJob(spec, price, lockBy, 100, 100, bytes32(0), "ipfs://x");
    }

    function cancel(uint256 jobId) external {
        manager.cancel(jobId);
    }

    function withdraw() external {
        manager.withdraw();
    }
}
