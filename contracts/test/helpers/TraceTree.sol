// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Poseidon2} from "../../src/libraries/Poseidon2.sol";
import {TraceOpening} from "../../src/types/TraceOpening.sol";

/// @notice Small committed traces built the way specs/trace.md §5 commits them (S the Poseidon2
///         sponge, node(l, r) = S(NODE; l, r), missing leaves 0), and the openings of their
///         nodes that ChallengeManager.answerData checks: the tests' own model of the spec,
///         written from the text, not from the contract.
library TraceTree {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant LEAF = 1;
    uint256 internal constant NODE = 2;
    uint256 internal constant ROOT = 3;
    uint256 internal constant TRACE_TENSOR = 32;
    uint256 internal constant TRACE = 33;

    /// @notice A shape-bound tree (protocol.md §4.3): its shape and its leaves' field elements.
    struct Tree {
        uint8 kind;
        uint32 rows;
        uint32 cols;
        uint8 depth;
        uint256[][] leaves;
    }

    /// @notice A trace tensor: its row tree and, when `hasCols`, its column tree.
    struct Tensor {
        Tree rowTree;
        bool hasCols;
        Tree colTree;
    }

    struct Trace {
        uint256 jobDigest;
        uint32 rows;
        uint8 depth;
        Tensor[] tensors;
    }

    // ------------------------------------------------------------ hashes

    function s1(uint256 tag, uint256 a) internal pure returns (uint256) {
        uint256[] memory xs = new uint256[](1);
        xs[0] = a;
        return Poseidon2.hash(tag, xs);
    }

    function node(uint256 l, uint256 r) internal pure returns (uint256) {
        uint256[] memory xs = new uint256[](2);
        (xs[0], xs[1]) = (l, r);
        return Poseidon2.hash(NODE, xs);
    }

    function shapeRoot(uint8 kind, uint32 rows, uint32 cols, uint8 depth, uint256 root)
        internal
        pure
        returns (uint256)
    {
        uint256[] memory xs = new uint256[](5);
        (xs[0], xs[1], xs[2], xs[3], xs[4]) = (kind, rows, cols, depth, root);
        return Poseidon2.hash(ROOT, xs);
    }

    function tensorLeaf(uint256 t, uint256 rowRoot, uint256 colRoot) internal pure returns (uint256) {
        uint256[] memory xs = new uint256[](3);
        (xs[0], xs[1], xs[2]) = (t, rowRoot, colRoot);
        return Poseidon2.hash(TRACE_TENSOR, xs);
    }

    function traceRoot(uint256 jobDigest, uint32 rows, uint32 tensors, uint8 depth, uint256 tensorRoot)
        internal
        pure
        returns (uint256)
    {
        uint256[] memory xs = new uint256[](6);
        (xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]) = (1, jobDigest, rows, tensors, depth, tensorRoot);
        return Poseidon2.hash(TRACE, xs);
    }

    /// @notice The root of the depth-`depth` tree over `nodes` (missing leaves 0).
    function merkleRoot(uint256[] memory nodes, uint8 depth) internal pure returns (uint256) {
        uint256[] memory level = _pad(nodes, depth);
        for (uint256 h = 0; h < depth; ++h) {
            level = _up(level);
        }
        return level[0];
    }

    /// @notice The `depth` siblings of leaf `index`, from the leaf upwards.
    function merklePath(uint256[] memory nodes, uint8 depth, uint256 index) internal pure returns (uint256[] memory p) {
        uint256[] memory level = _pad(nodes, depth);
        p = new uint256[](depth);
        for (uint256 h = 0; h < depth; ++h) {
            p[h] = level[index ^ 1];
            level = _up(level);
            index >>= 1;
        }
    }

    function _pad(uint256[] memory nodes, uint8 depth) private pure returns (uint256[] memory level) {
        level = new uint256[](uint256(1) << depth);
        require(nodes.length <= level.length, "too many leaves");
        for (uint256 i = 0; i < nodes.length; ++i) {
            level[i] = nodes[i];
        }
    }

    function _up(uint256[] memory level) private pure returns (uint256[] memory up) {
        up = new uint256[](level.length / 2);
        for (uint256 i = 0; i < up.length; ++i) {
            up[i] = node(level[2 * i], level[2 * i + 1]);
        }
    }

    // ------------------------------------------------------------ trees and traces

    function leafNodes(Tree memory t) internal pure returns (uint256[] memory n) {
        n = new uint256[](t.leaves.length);
        for (uint256 i = 0; i < n.length; ++i) {
            n[i] = Poseidon2.hash(LEAF, t.leaves[i]);
        }
    }

    function rootOf(Tree memory t) internal pure returns (uint256) {
        return merkleRoot(leafNodes(t), t.depth);
    }

    function shapeRootOf(Tree memory t) internal pure returns (uint256) {
        return shapeRoot(t.kind, t.rows, t.cols, t.depth, rootOf(t));
    }

    function rowRootOf(Trace memory tr, uint256 t) internal pure returns (uint256) {
        return shapeRootOf(tr.tensors[t].rowTree);
    }

    function colRootOf(Trace memory tr, uint256 t) internal pure returns (uint256) {
        return tr.tensors[t].hasCols ? shapeRootOf(tr.tensors[t].colTree) : 0;
    }

    function tensorLeaves(Trace memory tr) internal pure returns (uint256[] memory n) {
        n = new uint256[](tr.tensors.length);
        for (uint256 t = 0; t < n.length; ++t) {
            n[t] = tensorLeaf(t, rowRootOf(tr, t), colRootOf(tr, t));
        }
    }

    function tensorRootOf(Trace memory tr) internal pure returns (uint256) {
        return merkleRoot(tensorLeaves(tr), tr.depth);
    }

    function rootOf(Trace memory tr) internal pure returns (uint256) {
        return traceRoot(tr.jobDigest, tr.rows, uint32(tr.tensors.length), tr.depth, tensorRootOf(tr));
    }

    /// @notice ceil(log2 n), 0 for n <= 1.
    function depthFor(uint256 n) internal pure returns (uint8 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// @notice A tree of `rows` leaves of `words` random field elements each (from `salt`).
    function randomTree(uint8 kind, uint32 rows, uint32 cols, uint256 words, uint256 salt)
        internal
        pure
        returns (Tree memory t)
    {
        t.kind = kind;
        t.rows = rows;
        t.cols = cols;
        t.depth = depthFor(rows);
        t.leaves = new uint256[][](rows);
        for (uint256 i = 0; i < rows; ++i) {
            t.leaves[i] = new uint256[](words);
            for (uint256 k = 0; k < words; ++k) {
                t.leaves[i][k] = uint256(keccak256(abi.encode(salt, i, k))) % R;
            }
        }
    }

    /// @notice A trace of `rows` rows and `n` tensors: tensor 0 the I32 input ids (kind 6, one
    ///         word a leaf), every other an I8 [rows, 2] tensor (kind 1, two words a leaf), and
    ///         tensor `colTensor` (when < n) also committed by columns (a [2, rows] tree, `rows`
    ///         words a leaf).
    function sample(uint256 jobDigest, uint32 rows, uint32 n, uint256 colTensor)
        internal
        pure
        returns (Trace memory tr)
    {
        tr.jobDigest = jobDigest;
        tr.rows = rows;
        tr.depth = depthFor(n);
        tr.tensors = new Tensor[](n);
        for (uint256 t = 0; t < n; ++t) {
            tr.tensors[t].rowTree = t == 0
                ? randomTree(6, rows, 1, 1, t)
                : randomTree(1, rows, 2, 2, uint256(keccak256(abi.encode("row", t))));
            if (t == colTensor) {
                tr.tensors[t].hasCols = true;
                tr.tensors[t].colTree = randomTree(1, 2, rows, rows, uint256(keccak256(abi.encode("col", t))));
            }
        }
    }

    // ------------------------------------------------------------ openings

    /// @notice The honest opening of data element `element` (kind 4, 5 or 6) of `tr`: what the
    ///         node's provider answers, vacuous parts left empty.
    function open(Trace memory tr, uint256 element) internal pure returns (TraceOpening memory o) {
        uint256 kind = element >> 96;
        uint256 t = uint32(element >> 64);
        o.rows = tr.rows;
        o.tensors = uint32(tr.tensors.length);
        o.depth = tr.depth;
        o.tensorRoot = tensorRootOf(tr);
        if (t >= tr.tensors.length) return o;
        o.rowRoot = rowRootOf(tr, t);
        o.colRoot = colRootOf(tr, t);
        o.tensorPath = merklePath(tensorLeaves(tr), tr.depth, t);
        if (kind == 4) return o;
        Tree memory tree;
        uint256 index;
        if (kind == 5) {
            tree = tr.tensors[t].rowTree;
            index = uint32(element >> 32);
        } else {
            if (!tr.tensors[t].hasCols) return o;
            tree = tr.tensors[t].colTree;
            index = uint32(element);
        }
        o.treeKind = tree.kind;
        o.treeRows = tree.rows;
        o.treeCols = tree.cols;
        o.treeDepth = tree.depth;
        o.treeRoot = rootOf(tree);
        if (index >= tree.rows) return o;
        o.leaf = new uint256[](tree.leaves[index].length); // a copy: the caller may tamper with it
        for (uint256 k = 0; k < o.leaf.length; ++k) {
            o.leaf[k] = tree.leaves[index][k];
        }
        o.path = merklePath(leafNodes(tree), tree.depth, index);
    }

    function element(uint256 kind, uint256 op, uint256 row, uint256 col) internal pure returns (uint256) {
        return (kind << 96) | (op << 64) | (row << 32) | col;
    }
}
