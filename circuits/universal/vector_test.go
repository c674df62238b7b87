package universal

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/models"
)

const smallVector = "../../contracts/test/vectors/groth16_universal_small.json"

type classVector struct {
	Shape   string `json:"shape"`
	ShapeID string `json:"shapeId"`
	VKWords struct {
		Alpha, Beta, Gamma, Delta, IC []string
	} `json:"vkWords"`
	Proofs []struct {
		Name         string   `json:"name"`
		Rows         int      `json:"rows"`
		Prompt       string   `json:"prompt"`
		Text         string   `json:"text"`
		Proof        string   `json:"proof"`
		PublicInputs []string `json:"publicInputs"`
	} `json:"proofs"`
}

func bigs(t *testing.T, ss []string) []*big.Int {
	t.Helper()
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

// The committed proofs of the shipped model's generation jobs (the vector the Solidity
// verifier and gnark's exported verifier check in forge) verify in Go under the key rebuilt
// from the constructor words, and their public inputs are exactly the jobs' own: the model
// root, job digest, trace root and result digest recomputed here from the shipped model and
// the prompt, by the reference executor. A flipped public input is rejected.
func TestSmallClassVector(t *testing.T) {
	b, err := os.ReadFile(smallVector)
	if err != nil {
		t.Fatal(err)
	}
	var vf classVector
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	id := Small().ID()
	if vf.ShapeID != "0x"+hex.EncodeToString(id[:]) {
		t.Fatalf("vector is for %s, the small class is %x (regenerate: go run ./internal/cmd/genverifier -class small)", vf.ShapeID, id)
	}
	w := &circuits.VKWords{}
	copy(w.Alpha[:], bigs(t, vf.VKWords.Alpha))
	copy(w.Beta[:], bigs(t, vf.VKWords.Beta))
	copy(w.Gamma[:], bigs(t, vf.VKWords.Gamma))
	copy(w.Delta[:], bigs(t, vf.VKWords.Delta))
	copy(w.IC[:], bigs(t, vf.VKWords.IC))
	vk, err := circuits.VerifyingKeyFromWords(w)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.KJV()
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	if len(vf.Proofs) == 0 {
		t.Fatal("no proofs")
	}
	for _, p := range vf.Proofs {
		raw, err := hex.DecodeString(strings.TrimPrefix(p.Proof, "0x"))
		if err != nil {
			t.Fatal(err)
		}
		proof, err := circuits.ParseSolidity(raw)
		if err != nil {
			t.Fatal(err)
		}
		var pub [5]fr.Element
		for i, x := range bigs(t, p.PublicInputs) {
			if pub[i], err = commit.FromBig(x); err != nil {
				t.Fatal(err)
			}
		}
		prompt := jobs.ByteTokens([]byte(p.Prompt))
		j := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: p.Rows - len(prompt) + 1}
		tr, tokens, err := jobs.Generate(m, j)
		if err != nil {
			t.Fatal(err)
		}
		if text, _ := jobs.ByteText(tokens); text != p.Text {
			t.Fatalf("%s: generated %q, vector says %q", p.Name, text, p.Text)
		}
		want, err := (&Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: pub[4]}).Public()
		if err != nil {
			t.Fatal(err)
		}
		if want != pub {
			t.Fatalf("%s: public inputs are not the job's", p.Name)
		}
		if err := Verify(vk, proof.Groth16, pub); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		for i := range pub {
			bad := pub
			bad[i].Add(&bad[i], &one)
			if err := Verify(vk, proof.Groth16, bad); err == nil {
				t.Fatalf("%s: public input %d changed and accepted", p.Name, i)
			}
		}
	}
}

var one = commit.Uint(1)
