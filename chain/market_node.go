package chain

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

// VerifierKey reads the verifying key of a deployed Groth16Verifier (a class's verifier), so
// a provider checks its proving keys against the chain's before it locks anything.
func (m *Market) VerifierKey(ctx context.Context, verifier common.Address) (VerifyingKey, error) {
	v := bindings.NewGroth16Verifier()
	out, err := m.call(ctx, v.Instance(m.backend, verifier), v.PackVerifyingKey())
	if err != nil {
		return VerifyingKey{}, fmt.Errorf("chain: verifier %s: %w", verifier, err)
	}
	vk, err := v.UnpackVerifyingKey(out)
	if err != nil {
		return VerifyingKey{}, err
	}
	return VerifyingKey{Alpha: vk.Alpha, Beta: vk.Beta, Gamma: vk.Gamma, Delta: vk.Delta, IC: vk.Ic}, nil
}
