package receipt

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/probitylabs/probity/protocol"
)

// ErrSpecHash reports a receipt whose specHash is not the EIP-712 hash of its job fields.
var ErrSpecHash = errors.New("spec hash does not match the job")

// JobSpec returns the receipt's job as the protocol's EIP-712 struct.
func (rc *Receipt) JobSpec() protocol.JobSpec {
	spec := protocol.JobSpec{
		InputRoot: rc.Job.InputRoot.Big(),
		Rows:      rc.Job.Rows,
		Layers:    make([]protocol.Layer, len(rc.Job.Layers)),
	}
	for i, l := range rc.Job.Layers {
		spec.Layers[i] = protocol.Layer{ShapeID: l.ShapeID, WeightsRoot: l.WeightsRoot.Big(), Epilogue: l.Epilogue.Big()}
	}
	return spec
}

// CheckSpecHash recomputes hashStruct(JobSpec) from the job fields and compares it with specHash.
func (rc *Receipt) CheckSpecHash() error {
	got := Word(rc.JobSpec().Hash())
	if got != rc.SpecHash {
		return fmt.Errorf("%w: job hashes to %s, receipt says %s", ErrSpecHash, got, rc.SpecHash)
	}
	return nil
}

// OutputRootsBig returns the output roots as integers.
func (rc *Receipt) OutputRootsBig() []*big.Int {
	out := make([]*big.Int, len(rc.OutputRoots))
	for i, r := range rc.OutputRoots {
		out[i] = r.Big()
	}
	return out
}

// OutputsDigest is the digest the contract stored at commit (spec §6.2):
// keccak256(abi.encode(outputRoots, attestationDigest)).
func (rc *Receipt) OutputsDigest() Word {
	return Word(protocol.OutputsDigest(rc.OutputRootsBig(), rc.AttestationDigest))
}

// ExpectedPublicInputs rebuilds layer l's public inputs from the signed fields the way the
// contract does (spec §7, §10): [inputRoot or outputRoots[l-1], weightsRoot, outputRoots[l],
// seed_l, epilogue]. The proofs' own publicInputs must equal these.
func (rc *Receipt) ExpectedPublicInputs(l int) ([NumPublicInputs]Word, error) {
	var pi [NumPublicInputs]Word
	if l < 0 || l >= len(rc.Job.Layers) || l >= len(rc.OutputRoots) {
		return pi, fmt.Errorf("layer %d out of range (%d layers)", l, len(rc.Job.Layers))
	}
	if l == 0 {
		pi[0] = rc.Job.InputRoot
	} else {
		pi[0] = rc.OutputRoots[l-1]
	}
	pi[1] = rc.Job.Layers[l].WeightsRoot
	pi[2] = rc.OutputRoots[l]
	pi[3] = MustWord(protocol.LayerSeed(rc.Seed.Big(), uint32(l)))
	pi[4] = rc.Job.Layers[l].Epilogue
	return pi, nil
}
