// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {Poseidon2} from "../src/libraries/Poseidon2.sol";
import {ResultDigest} from "../src/libraries/ResultDigest.sol";

/// @dev External entry points, so reverts happen one call below the test (vm.expectRevert) and
///      digest reads its words from calldata, as the SLA contract will.
contract Poseidon2Harness {
    function permute(uint256 s0, uint256 s1, uint256 s2) external pure returns (uint256, uint256, uint256) {
        return Poseidon2.permute(s0, s1, s2);
    }

    function hash(uint256 tag, uint256[] memory xs) external pure returns (uint256) {
        return Poseidon2.hash(tag, xs);
    }

    function digest(uint256 n, uint256[] calldata words) external pure returns (uint256) {
        return ResultDigest.digest(n, words);
    }

    function pack(uint256[] memory tokens) external pure returns (uint256[] memory) {
        return ResultDigest.pack(tokens);
    }

    function unpack(uint256 n, uint256[] memory words) external pure returns (uint256[] memory) {
        return ResultDigest.unpack(n, words);
    }
}

/// @notice Pins the generated Poseidon2 library to testdata/vectors/poseidon2.json (written by
///         go run ./internal/cmd/genvectors from commit.Hash) and, by fuzzing, to a plain
///         reference permutation built here from the vector's listed round constants.
contract Poseidon2Test is Test {
    uint256 internal constant R = Poseidon2.R;

    Poseidon2Harness internal h;
    string internal json;
    /// @dev The 80 round constants of the vector file, in the order the rounds consume them.
    uint256[] internal keys;

    function setUp() public {
        h = new Poseidon2Harness();
        json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/poseidon2.json"));
        for (uint256 round; round < 64; ++round) {
            uint256[] memory k =
                vm.parseJsonUintArray(json, string.concat(".constants.roundKeys[", vm.toString(round), "]"));
            for (uint256 i; i < k.length; ++i) {
                keys.push(k[i]);
            }
        }
    }

    function test_constantsCount() public view {
        assertEq(keys.length, 80);
    }

    function test_permutationVectors() public view {
        for (uint256 i; i < 3; ++i) {
            string memory at = string.concat(".permutation[", vm.toString(i), "]");
            uint256[] memory input = vm.parseJsonUintArray(json, string.concat(at, ".input"));
            uint256[] memory want = vm.parseJsonUintArray(json, string.concat(at, ".output"));
            (uint256 a, uint256 b, uint256 c) = Poseidon2.permute(input[0], input[1], input[2]);
            assertEq(a, want[0], "s0");
            assertEq(b, want[1], "s1");
            assertEq(c, want[2], "s2");
            uint256[3] memory ref = _reference([input[0], input[1], input[2]]);
            assertEq(ref[0], want[0], "reference s0");
            assertEq(ref[1], want[1], "reference s1");
            assertEq(ref[2], want[2], "reference s2");
        }
    }

    function test_spongeVectors() public view {
        for (uint256 i; i < 7; ++i) {
            string memory at = string.concat(".sponge[", vm.toString(i), "]");
            uint256 tag = vm.parseJsonUint(json, string.concat(at, ".tag"));
            uint256[] memory xs = vm.parseJsonUintArray(json, string.concat(at, ".inputs"));
            assertEq(Poseidon2.hash(tag, xs), vm.parseJsonUint(json, string.concat(at, ".output")), at);
        }
    }

    /// @dev The unrolled, lazily reduced permutation equals the plain one on any field elements,
    ///      the largest included (bound keeps 0, 1, R-1 and their neighbours likely).
    function testFuzz_permuteMatchesReference(uint256 a, uint256 b, uint256 c) public view {
        a = bound(a, 0, R - 1);
        b = bound(b, 0, R - 1);
        c = bound(c, 0, R - 1);
        uint256[3] memory want = _reference([a, b, c]);
        (uint256 x, uint256 y, uint256 z) = Poseidon2.permute(a, b, c);
        assertEq(x, want[0]);
        assertEq(y, want[1]);
        assertEq(z, want[2]);
    }

    /// @dev The sponge of §4.1 written out over the reference permutation, for 0..6 inputs.
    function testFuzz_hashMatchesReference(uint64 tag, uint256 seed, uint8 len) public view {
        uint256[] memory xs = new uint256[](len % 7);
        for (uint256 i; i < xs.length; ++i) {
            xs[i] = uint256(keccak256(abi.encode(seed, i))) % R;
        }
        uint256[3] memory s = [(uint256(tag) << 64) + xs.length, 0, 0];
        if (xs.length == 0) s = _reference(s);
        for (uint256 i; i < xs.length; i += 2) {
            s[1] = addmod(s[1], xs[i], R);
            if (i + 1 < xs.length) s[2] = addmod(s[2], xs[i + 1], R);
            s = _reference(s);
        }
        assertEq(Poseidon2.hash(tag, xs), s[1]);
    }

    function test_permuteRejectsNonFieldElements() public {
        uint256[2] memory bad = [R, type(uint256).max];
        for (uint256 j; j < 2; ++j) {
            vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, bad[j]));
            h.permute(bad[j], 0, 0);
            vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, bad[j]));
            h.permute(0, bad[j], 0);
            vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, bad[j]));
            h.permute(0, 0, bad[j]);
        }
    }

    function test_hashRejectsNonFieldElements() public {
        // Every position of a rate pair, in the first and in a later absorption.
        for (uint256 j; j < 4; ++j) {
            uint256[] memory xs = new uint256[](4);
            xs[j] = R;
            vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, R));
            h.hash(1, xs);
        }
        uint256[] memory odd = new uint256[](3);
        odd[2] = R;
        vm.expectRevert(abi.encodeWithSelector(Poseidon2.NotFieldElement.selector, R));
        h.hash(1, odd);
    }

    function test_hashRejectsWideTag() public {
        vm.expectRevert(abi.encodeWithSelector(Poseidon2.TagOutOfRange.selector, uint256(1) << 64));
        h.hash(uint256(1) << 64, new uint256[](0));
        assertEq(h.hash(type(uint64).max, new uint256[](0)), Poseidon2.hash(type(uint64).max, new uint256[](0)));
    }

    /// @dev Tag and length live in the capacity word: a trailing zero or a change of tag moves S.
    function test_hashSeparatesDomainsAndLengths() public pure {
        uint256[] memory one = new uint256[](1);
        uint256[] memory two = new uint256[](2);
        assertNotEq(Poseidon2.hash(1, one), Poseidon2.hash(1, two));
        assertNotEq(Poseidon2.hash(1, one), Poseidon2.hash(2, one));
        assertNotEq(Poseidon2.hash(1, new uint256[](0)), Poseidon2.hash(1, one));
    }

    function test_gas_permutation() public {
        vm.startSnapshotGas("Poseidon2", "permute");
        (uint256 a, uint256 b, uint256 c) = Poseidon2.permute(0, 1, 2);
        uint256 g = vm.stopSnapshotGas();
        assertEq(a, vm.parseJsonUint(json, ".permutation[1].output[0]"));
        assertEq(b + c == 0, false);
        assertLt(g, 15_000, "permutation gas over target");
    }

    /// @dev The permutation of §4.1 with every sum reduced and the constants of the vector file.
    function _reference(uint256[3] memory s) internal view returns (uint256[3] memory) {
        s = _external(s);
        uint256 k;
        for (uint256 round; round < 64; ++round) {
            if (round < 4 || round >= 60) {
                for (uint256 i; i < 3; ++i) {
                    s[i] = _pow5(addmod(s[i], keys[k++], R));
                }
                s = _external(s);
            } else {
                s[0] = _pow5(addmod(s[0], keys[k++], R));
                uint256 sum = addmod(addmod(s[0], s[1], R), s[2], R);
                s = [addmod(s[0], sum, R), addmod(s[1], sum, R), addmod(addmod(s[2], s[2], R), sum, R)];
            }
        }
        return s;
    }

    function _external(uint256[3] memory s) private pure returns (uint256[3] memory) {
        uint256 sum = addmod(addmod(s[0], s[1], R), s[2], R);
        return [addmod(s[0], sum, R), addmod(s[1], sum, R), addmod(s[2], sum, R)];
    }

    function _pow5(uint256 x) private pure returns (uint256) {
        uint256 x2 = mulmod(x, x, R);
        return mulmod(mulmod(x2, x2, R), x, R);
    }
}

/// @notice Pins ResultDigest to the result digests of testdata/vectors/trace.json (written by
///         go run ./internal/cmd/genvectors from jobs.ResultDigest) and checks that only the
///         canonical packing of specs/trace.md §4 is accepted.
contract ResultDigestTest is Test {
    Poseidon2Harness internal h;

    function setUp() public {
        h = new Poseidon2Harness();
    }

    function test_traceVectors() public view {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/testdata/vectors/trace.json"));
        uint256 found;
        for (uint256 i; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(i), "].name")); ++i) {
            string memory at = string.concat(".cases[", vm.toString(i), "]");
            if (!vm.keyExistsJson(json, string.concat(at, ".resultDigest"))) continue;
            uint256[] memory tokens = vm.parseJsonUintArray(json, string.concat(at, ".tokens"));
            uint256[] memory words = ResultDigest.pack(tokens);
            assertEq(h.digest(tokens.length, words), vm.parseJsonUint(json, string.concat(at, ".resultDigest")), at);
            assertEq(ResultDigest.unpack(tokens.length, words), tokens);
            ++found;
        }
        assertEq(found, 3, "trace cases with a result digest");
    }

    /// @dev n and every token bit of a vector case are bound: flipping any one moves the digest.
    function test_everyBitIsBound() public view {
        uint256[] memory tokens = new uint256[](6);
        (tokens[0], tokens[1], tokens[2], tokens[3], tokens[4], tokens[5]) = (14, 3, 9, 14, 12, 0);
        uint256[] memory words = ResultDigest.pack(tokens);
        uint256 d = h.digest(6, words);
        for (uint256 bit; bit < 6 * 24; ++bit) {
            words[0] ^= 1 << bit;
            assertNotEq(h.digest(6, words), d);
            words[0] ^= 1 << bit;
        }
        // Fewer tokens still fit one word, but only if the dropped slot was zero: tokens[5] is.
        assertNotEq(h.digest(5, words), d);
    }

    function test_rejectsEmpty() public {
        vm.expectRevert(ResultDigest.EmptyResult.selector);
        h.digest(0, new uint256[](0));
        vm.expectRevert(ResultDigest.EmptyResult.selector);
        h.digest(0, new uint256[](1));
        vm.expectRevert(ResultDigest.EmptyResult.selector);
        h.pack(new uint256[](0));
        vm.expectRevert(ResultDigest.EmptyResult.selector);
        h.unpack(0, new uint256[](0));
    }

    function test_rejectsBadLength() public {
        uint256[5] memory ns = [uint256(1), 10, 11, 48, 128];
        for (uint256 i; i < ns.length; ++i) {
            uint256 c = (ns[i] + 9) / 10;
            vm.expectRevert(abi.encodeWithSelector(ResultDigest.BadResultLength.selector, c - 1, ns[i]));
            h.digest(ns[i], new uint256[](c - 1));
            vm.expectRevert(abi.encodeWithSelector(ResultDigest.BadResultLength.selector, c + 1, ns[i]));
            h.digest(ns[i], new uint256[](c + 1));
            vm.expectRevert(abi.encodeWithSelector(ResultDigest.BadResultLength.selector, c + 1, ns[i]));
            h.unpack(ns[i], new uint256[](c + 1));
        }
        // ceil(n / 10) for the largest n, where n + 9 would overflow.
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.BadResultLength.selector, 1, type(uint256).max));
        h.digest(type(uint256).max, new uint256[](1));
    }

    function test_rejectsWordAbove240Bits() public {
        uint256[] memory words = new uint256[](2);
        words[0] = 1 << 240;
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, 0, words[0]));
        h.digest(20, words);
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, 0, words[0]));
        h.unpack(20, words);
        // The last word, full: the same 240-bit bound.
        words[0] = 0;
        words[1] = type(uint256).max;
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, 1, words[1]));
        h.digest(20, words);
        words[1] = (1 << 240) - 1;
        h.digest(20, words);
    }

    function test_rejectsSlotPastN() public {
        uint256[] memory words = new uint256[](2);
        words[1] = uint256(1) << (24 * 3); // n = 13 leaves slots 3..9 of word 1 empty
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, 1, words[1]));
        h.digest(13, words);
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, 1, words[1]));
        h.unpack(13, words);
        h.digest(14, words);
    }

    function test_packRejectsWideToken() public {
        uint256[] memory tokens = new uint256[](12);
        tokens[11] = 1 << 24;
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.TokenOutOfRange.selector, 11, 1 << 24));
        h.pack(tokens);
    }

    function testFuzz_packUnpackRoundTrip(uint256 seed, uint256 n) public view {
        n = bound(n, 1, 300);
        uint256[] memory tokens = _tokens(seed, n);
        uint256[] memory words = h.pack(tokens);
        assertEq(words.length, (n + 9) / 10);
        assertEq(h.unpack(n, words), tokens);
        h.digest(n, words);
    }

    /// @dev A nonzero slot at or past n in the last word, or any bit at or above 2^240 in any
    ///      word, is refused with the word's index.
    function testFuzz_rejectsNonCanonicalWord(uint256 seed, uint256 n, uint256 pos, bool high) public {
        n = bound(n, 1, 300);
        uint256[] memory words = h.pack(_tokens(seed, n));
        uint256 c = words.length;
        uint256 q;
        uint256 bit;
        if (high || n % 10 == 0) {
            q = pos % c;
            bit = bound(pos >> 16, 240, 255);
        } else {
            q = c - 1;
            bit = bound(pos >> 16, 24 * (n % 10), 255);
        }
        words[q] |= 1 << bit;
        vm.expectRevert(abi.encodeWithSelector(ResultDigest.NonCanonicalResultWord.selector, q, words[q]));
        h.digest(n, words);
    }

    function test_gas_resultDigest() public {
        uint256[4] memory ns = [uint256(1), 10, 48, 128];
        for (uint256 i; i < ns.length; ++i) {
            uint256[] memory words = ResultDigest.pack(_tokens(i, ns[i]));
            h.digest(ns[i], words);
            vm.snapshotGasLastCall("Poseidon2", string.concat("resultDigest_", vm.toString(ns[i])));
        }
    }

    function _tokens(uint256 seed, uint256 n) private pure returns (uint256[] memory tokens) {
        tokens = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            tokens[k] = uint256(keccak256(abi.encode(seed, k))) & 0xffffff;
        }
    }
}
