// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "../utils/Vm.sol";
import {Groth16Verifier} from "../../src/Groth16Verifier.sol";

/// @notice Reads a Groth16 vector of contracts/test/vectors (made by internal/cmd/genverifier):
///         its verifying key as a deployed Groth16Verifier, its proof count and each proof with
///         its public inputs. One reader for every test that checks real proofs.
library Groth16Vector {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The vector file's contents.
    function read(string memory file) internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/contracts/test/vectors/", file));
    }

    /// @notice A Groth16Verifier holding the vector's key (vkWords are its constructor arguments).
    function deployVerifier(string memory json) internal returns (Groth16Verifier) {
        uint256[] memory a = vm.parseJsonUintArray(json, ".vkWords.alpha");
        uint256[] memory b = vm.parseJsonUintArray(json, ".vkWords.beta");
        uint256[] memory g = vm.parseJsonUintArray(json, ".vkWords.gamma");
        uint256[] memory d = vm.parseJsonUintArray(json, ".vkWords.delta");
        uint256[] memory ic = vm.parseJsonUintArray(json, ".vkWords.ic");
        require(ic.length == 12, "vector: ic must hold six points");
        uint256[12] memory icw;
        for (uint256 i = 0; i < 12; ++i) {
            icw[i] = ic[i];
        }
        return new Groth16Verifier(
            [a[0], a[1]], [b[0], b[1], b[2], b[3]], [g[0], g[1], g[2], g[3]], [d[0], d[1], d[2], d[3]], icw
        );
    }

    /// @notice How many proofs the vector holds.
    function count(string memory json) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(".proofs[", vm.toString(n), "]"))) {
            n++;
        }
    }

    /// @notice Proof i as 8 words and its 5 public inputs.
    function proofAt(string memory json, uint256 i)
        internal
        pure
        returns (uint256[8] memory proof, uint256[5] memory input)
    {
        string memory p = string.concat(".proofs[", vm.toString(i), "]");
        uint256[] memory w = vm.parseJsonUintArray(json, string.concat(p, ".proofWords"));
        uint256[] memory x = vm.parseJsonUintArray(json, string.concat(p, ".publicInputs"));
        require(w.length == 8, "vector: a proof has 8 words");
        require(x.length == 5, "vector: a proof has 5 public inputs");
        for (uint256 j = 0; j < 8; ++j) {
            proof[j] = w[j];
        }
        for (uint256 j = 0; j < 5; ++j) {
            input[j] = x[j];
        }
    }
}
