package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Proof is a Groth16 proof in the 8-word Solidity layout of spec §7.
type Proof [8]*big.Int

// VerifyingKey is a Groth16 verifying key for five public inputs, G2 points in
// EIP-197 word order (x.a1, x.a0, y.a1, y.a0), as the Groth16Verifier constructor
// takes it.
type VerifyingKey struct {
	Alpha [2]*big.Int
	Beta  [4]*big.Int
	Gamma [4]*big.Int
	Delta [4]*big.Int
	IC    [12]*big.Int
}

// Equal reports whether two keys have the same words.
func (vk VerifyingKey) Equal(o VerifyingKey) bool {
	a, b := vk.words(), o.words()
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || (a[i] != nil && a[i].Cmp(b[i]) != 0) {
			return false
		}
	}
	return true
}

func (vk VerifyingKey) words() []*big.Int {
	var w []*big.Int
	for _, g := range [][]*big.Int{vk.Alpha[:], vk.Beta[:], vk.Gamma[:], vk.Delta[:], vk.IC[:]} {
		w = append(w, g...)
	}
	return w
}

var errNoBytecode = errors.New("no bytecode in bindings")

func deployContract(ctx context.Context, s *Sender, md *bind.MetaData, input []byte) (common.Address, error) {
	if len(md.Bin) < 3 {
		return common.Address{}, errNoBytecode
	}
	addr, _, err := s.Deploy(ctx, common.FromHex(md.Bin), input)
	return addr, err
}

// DeployVerifier deploys a Groth16Verifier for vk (one bytecode for every
// shape; the key goes in as constructor arguments).
func DeployVerifier(ctx context.Context, s *Sender, vk VerifyingKey) (common.Address, error) {
	for _, w := range vk.words() {
		if w == nil || w.Sign() < 0 || w.BitLen() > 256 {
			return common.Address{}, fmt.Errorf("chain: verifying key word %v is not a uint256", w)
		}
	}
	input := bindings.NewGroth16Verifier().PackConstructor(vk.Alpha, vk.Beta, vk.Gamma, vk.Delta, vk.IC)
	addr, err := deployContract(ctx, s, &bindings.Groth16VerifierMetaData, input)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploying Groth16Verifier: %w", err)
	}
	return addr, nil
}
