package protocol

import (
	"fmt"
	"math"
	"math/big"
)

// StakeScale is the 18-decimal fixed-point unit of the stake computation (§11).
var StakeScale = big.NewInt(1e18)

// DetectionProbability returns 1-(1-f0)^k as a float, for display only; RequiredStake is the
// normative computation.
func DetectionProbability(f0Bps uint32, k uint16) float64 {
	f := float64(f0Bps) / 10000
	if f > 1 {
		f = 1
	}
	return 1 - math.Pow(1-f, float64(k))
}

// DetectionFixed returns p = q - (q - f0*1e14)^k in 18-decimal fixed point, with each of the k
// multiplications floored, exactly as the contract computes it (§11).
func DetectionFixed(k uint16, f0Bps uint32) (*big.Int, error) {
	if f0Bps > 10000 {
		return nil, fmt.Errorf("%w: detection floor %d bps above 10000", ErrStake, f0Bps)
	}
	q := StakeScale
	x := new(big.Int).Sub(q, new(big.Int).Mul(big.NewInt(int64(f0Bps)), big.NewInt(1e14)))
	pow := new(big.Int).Set(q)
	for range k {
		pow.Mul(pow, x)
		pow.Quo(pow, q)
	}
	return new(big.Int).Sub(q, pow), nil
}

// RequiredStake returns max(price, ceil(price*(q-p)/p)) with p = DetectionFixed(k, f0Bps) (§11).
// It fails when p is 0 (k = 0, f0 = 0, or (1-f0)^k rounds to 1), where no stake deters cheating.
func RequiredStake(price *big.Int, k uint16, f0Bps uint32) (*big.Int, error) {
	if price == nil || price.Sign() < 0 {
		return nil, fmt.Errorf("%w: price %v is negative", ErrStake, price)
	}
	p, err := DetectionFixed(k, f0Bps)
	if err != nil {
		return nil, err
	}
	if p.Sign() == 0 {
		return nil, fmt.Errorf("%w: detection probability is 0 (k=%d, f0=%d bps)", ErrStake, k, f0Bps)
	}
	num := new(big.Int).Mul(price, new(big.Int).Sub(StakeScale, p))
	num.Add(num, p)
	num.Sub(num, big.NewInt(1))
	s := num.Quo(num, p)
	if s.Cmp(price) < 0 {
		s.Set(price)
	}
	return s, nil
}
