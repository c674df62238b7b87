// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice Stake sizing of spec §11 in 18-decimal fixed point.
/// @dev The algorithm is normative (the Go `protocol` package and `testdata/vectors/stake.json`
///      pin the same numbers):
///        q    = 10^18 - f0Bps * 10^14                       (1 - f0)
///        miss = q^k by square-and-multiply over the bits of k, most significant first,
///               every product rounded UP: x*y/10^18 ceil    ((1 - f0)^k, rounded up)
///        p    = 10^18 - miss                                (detection, rounded down)
///        requiredStake = max(P, ceil(P * miss / p))
///      Rounding miss up rounds p down and the stake up, so the bound errs on the buyer's side.
library StakeMath {
    uint256 internal constant WAD = 1e18;

    /// @notice The detection floor f0 was outside (0, 10000) basis points, or k was zero.
    error DetectionUndefined(uint16 floorBps, uint16 k);

    /// @notice (1 - f0)^k in WAD, rounded up.
    function missProbability(uint16 floorBps, uint16 k) internal pure returns (uint256 miss) {
        if (floorBps == 0 || floorBps >= 10_000 || k == 0) revert DetectionUndefined(floorBps, k);
        uint256 q = WAD - uint256(floorBps) * 1e14;
        miss = WAD;
        // Squaring WAD with ceiling division gives WAD exactly, so the rounds above k's highest
        // set bit change nothing: start at it (bit for bit the normative loop, cheaper).
        uint256 bit = 16;
        while ((k >> (bit - 1)) == 0) {
            // k > 0 was checked above, so some bit is set and bit never reaches 0 here.
            unchecked {
                --bit;
            }
        }
        for (; bit > 0;) {
            // bit counts down from 16 to 1 and is never decremented below 1 inside the loop.
            unchecked {
                --bit;
            }
            miss = Math.mulDiv(miss, miss, WAD, Math.Rounding.Ceil);
            if ((k >> bit) & 1 == 1) miss = Math.mulDiv(miss, q, WAD, Math.Rounding.Ceil);
        }
    }

    /// @notice p(f0, k) = 1 - (1 - f0)^k in WAD, rounded down.
    function detectionProbability(uint16 floorBps, uint16 k) internal pure returns (uint256) {
        return WAD - missProbability(floorBps, k);
    }

    /// @notice max(P, ceil(P * (1 - p) / p)).
    function requiredStake(uint256 price, uint16 floorBps, uint16 k) internal pure returns (uint256) {
        uint256 miss = missProbability(floorBps, k);
        uint256 p = WAD - miss;
        // miss <= q < WAD at every step for k >= 1, so p >= 1 and the division is defined.
        uint256 s = Math.mulDiv(price, miss, p, Math.Rounding.Ceil);
        return s > price ? s : price;
    }

    /// @notice The stake to reserve so that `net` remains after a bounty of `bountyBps` is
    ///         paid out of it: ceil(net * 10000 / (10000 - bountyBps)). A cheater that triggers
    ///         its own slash from another address recovers the bounty, so the bound must hold
    ///         net of it (spec §11).
    /// @dev bountyBps < 10000 is the caller's invariant (SLAManager caps it at MAX_BOUNTY_BPS).
    function grossStake(uint256 net, uint16 bountyBps) internal pure returns (uint256) {
        return Math.mulDiv(net, 10_000, 10_000 - uint256(bountyBps), Math.Rounding.Ceil);
    }
}
