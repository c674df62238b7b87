package circuits

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
)

type vectorFile struct {
	ShapeID string `json:"shapeId"`
	Shape   string `json:"shape"`
	VKWords struct {
		Alpha, Beta, Gamma, Delta, IC []string
	} `json:"vkWords"`
	Proofs []struct {
		Name         string   `json:"name"`
		Proof        string   `json:"proof"`
		PublicInputs []string `json:"publicInputs"`
	} `json:"proofs"`
}

func bigs(t *testing.T, ss []string) []*big.Int {
	out := make([]*big.Int, len(ss))
	for i, s := range ss {
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad integer %q", s)
		}
		out[i] = v
	}
	return out
}

// The committed Solidity vectors verify in Go through the key rebuilt from the constructor
// words, and a flipped bit in any proof word or public input is rejected.
func TestSolidityVectors(t *testing.T) {
	b, err := os.ReadFile("../contracts/test/vectors/groth16_tiny.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	s, err := Lookup(vf.Shape)
	if err != nil {
		t.Fatal(err)
	}
	if s.IDHex() != vf.ShapeID {
		t.Fatalf("shape id %s, vector says %s", s.IDHex(), vf.ShapeID)
	}
	w := &VKWords{}
	copy(w.Alpha[:], bigs(t, vf.VKWords.Alpha))
	copy(w.Beta[:], bigs(t, vf.VKWords.Beta))
	copy(w.Gamma[:], bigs(t, vf.VKWords.Gamma))
	copy(w.Delta[:], bigs(t, vf.VKWords.Delta))
	copy(w.IC[:], bigs(t, vf.VKWords.IC))
	vk, err := VerifyingKeyFromWords(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(vf.Proofs) == 0 {
		t.Fatal("no proofs in the vector file")
	}
	for _, p := range vf.Proofs {
		raw, err := hex.DecodeString(strings.TrimPrefix(p.Proof, "0x"))
		if err != nil {
			t.Fatal(err)
		}
		var pub [5]*big.Int
		copy(pub[:], bigs(t, p.PublicInputs))
		if err := VerifySolidity(vk, raw, pub); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		for i := range pub {
			bad := pub
			bad[i] = new(big.Int).Xor(pub[i], big.NewInt(1))
			if err := VerifySolidity(vk, raw, bad); !errors.Is(err, ErrProof) {
				t.Fatalf("%s: public input %d flipped: %v", p.Name, i, err)
			}
		}
		for word := range 8 {
			bad := append([]byte(nil), raw...)
			bad[32*word+31] ^= 1
			if err := VerifySolidity(vk, bad, pub); err == nil {
				t.Fatalf("%s: proof word %d flipped: accepted", p.Name, word)
			}
		}
	}
}

// Words and key agree both ways for a fresh key.
func TestVerifyingKeyWordsRoundTrip(t *testing.T) {
	k := testKeys(t)
	w, err := VerifyingKeyWords(k.VK)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Flat()) != 26 {
		t.Fatalf("%d words, want 26", len(w.Flat()))
	}
	vk, err := VerifyingKeyFromWords(w)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prove(k, tinyInputs(t, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(vk, p, p.PublicInputs); err != nil {
		t.Fatal(err)
	}
	w.Alpha[0] = new(big.Int).Add(w.Alpha[0], big.NewInt(1))
	if _, err := VerifyingKeyFromWords(w); err == nil {
		t.Fatal("off-curve alpha accepted")
	}
}

func FuzzParseSolidity(f *testing.F) {
	f.Add(make([]byte, ProofSize))
	f.Add([]byte{1, 2, 3})
	if b, err := os.ReadFile("../contracts/test/vectors/groth16_tiny.json"); err == nil {
		var vf vectorFile
		if json.Unmarshal(b, &vf) == nil {
			for _, p := range vf.Proofs {
				if raw, err := hex.DecodeString(strings.TrimPrefix(p.Proof, "0x")); err == nil {
					f.Add(raw)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseSolidity(b)
		if err != nil {
			if !errors.Is(err, ErrProofEncoding) {
				t.Fatalf("error %v does not wrap ErrProofEncoding", err)
			}
			return
		}
		// parse then encode gives the input back
		enc, err := MarshalSolidity(p.Groth16)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc[:]) != string(b) {
			t.Fatalf("round trip changed the encoding")
		}
	})
}
