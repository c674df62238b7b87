package protocol

import (
	"fmt"
	"math"
	"math/big"
)

// StakeScale (W) is the 18-decimal fixed-point unit of the stake computation (§11).
var StakeScale = big.NewInt(1e18)

// DetectionProbability returns 1-(1-f0)^k as a float, for display only; DetectionFixed and
// RequiredStake are the normative computation.
func DetectionProbability(f0Bps uint32, k uint16) float64 {
	f := min(float64(f0Bps)/10000, 1)
	return 1 - math.Pow(1-f, float64(k))
}

func ceilDiv(a, b *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// MissFixed returns (1-f0)^k in 18-decimal fixed point by square-and-multiply over the 16 bits of
// k, every product rounded up, exactly as StakeMath.sol computes it (§11).
func MissFixed(k uint16, f0Bps uint32) (*big.Int, error) {
	if f0Bps == 0 || f0Bps >= 10000 || k == 0 {
		return nil, fmt.Errorf("%w: detection undefined for f0 = %d bps, k = %d (need 0 < f0 < 10000, k > 0)", ErrStake, f0Bps, k)
	}
	W := StakeScale
	q := new(big.Int).Sub(W, new(big.Int).Mul(big.NewInt(int64(f0Bps)), big.NewInt(1e14)))
	miss := new(big.Int).Set(W)
	for bit := 15; bit >= 0; bit-- {
		miss = ceilDiv(new(big.Int).Mul(miss, miss), W)
		if (k>>bit)&1 == 1 {
			miss = ceilDiv(new(big.Int).Mul(miss, q), W)
		}
	}
	return miss, nil
}

// DetectionFixed returns p = W - MissFixed(k, f0), the detection probability rounded down.
func DetectionFixed(k uint16, f0Bps uint32) (*big.Int, error) {
	miss, err := MissFixed(k, f0Bps)
	if err != nil {
		return nil, err
	}
	return miss.Sub(StakeScale, miss), nil
}

// RequiredStake returns max(price, ceil(price * miss / p)) (§11), bit for bit as the contract.
// It fails where the contract reverts: f0 outside (0, 10000) bps or k = 0.
func RequiredStake(price *big.Int, k uint16, f0Bps uint32) (*big.Int, error) {
	if err := checkUint256("price", price); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStake, err)
	}
	miss, err := MissFixed(k, f0Bps)
	if err != nil {
		return nil, err
	}
	p := new(big.Int).Sub(StakeScale, miss)
	s := ceilDiv(new(big.Int).Mul(price, miss), p)
	if s.Cmp(price) < 0 {
		s.Set(price)
	}
	if s.BitLen() > 256 {
		return nil, fmt.Errorf("%w: stake for price %s overflows uint256", ErrStake, price)
	}
	return s, nil
}

// MaxBountyBps mirrors SLAManager.MAX_BOUNTY_BPS.
const MaxBountyBps = 2000

// GrossStake returns ceil(net * 10000 / (10000 - bountyBps)) (§11): the stake lock reserves so
// that net remains after the bounty is paid out of it, bit for bit as StakeMath.grossStake.
// bountyBps must be at most MaxBountyBps, as the contract enforces.
func GrossStake(net *big.Int, bountyBps uint32) (*big.Int, error) {
	if err := checkUint256("net stake", net); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStake, err)
	}
	if bountyBps > MaxBountyBps {
		return nil, fmt.Errorf("%w: bounty %d bps above the cap %d", ErrStake, bountyBps, MaxBountyBps)
	}
	s := ceilDiv(new(big.Int).Mul(net, big.NewInt(10000)), big.NewInt(int64(10000-bountyBps)))
	if s.BitLen() > 256 {
		return nil, fmt.Errorf("%w: gross stake for %s overflows uint256", ErrStake, net)
	}
	return s, nil
}
