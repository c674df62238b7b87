package chain

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"

	"github.com/probitylabs/probity/contracts/bindings"
)

var allMetaData = []*bind.MetaData{
	&bindings.SLAManagerMetaData, &bindings.ProviderRegistryMetaData, &bindings.ClassRegistryMetaData,
	&bindings.Groth16VerifierMetaData, &bindings.DevTokenMetaData, &bindings.ResultHasherMetaData,
}

// TestKnownErrorsDistinctSelectors: errors of v0 and v1 share one table keyed by
// selector, which is only sound if a selector never stands for two signatures.
func TestKnownErrorsDistinctSelectors(t *testing.T) {
	sigs := map[[4]byte]string{}
	for _, md := range allMetaData {
		parsed, err := md.ParseABI()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range parsed.Errors {
			var id [4]byte
			copy(id[:], e.ID[:4])
			if prev, ok := sigs[id]; ok && prev != e.Sig {
				t.Fatalf("selector %x is both %s and %s", id, prev, e.Sig)
			}
			sigs[id] = e.Sig
			if got, ok := knownErrors[id]; !ok || got.Sig != e.Sig {
				t.Fatalf("%s (%s) not decodable", e.Sig, md.ID)
			}
		}
	}
}

func TestDecodeRevertData(t *testing.T) {
	for _, c := range []struct {
		md   *bind.MetaData
		name string
		args []any
	}{
		{&bindings.ResultHasherMetaData, "NonCanonicalResultWord", []any{big.NewInt(3), new(big.Int).Lsh(big.NewInt(1), 240)}},
		{&bindings.SLAManagerMetaData, "RevealPending", []any{big.NewInt(7), uint64(40), big.NewInt(12)}},
		{&bindings.ClassRegistryMetaData, "ZeroSlots", nil},
	} {
		parsed, err := c.md.ParseABI()
		if err != nil {
			t.Fatal(err)
		}
		e := parsed.Errors[c.name]
		enc, err := e.Inputs.Pack(c.args...)
		if err != nil {
			t.Fatal(err)
		}
		re := DecodeRevertData(append(append([]byte{}, e.ID[:4]...), enc...))
		if re.Name != c.name || len(re.Args) != len(c.args) || !errors.Is(re, ErrReverted) {
			t.Fatalf("decoded %v, want %s", re, c.name)
		}
	}
	if re := DecodeRevertData([]byte{1, 2, 3, 4}); re.Name != "" || strings.Contains(re.Error(), "nil") {
		t.Fatalf("unknown data: %q", re.Error())
	}
}
