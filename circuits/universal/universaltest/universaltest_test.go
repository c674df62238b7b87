package universaltest_test

import (
	"testing"
	"time"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
)

// The test class and model prove a real job: setup, prove, verify.
func TestClassProvesModelJob(t *testing.T) {
	cl := universaltest.Class()
	if err := cl.Validate(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	keys, err := universal.Setup(cl)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup %s", time.Since(start))
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{3, 1, 4, 1, 5}, New: 4}
	tr, tokens, err := jobs.Generate(m, j)
	if err != nil {
		t.Fatal(err)
	}
	st := &universal.Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(9)}
	start = time.Now()
	p, err := universal.Prove(keys, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prove %s", time.Since(start))
	if err := universal.Verify(keys.VK, p.Groth16, p.Public); err != nil {
		t.Fatal(err)
	}
	st.Seed = commit.Uint(10)
	other, err := st.Public()
	if err != nil {
		t.Fatal(err)
	}
	if err := universal.Verify(keys.VK, p.Groth16, other); err == nil {
		t.Fatal("the proof verified under another seed")
	}
}
