package verifier

import (
	"context"
	"fmt"
	"sync"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
)

// KeyView is what ChainKeys reads: a shape's registry entry and a deployed verifier's key.
// *chain.Client offers both.
type KeyView interface {
	Shape(ctx context.Context, id [32]byte) (chain.Shape, error)
	VerifierKey(ctx context.Context, verifier common.Address) (chain.VerifyingKey, error)
}

// ChainKeys supplies each shape's verifying key as the chain holds it: the key of the
// verifier the ShapeRegistry names for the shape. An audit against the chain must check
// proofs with the key the contract verified them with, not with a local cache that may hold
// another setup's keys.
type ChainKeys struct {
	Ctx  context.Context
	View KeyView

	mu   sync.Mutex
	keys map[[32]byte]*groth16bn254.VerifyingKey
}

// VerifyingKey implements Keys.
func (k *ChainKeys) VerifyingKey(shapeID [32]byte) (*groth16bn254.VerifyingKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if vk := k.keys[shapeID]; vk != nil {
		return vk, nil
	}
	ctx := k.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	sh, err := k.View.Shape(ctx, shapeID)
	if err != nil {
		return nil, fmt.Errorf("reading shape %x from the registry: %w", shapeID, err)
	}
	if sh.Verifier == (common.Address{}) {
		return nil, fmt.Errorf("shape %x is not registered on chain", shapeID)
	}
	w, err := k.View.VerifierKey(ctx, sh.Verifier)
	if err != nil {
		return nil, fmt.Errorf("reading the key of verifier %s: %w", sh.Verifier, err)
	}
	vk, err := circuits.VerifyingKeyFromWords(&circuits.VKWords{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC})
	if err != nil {
		return nil, fmt.Errorf("verifier %s: %w", sh.Verifier, err)
	}
	bn, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifier %s: not a BN254 key", sh.Verifier)
	}
	if k.keys == nil {
		k.keys = map[[32]byte]*groth16bn254.VerifyingKey{}
	}
	k.keys[shapeID] = bn
	return bn, nil
}
