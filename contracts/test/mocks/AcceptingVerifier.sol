// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IGroth16Verifier} from "../../src/interfaces/IGroth16Verifier.sol";

/// @notice TEST ONLY, for tests about the SLA state machine. Accepts any proof unless told
///         otherwise; when the test sets expected public inputs it accepts only those, which
///         lets tests check that the manager rebuilt the inputs from its own state. The real
///         Groth16Verifier is exercised by the cross-check and end-to-end tests.
contract AcceptingVerifier is IGroth16Verifier {
    bool public answer = true;
    bool public revertInstead;
    bool public checkInputs;
    uint256[5] public expected;

    function setAnswer(bool a) external {
        answer = a;
    }

    function setRevert(bool r) external {
        revertInstead = r;
    }

    function expectInputs(uint256[5] calldata input) external {
        checkInputs = true;
        expected = input;
    }

    function verifyProof(uint256[8] calldata, uint256[5] calldata input) external view returns (bool) {
        if (revertInstead) revert("verifier reverted");
        if (checkInputs) {
            for (uint256 i = 0; i < 5; ++i) {
                if (input[i] != expected[i]) return false;
            }
        }
        return answer;
    }
}
