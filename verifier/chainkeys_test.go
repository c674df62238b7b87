package verifier

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
)

type fakeKeyView struct {
	shapes map[[32]byte]common.Address
	keys   map[common.Address]chain.VerifyingKey
	reads  int
}

func (f *fakeKeyView) Shape(_ context.Context, id [32]byte) (chain.Shape, error) {
	return chain.Shape{Verifier: f.shapes[id]}, nil
}

func (f *fakeKeyView) VerifierKey(_ context.Context, v common.Address) (chain.VerifyingKey, error) {
	f.reads++
	k, ok := f.keys[v]
	if !ok {
		return chain.VerifyingKey{}, errors.New("no code at address")
	}
	return k, nil
}

// ChainKeys returns exactly the key the shape's on-chain verifier holds, reads it once, and
// refuses shapes the registry does not know.
func TestChainKeys(t *testing.T) {
	s, _ := circuits.Lookup("tiny")
	keys, err := circuits.DevSetup(s)
	if err != nil {
		t.Fatal(err)
	}
	w, err := circuits.VerifyingKeyWords(keys.VK)
	if err != nil {
		t.Fatal(err)
	}
	ver := common.HexToAddress("0x1234")
	view := &fakeKeyView{shapes: map[[32]byte]common.Address{s.ID(): ver},
		keys: map[common.Address]chain.VerifyingKey{ver: {Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC}}}
	ck := &ChainKeys{View: view}
	for range 2 {
		vk, err := ck.VerifyingKey(s.ID())
		if err != nil {
			t.Fatal(err)
		}
		got, err := circuits.VerifyingKeyWords(vk)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range got.Flat() {
			if x.Cmp(w.Flat()[i]) != 0 {
				t.Fatalf("word %d differs from the chain's", i)
			}
		}
	}
	if view.reads != 1 {
		t.Fatalf("read the verifier %d times, want once", view.reads)
	}
	if _, err := ck.VerifyingKey([32]byte{9}); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("unregistered shape: %v", err)
	}
}
