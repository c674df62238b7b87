// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The answer to a data challenge (specs/settlement.md §10, data availability): one
///         node of a job's committed trace tree (specs/trace.md §5) with its path to the trace
///         root. ChallengeManager.answerData checks it against the job's anchored trace root
///         and emits it (TraceOpened), so the data is on chain. Every word is a BN254 scalar
///         field element.
struct TraceOpening {
    /// @notice T, the trace's row count.
    uint32 rows;
    /// @notice L + 1, the trace's tensor count.
    uint32 tensors;
    /// @notice d, the depth of the trace tree over the tensor leaves.
    uint8 depth;
    /// @notice R, the root of the trace tree.
    uint256 tensorRoot;
    /// @notice Tensor t's row root (a shape root, protocol.md §4.3).
    uint256 rowRoot;
    /// @notice Tensor t's column root (0: the tensor has no column tree).
    uint256 colRoot;
    /// @notice The d siblings of tensor t's leaf, from the leaf upwards.
    uint256[] tensorPath;
    /// @notice Kinds 5 and 6: the opened tree's shape-root preimage S(ROOT; treeKind, treeRows,
    ///         treeCols, treeDepth, treeRoot).
    uint8 treeKind;
    uint32 treeRows;
    uint32 treeCols;
    uint8 treeDepth;
    uint256 treeRoot;
    /// @notice The opened leaf's field elements (S(LEAF; leaf...) is the leaf node).
    uint256[] leaf;
    /// @notice The treeDepth siblings of the leaf, from the leaf upwards.
    uint256[] path;
}
