package chain_test

import (
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/chain"
)

// A verifying key and proofs that satisfy the Groth16 pairing equation by
// construction (the Go twin of contracts/test/helpers/SyntheticGroth16.sol):
// beta = gamma = delta = g2 and every G1 point a known multiple of g1, so
// A = (alpha + L + C) * g1, B = g2 verifies for any public inputs. It lets the
// chain tests run the real Groth16Verifier on a valid proof for the inputs the
// manager rebuilds; soundness of real circuit proofs is the circuits' business.

const (
	synthAlpha = 5
	synthC     = 11
)

// synthIC is the scalar of IC[i] under key tag (0 the universal statement's, 1
// the targeted statement's, so a proof of one never verifies under the other).
func synthIC(tag, i int) int64 { return 101 + 1000*int64(tag) + 7*int64(i) }

func g1Mul(s *big.Int) bn254.G1Affine {
	_, _, g1, _ := bn254.Generators()
	var p bn254.G1Affine
	p.ScalarMultiplication(&g1, s)
	return p
}

func g1Words(p bn254.G1Affine) (*big.Int, *big.Int) {
	return p.X.BigInt(new(big.Int)), p.Y.BigInt(new(big.Int))
}

func g2Words() [4]*big.Int {
	_, _, _, g2 := bn254.Generators()
	return [4]*big.Int{
		g2.X.A1.BigInt(new(big.Int)), g2.X.A0.BigInt(new(big.Int)),
		g2.Y.A1.BigInt(new(big.Int)), g2.Y.A0.BigInt(new(big.Int)),
	}
}

func syntheticVK() chain.VerifyingKey { return syntheticVKTag(0) }

// syntheticTargetedVK is the synthetic key of the targeted statement.
func syntheticTargetedVK() chain.VerifyingKey { return syntheticVKTag(1) }

func syntheticVKTag(tag int) chain.VerifyingKey {
	var vk chain.VerifyingKey
	vk.Alpha[0], vk.Alpha[1] = g1Words(g1Mul(big.NewInt(synthAlpha)))
	vk.Beta, vk.Gamma, vk.Delta = g2Words(), g2Words(), g2Words()
	for i := 0; i < 6; i++ {
		vk.IC[2*i], vk.IC[2*i+1] = g1Words(g1Mul(big.NewInt(synthIC(tag, i))))
	}
	return vk
}

func syntheticProof(inputs [5]*big.Int) chain.Proof { return syntheticProofTag(0, inputs) }

// syntheticTargetedProof answers a challenge under syntheticTargetedVK.
func syntheticTargetedProof(inputs [5]*big.Int) chain.Proof { return syntheticProofTag(1, inputs) }

func syntheticProofTag(tag int, inputs [5]*big.Int) chain.Proof {
	r := fr.Modulus()
	a := big.NewInt(synthAlpha + synthC + synthIC(tag, 0))
	for i, x := range inputs {
		t := new(big.Int).Mul(x, big.NewInt(synthIC(tag, i+1)))
		a.Add(a, t)
	}
	a.Mod(a, r)
	var p chain.Proof
	p[0], p[1] = g1Words(g1Mul(a))
	g2 := g2Words()
	copy(p[2:6], g2[:])
	p[6], p[7] = g1Words(g1Mul(big.NewInt(synthC)))
	return p
}
