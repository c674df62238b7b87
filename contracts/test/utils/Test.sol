// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice A small stand-in for forge-std's Test (not installable offline): assertions that
///         revert with both values in the message, `bound`, `makeAddr`, and the invariant target
///         registry forge's invariant runner reads through the `target*`/`exclude*` getters.
abstract contract Test {
    /// @dev address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Lets tools that still look for the DSTest marker recognise test contracts.
    bool public IS_TEST = true;

    // ------------------------------------------------------------------
    // Assertions. Each failure reverts, which forge reports as a failed test
    // (or a broken invariant), with the offending values in the reason.
    // ------------------------------------------------------------------

    function fail(string memory err) internal pure virtual {
        revert(err);
    }

    function _fail(string memory what, string memory detail, string memory err) private pure {
        if (bytes(err).length == 0) revert(string.concat(what, " failed: ", detail));
        revert(string.concat(err, ": ", what, " failed: ", detail));
    }

    function _pair(string memory a, string memory op, string memory b) private pure returns (string memory) {
        return string.concat(a, " ", op, " ", b);
    }

    function assertTrue(bool c) internal pure {
        assertTrue(c, "");
    }

    function assertTrue(bool c, string memory err) internal pure {
        if (!c) _fail("assertTrue", "condition is false", err);
    }

    function assertFalse(bool c) internal pure {
        assertFalse(c, "");
    }

    function assertFalse(bool c, string memory err) internal pure {
        if (c) _fail("assertFalse", "condition is true", err);
    }

    function assertEq(bool a, bool b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bool a, bool b, string memory err) internal pure {
        if (a != b) _fail("assertEq(bool)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(uint256 a, uint256 b, string memory err) internal pure {
        if (a != b) _fail("assertEq(uint256)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(int256 a, int256 b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(int256 a, int256 b, string memory err) internal pure {
        if (a != b) _fail("assertEq(int256)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(address a, address b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(address a, address b, string memory err) internal pure {
        if (a != b) _fail("assertEq(address)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bytes32 a, bytes32 b, string memory err) internal pure {
        if (a != b) _fail("assertEq(bytes32)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(bytes memory a, bytes memory b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(bytes memory a, bytes memory b, string memory err) internal pure {
        if (keccak256(a) != keccak256(b)) _fail("assertEq(bytes)", _pair(vm.toString(a), "!=", vm.toString(b)), err);
    }

    function assertEq(string memory a, string memory b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(string memory a, string memory b, string memory err) internal pure {
        if (keccak256(bytes(a)) != keccak256(bytes(b))) {
            _fail("assertEq(string)", _pair(string.concat('"', a, '"'), "!=", string.concat('"', b, '"')), err);
        }
    }

    function assertEq(uint256[] memory a, uint256[] memory b) internal pure {
        assertEq(a, b, "");
    }

    function assertEq(uint256[] memory a, uint256[] memory b, string memory err) internal pure {
        if (a.length != b.length) {
            _fail("assertEq(uint256[])", _pair(vm.toString(a.length), "elements !=", vm.toString(b.length)), err);
        }
        for (uint256 i = 0; i < a.length; i++) {
            if (a[i] != b[i]) {
                _fail(
                    "assertEq(uint256[])",
                    string.concat("at index ", vm.toString(i), ": ", _pair(vm.toString(a[i]), "!=", vm.toString(b[i]))),
                    err
                );
            }
        }
    }

    function assertNotEq(uint256 a, uint256 b) internal pure {
        assertNotEq(a, b, "");
    }

    function assertNotEq(uint256 a, uint256 b, string memory err) internal pure {
        if (a == b) _fail("assertNotEq(uint256)", _pair(vm.toString(a), "==", vm.toString(b)), err);
    }

    function assertNotEq(bytes32 a, bytes32 b) internal pure {
        assertNotEq(a, b, "");
    }

    function assertNotEq(bytes32 a, bytes32 b, string memory err) internal pure {
        if (a == b) _fail("assertNotEq(bytes32)", _pair(vm.toString(a), "==", vm.toString(b)), err);
    }

    function assertNotEq(address a, address b) internal pure {
        assertNotEq(a, b, "");
    }

    function assertNotEq(address a, address b, string memory err) internal pure {
        if (a == b) _fail("assertNotEq(address)", _pair(vm.toString(a), "==", vm.toString(b)), err);
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        assertGt(a, b, "");
    }

    function assertGt(uint256 a, uint256 b, string memory err) internal pure {
        if (a <= b) _fail("assertGt(uint256)", _pair(vm.toString(a), "<=", vm.toString(b)), err);
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        assertGe(a, b, "");
    }

    function assertGe(uint256 a, uint256 b, string memory err) internal pure {
        if (a < b) _fail("assertGe(uint256)", _pair(vm.toString(a), "<", vm.toString(b)), err);
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        assertLt(a, b, "");
    }

    function assertLt(uint256 a, uint256 b, string memory err) internal pure {
        if (a >= b) _fail("assertLt(uint256)", _pair(vm.toString(a), ">=", vm.toString(b)), err);
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        assertLe(a, b, "");
    }

    function assertLe(uint256 a, uint256 b, string memory err) internal pure {
        if (a > b) _fail("assertLe(uint256)", _pair(vm.toString(a), ">", vm.toString(b)), err);
    }

    function assertGt(int256 a, int256 b) internal pure {
        assertGt(a, b, "");
    }

    function assertGt(int256 a, int256 b, string memory err) internal pure {
        if (a <= b) _fail("assertGt(int256)", _pair(vm.toString(a), "<=", vm.toString(b)), err);
    }

    function assertGe(int256 a, int256 b) internal pure {
        assertGe(a, b, "");
    }

    function assertGe(int256 a, int256 b, string memory err) internal pure {
        if (a < b) _fail("assertGe(int256)", _pair(vm.toString(a), "<", vm.toString(b)), err);
    }

    function assertLt(int256 a, int256 b) internal pure {
        assertLt(a, b, "");
    }

    function assertLt(int256 a, int256 b, string memory err) internal pure {
        if (a >= b) _fail("assertLt(int256)", _pair(vm.toString(a), ">=", vm.toString(b)), err);
    }

    function assertLe(int256 a, int256 b) internal pure {
        assertLe(a, b, "");
    }

    function assertLe(int256 a, int256 b, string memory err) internal pure {
        if (a > b) _fail("assertLe(int256)", _pair(vm.toString(a), ">", vm.toString(b)), err);
    }

    // ------------------------------------------------------------------
    // Fuzzing helpers
    // ------------------------------------------------------------------

    /// @notice Maps x into [min, max]. Values already in range are returned unchanged, so the
    ///         fuzzer's interesting values (0, 1, max) keep their meaning; others wrap around
    ///         the range instead of being rejected, so no runs are wasted.
    function bound(uint256 x, uint256 min, uint256 max) internal pure virtual returns (uint256 result) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        // Cannot overflow: min = 0, max = 2^256-1 puts every x in range above.
        uint256 size = max - min + 1;
        // Small x lands near min and near-max x near max, mirroring where the fuzzer aims.
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        if (x > max) {
            uint256 diff = x - max;
            uint256 rem = diff % size;
            if (rem == 0) return max;
            return min + rem - 1;
        }
        uint256 d = min - x;
        uint256 r = d % size;
        if (r == 0) return min;
        return max - r + 1;
    }

    function bound(int256 x, int256 min, int256 max) internal pure virtual returns (int256) {
        require(min <= max, "bound: min > max");
        // Shift into uint256 order-preservingly by flipping the sign bit.
        uint256 ux = uint256(x) ^ (1 << 255);
        uint256 umin = uint256(min) ^ (1 << 255);
        uint256 umax = uint256(max) ^ (1 << 255);
        return int256(bound(ux, umin, umax) ^ (1 << 255));
    }

    /// @notice A deterministic, labelled address derived from a name.
    function makeAddr(string memory name) internal virtual returns (address a) {
        (a,) = makeAddrAndKey(name);
    }

    /// @notice A deterministic, labelled account and its private key, for vm.sign.
    function makeAddrAndKey(string memory name) internal virtual returns (address a, uint256 key) {
        key = uint256(keccak256(abi.encodePacked(name))) % SECP256K1_ORDER;
        if (key == 0) key = 1;
        a = vm.addr(key);
        vm.label(a, name);
    }

    uint256 internal constant SECP256K1_ORDER =
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // ------------------------------------------------------------------
    // Invariant targets. forge's invariant runner calls these public getters on the test
    // contract (same names and ABI as forge-std's StdInvariant) after setUp to decide which
    // contracts, selectors and senders it fuzzes.
    // ------------------------------------------------------------------

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    struct FuzzArtifactSelector {
        string artifact;
        bytes4[] selectors;
    }

    struct FuzzInterface {
        address addr;
        string[] artifacts;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    string[] private _targetedArtifacts;
    string[] private _excludedArtifacts;
    FuzzSelector[] private _targetedSelectors;
    FuzzSelector[] private _excludedSelectors;
    FuzzArtifactSelector[] private _targetedArtifactSelectors;
    FuzzInterface[] private _targetedInterfaces;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function excludeSender(address sender) internal {
        _excludedSenders.push(sender);
    }

    function targetArtifact(string memory artifact) internal {
        _targetedArtifacts.push(artifact);
    }

    function excludeArtifact(string memory artifact) internal {
        _excludedArtifacts.push(artifact);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function excludeSelector(FuzzSelector memory selector) internal {
        _excludedSelectors.push(selector);
    }

    function targetArtifactSelector(FuzzArtifactSelector memory selector) internal {
        _targetedArtifactSelectors.push(selector);
    }

    function targetInterface(FuzzInterface memory target) internal {
        _targetedInterfaces.push(target);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    function targetArtifacts() public view returns (string[] memory) {
        return _targetedArtifacts;
    }

    function excludeArtifacts() public view returns (string[] memory) {
        return _excludedArtifacts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function excludeSelectors() public view returns (FuzzSelector[] memory) {
        return _excludedSelectors;
    }

    function targetArtifactSelectors() public view returns (FuzzArtifactSelector[] memory) {
        return _targetedArtifactSelectors;
    }

    function targetInterfaces() public view returns (FuzzInterface[] memory) {
        return _targetedInterfaces;
    }
}
