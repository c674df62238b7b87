// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Groth16Verifier} from "../src/Groth16Verifier.sol";
import {Groth16Vector} from "./helpers/Groth16Vector.sol";
import {GnarkVerifierUniversalSmall} from "./vectors/GnarkVerifierUniversalSmall.sol";

/// @notice Groth16Verifier against gnark's own exported verifier on real proofs (vectors made by
///         internal/cmd/genverifier): both accept every good proof, both reject every mangled
///         one. Each vector gets a subclass; today the universal small class proving generation
///         jobs of the shipped model (specs/circuit.md).

/// @notice The interface of gnark's exported verifier (it reverts on a bad proof).
interface IGnarkVerifier {
    function verifyProof(bytes calldata proof, uint256[5] calldata input) external view;
}

abstract contract Groth16CrossCheckBase is Test {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    string internal json;
    Groth16Verifier internal ours;
    uint256 internal numProofs;

    /// @dev The vector file under contracts/test/vectors.
    function _vector() internal pure virtual returns (string memory);

    /// @dev gnark's exported verifier for the vector's key.
    IGnarkVerifier internal gnark;

    /// @dev Deploys gnark's exported verifier for the vector's key.
    function _deployGnark() internal virtual returns (IGnarkVerifier);

    /// @dev The name of the gas snapshot entries.
    function _gasName() internal pure virtual returns (string memory);

    function setUp() public {
        json = Groth16Vector.read(_vector());
        ours = Groth16Vector.deployVerifier(json);
        gnark = _deployGnark();
        numProofs = Groth16Vector.count(json);
        assertGt(numProofs, 0, "no proofs in the vector");
    }

    function _case(uint256 i) internal view returns (uint256[8] memory proof, uint256[5] memory input) {
        (proof, input) = Groth16Vector.proofAt(json, i);
        string memory p = string.concat(".proofs[", vm.toString(i), "]");
        assertEq(abi.encodePacked(proof), vm.parseJsonBytes(json, string.concat(p, ".proof")), "proof bytes != words");
    }

    /// @dev gnark's verifier forwards all gas to a failing precompile, which burns it: cap it.
    function _gnarkAccepts(uint256[8] memory proof, uint256[5] memory input) internal view returns (bool) {
        try gnark.verifyProof{gas: 1_000_000}(abi.encodePacked(proof), input) {
            return true;
        } catch {
            return false;
        }
    }

    function test_bothAcceptGoodProofs() public view {
        for (uint256 i = 0; i < numProofs; ++i) {
            (uint256[8] memory proof, uint256[5] memory input) = _case(i);
            assertTrue(ours.verifyProof(proof, input), "ours rejected a good proof");
            assertTrue(_gnarkAccepts(proof, input), "gnark rejected a good proof");
        }
    }

    function test_bothRejectEveryMangledWord() public view {
        for (uint256 i = 0; i < numProofs; ++i) {
            (uint256[8] memory proof, uint256[5] memory input) = _case(i);
            for (uint256 w = 0; w < 8; ++w) {
                uint256[8] memory bad = proof;
                bad[w] ^= 1;
                assertFalse(ours.verifyProof(bad, input), "ours accepted a flipped proof word");
                assertFalse(_gnarkAccepts(bad, input), "gnark accepted a flipped proof word");
            }
            for (uint256 j = 0; j < 5; ++j) {
                uint256[5] memory bad = input;
                bad[j] ^= 1;
                assertFalse(ours.verifyProof(proof, bad), "ours accepted a flipped input");
                assertFalse(_gnarkAccepts(proof, bad), "gnark accepted a flipped input");
                // input + R is the same field element: both must refuse the unreduced form.
                bad = input;
                if (input[j] <= type(uint256).max - R) {
                    bad[j] = input[j] + R;
                    assertFalse(ours.verifyProof(proof, bad), "ours accepted an input >= R");
                    assertFalse(_gnarkAccepts(proof, bad), "gnark accepted an input >= R");
                }
            }
            // Proofs are not interchangeable between statements.
            (, uint256[5] memory other) = _case((i + 1) % numProofs);
            if (numProofs > 1) {
                assertFalse(ours.verifyProof(proof, other));
                assertFalse(_gnarkAccepts(proof, other));
            }
        }
    }

    function testFuzz_bothAgreeOnMangledProofs(uint256 which, uint8 word, uint256 delta) public view {
        (uint256[8] memory proof, uint256[5] memory input) = _case(which % numProofs);
        delta = bound(delta, 1, type(uint256).max);
        proof[word % 8] ^= delta;
        bool a = ours.verifyProof(proof, input);
        assertEq(a, _gnarkAccepts(proof, input), "verifiers disagree");
        assertFalse(a);
    }

    function test_gas_realProof() public {
        (uint256[8] memory proof, uint256[5] memory input) = _case(0);
        bool ok = ours.verifyProof(proof, input);
        uint256 g = vm.snapshotGasLastCall("Groth16Verifier", string.concat("verifyProof_", _gasName()));
        assertTrue(ok);
        assertLe(g, 230_000, "verification gas over target");
        gnark.verifyProof(abi.encodePacked(proof), input);
        vm.snapshotGasLastCall("Groth16Verifier", string.concat("gnarkExported_verifyProof_", _gasName()));
    }
}

/// @notice The universal small class: one proof per generation job of the shipped model, public
///         inputs model root, job digest, trace root, result digest and seed.
contract Groth16UniversalCrossCheckTest is Groth16CrossCheckBase {
    function _vector() internal pure override returns (string memory) {
        return "groth16_universal_small.json";
    }

    function _deployGnark() internal override returns (IGnarkVerifier) {
        return IGnarkVerifier(address(new GnarkVerifierUniversalSmall()));
    }

    function _gasName() internal pure override returns (string memory) {
        return "universalSmall";
    }

    /// @dev Every proof of the vector is of one model (the shipped one): one verifier serves it.
    function test_oneModelManyJobs() public view {
        (, uint256[5] memory first) = _case(0);
        for (uint256 i = 1; i < numProofs; ++i) {
            (, uint256[5] memory input) = _case(i);
            assertEq(input[0], first[0], "model root differs");
            assertTrue(input[1] != first[1], "same job digest");
        }
    }
}
