//go:build heavy

package universal

import (
	"testing"
	"time"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
)

// A targeted proof end to end on the test class (fresh development keys, not the cache): an
// op element, an input row, a token and a vacuous element each prove and verify with the
// public inputs the contract rebuilds (TargetedInputs), and a proof verifies for no other
// element or result.
func TestTargetedProveVerify(t *testing.T) {
	cl := testClass()
	t0 := time.Now()
	keys, err := circuits.DevSetup(TargetedClass{cl})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup %v, %d constraints", time.Since(t0), keys.CCS.GetNbConstraints())
	st := everyKindStatement(t, 11)
	pub, err := st.Public()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []jobs.Element{opElement(2, 3, 1), {Kind: jobs.ElementInput, Row: 4}, {Kind: jobs.ElementToken, Row: 1}, {Kind: jobs.ElementOp, Op: 99}} {
		a := assignT(t, cl, st, e)
		t0 := time.Now()
		p, err := ProveTargeted(keys, a)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s element: prove %v", e.Kind, time.Since(t0))
		words := TargetedInputs(pub[0], pub[1], pub[2], pub[3], e)
		for q, w := range PublicWords(p.Public) {
			if w.Cmp(words[q]) != 0 {
				t.Fatalf("public input %d: proof has %s, TargetedInputs %s", q, w, words[q])
			}
		}
		if err := VerifyTargeted(keys.VK, p.Groth16, p.Public); err != nil {
			t.Fatal(err)
		}
		for q, v := range map[int]jobs.Element{4: {Kind: jobs.ElementNone}, 3: {}} {
			bad := p.Public
			if q == 4 {
				bad[4].SetBigInt(v.Word())
			} else {
				bad[3] = commit.Uint(1)
			}
			if VerifyTargeted(keys.VK, p.Groth16, bad) == nil {
				t.Fatalf("a proof verified with public input %d changed", q)
			}
		}
		if _, err := ProveTargeted(&circuits.Keys{Target: cl}, a); err == nil {
			t.Fatal("sampled keys accepted for a targeted proof")
		}
	}
}
