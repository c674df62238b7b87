// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "../utils/Vm.sol";
import {TraceOpening} from "../../src/types/TraceOpening.sol";

/// @notice Reads testdata/vectors/trace_opening.json, the Go reference's openings of a real
///         job's trace (uint256 values as 0x hex strings, small ints as numbers).
library TraceOpeningVectors {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Case {
        string name;
        uint256 jobDigest;
        uint256 traceRoot;
        uint256 element;
        TraceOpening opening;
        bool valid;
    }

    function load() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/trace_opening.json"));
    }

    function count(string memory json) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(".cases[", vm.toString(n), "]"))) ++n;
    }

    /// @notice The case named `name` (reverts when there is none).
    function named(string memory json, string memory name) internal view returns (Case memory c) {
        uint256 n = count(json);
        for (uint256 i = 0; i < n; ++i) {
            if (keccak256(bytes(vm.parseJsonString(json, _key(i, "name")))) == keccak256(bytes(name))) {
                return at(json, i);
            }
        }
        revert(string.concat("no trace_opening case ", name));
    }

    function at(string memory json, uint256 i) internal view returns (Case memory c) {
        c.name = vm.parseJsonString(json, _key(i, "name"));
        c.jobDigest = vm.parseJsonUint(json, _key(i, "jobDigest"));
        c.traceRoot = vm.parseJsonUint(json, _key(i, "traceRoot"));
        c.element = vm.parseJsonUint(json, _key(i, "element"));
        c.valid = vm.parseJsonBool(json, _key(i, "valid"));
        TraceOpening memory o = c.opening;
        o.rows = uint32(vm.parseJsonUint(json, _key(i, "opening.rows")));
        o.tensors = uint32(vm.parseJsonUint(json, _key(i, "opening.tensors")));
        o.depth = uint8(vm.parseJsonUint(json, _key(i, "opening.depth")));
        o.tensorRoot = vm.parseJsonUint(json, _key(i, "opening.tensorRoot"));
        o.rowRoot = vm.parseJsonUint(json, _key(i, "opening.rowRoot"));
        o.colRoot = vm.parseJsonUint(json, _key(i, "opening.colRoot"));
        o.tensorPath = _uints(json, _key(i, "opening.tensorPath"));
        o.treeKind = uint8(vm.parseJsonUint(json, _key(i, "opening.treeKind")));
        o.treeRows = uint32(vm.parseJsonUint(json, _key(i, "opening.treeRows")));
        o.treeCols = uint32(vm.parseJsonUint(json, _key(i, "opening.treeCols")));
        o.treeDepth = uint8(vm.parseJsonUint(json, _key(i, "opening.treeDepth")));
        o.treeRoot = vm.parseJsonUint(json, _key(i, "opening.treeRoot"));
        o.leaf = _uints(json, _key(i, "opening.leaf"));
        o.path = _uints(json, _key(i, "opening.path"));
    }

    function _key(uint256 i, string memory field) private pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "].", field);
    }

    /// @dev A JSON array of 0x-hex strings, element by element (so an empty one reads too).
    function _uints(string memory json, string memory key) private view returns (uint256[] memory out) {
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(key, "[", vm.toString(n), "]"))) ++n;
        out = new uint256[](n);
        for (uint256 k = 0; k < n; ++k) {
            out[k] = vm.parseJsonUint(json, string.concat(key, "[", vm.toString(k), "]"));
        }
    }
}
