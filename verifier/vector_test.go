package verifier

import (
	"context"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/receipt"
)

var vectors = filepath.Join("..", "testdata", "vectors")

// vector returns the committed v1 receipt vector, the policy beside it (its class and the key
// that proved it) and the model it ran. The vector's chain is gone, so its audits are offline
// and the policy is given AllowUnconfirmed (TestOfflineIsUnconfirmed audits without it).
func vector(t testing.TB) ([]byte, Policy, *model.Model) {
	b, p, m := vectorAsFiled(t)
	p.AllowUnconfirmed = true
	return b, p, m
}

// vectorAsFiled is vector with the policy file as it is.
func vectorAsFiled(t testing.TB) ([]byte, Policy, *model.Model) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, "receipt-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(filepath.Join(vectors, "receipt-v1.policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.ReadFile(filepath.Join(vectors, "receipt-v1.model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return b, p, m
}

func statuses(r *Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range r.Checks {
		out[c.Name] = c.Status
	}
	return out
}

// TestVectorPasses: the committed receipt of a real job passes every offline check, with the
// detection bounds recomputed from its model; only the chain check is skipped.
func TestVectorPasses(t *testing.T) {
	b, p, m := vector(t)
	r, err := AuditJSON(context.Background(), b, p, Options{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("vector fails: %v", r.Err())
	}
	st := statuses(r)
	for _, name := range Checks {
		want := Pass
		if name == CheckOnChain {
			want = Skip
		}
		if st[name] != want {
			t.Errorf("check %s: %s, want %s", name, st[name], want)
		}
	}
	if len(r.Checks) != len(Checks) {
		t.Errorf("%d checks reported, want %d", len(r.Checks), len(Checks))
	}
}

// TestOfflineIsUnconfirmed: offline, under a policy that does not allow unconfirmed
// receipts, the vector passes every check but the on-chain one, which fails with
// ErrUnconfirmed: its verdict is "unconfirmed", not OK. Allowed, the check is skipped with the
// caveat and the verdict is OK.
func TestOfflineIsUnconfirmed(t *testing.T) {
	b, p, m := vectorAsFiled(t)
	r, err := AuditJSON(context.Background(), b, p, Options{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Check(CheckOnChain)
	if r.OK() || c.Status != Fail || !errors.Is(c.Err, ErrUnconfirmed) || Verdict(r) != VerdictUnconfirmed {
		t.Fatalf("offline audit: ok %v, verdict %s, on-chain %+v", r.OK(), Verdict(r), c)
	}
	for _, name := range Checks[:len(Checks)-1] {
		if got := r.Check(name); got.Status != Pass {
			t.Errorf("check %s: %+v", name, got)
		}
	}
	p.AllowUnconfirmed = true
	r, err = AuditJSON(context.Background(), b, p, Options{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Check(CheckOnChain); !r.OK() || c.Status != Skip || Verdict(r) != VerdictOK || !strings.Contains(c.Detail, "unconfirmed") {
		t.Fatalf("allowed: ok %v, verdict %s, on-chain %+v", r.OK(), Verdict(r), c)
	}
	// A receipt that fails a check of its own is failed, not unconfirmed.
	rc, _ := receipt.Parse(b)
	rc.Result.Tokens[0] ^= 1
	p.AllowUnconfirmed = false
	if r, err = Audit(context.Background(), rc, p, Options{Model: m}); err != nil || Verdict(r) != VerdictFailed {
		t.Fatalf("tampered offline: %v, verdict %s", err, Verdict(r))
	}
}

// TestDetectionNeedsModel: without the model the bounds are not recomputed; a policy that sets
// a minimum then fails (never a silent pass), one that does not skips the check.
func TestDetectionNeedsModel(t *testing.T) {
	b, p, _ := vector(t)
	r, err := AuditJSON(context.Background(), b, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Check(CheckDetection); c.Status != Fail || !errors.Is(c.Err, ErrPolicy) {
		t.Fatalf("minimum without the model: %+v", c)
	}
	p.MinInstance = 0
	r, err = AuditJSON(context.Background(), b, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Check(CheckDetection); c.Status != Skip || !r.OK() {
		t.Fatalf("no minimum, no model: %+v (%v)", c, r.Err())
	}
	other, err := model.ReadFile(filepath.Join(vectors, "receipt-v1.model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	other.Ops[1].Bias.Data[0]++ // another model: another root, not used
	r, err = AuditJSON(context.Background(), b, p, Options{Model: other})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Check(CheckDetection); c.Status != Skip {
		t.Fatalf("another model's bounds were used: %+v", c)
	}
}

func TestPolicyRefusals(t *testing.T) {
	b, p, m := vector(t)
	if _, err := AuditJSON(context.Background(), b, Policy{}, Options{}); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("zero policy: %v", err)
	}
	for name, c := range map[string]struct {
		edit  func(*Policy)
		check string
	}{
		"other chain":    {func(p *Policy) { p.ChainID = big.NewInt(1) }, CheckReplay},
		"other manager":  {func(p *Policy) { a := common.Address{1}; p.Manager = &a }, CheckReplay},
		"no attestation": {func(p *Policy) { p.AllowNoAttestation = false }, CheckAttestation},
		"cc":             {func(p *Policy) { p.RequireCC = true }, CheckAttestation},
		"gpu":            {func(p *Policy) { p.AllowedGPUModels = []string{"NVIDIA H100 80GB HBM3"} }, CheckAttestation},
		"slots":          {func(p *Policy) { p.MinSlots = 2 }, CheckDetection},
		"detection":      {func(p *Policy) { p.MinInstance = 0.5 }, CheckDetection},
		"catalogue only": {func(p *Policy) { p.Classes = nil }, CheckClass},
		"other key":      {func(p *Policy) { p.Classes[0].VK = otherKey(t) }, CheckProof},
	} {
		t.Run(name, func(t *testing.T) {
			q := p
			q.Classes = append([]Class(nil), p.Classes...)
			c.edit(&q)
			r, err := AuditJSON(context.Background(), b, q, Options{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Check(c.check); got == nil || got.Status != Fail {
				t.Fatalf("check %s: %+v", c.check, got)
			}
		})
	}
}

// TestTamperedFields: each field changed alone fails the check that names it (others may fail
// too: most fields are signed, and several feed the seed or the proof).
func TestTamperedFields(t *testing.T) {
	b, p, m := vector(t)
	word := func(w *receipt.Word) { w[31] ^= 1 }
	cases := []struct {
		field  string
		edit   func(*receipt.Receipt)
		checks []string
	}{
		{"chainId", func(r *receipt.Receipt) { r.ChainID = receipt.NewUint(big.NewInt(1)) }, []string{CheckReplay, CheckJobID, CheckSignature}},
		{"manager", func(r *receipt.Receipt) { r.Manager[0] ^= 1 }, []string{CheckReplay, CheckJobID, CheckSeed, CheckSignature}},
		{"jobId", func(r *receipt.Receipt) { r.JobID = receipt.NewUint(big.NewInt(7)) }, []string{CheckJobID, CheckSeed, CheckSignature}},
		{"request.salt", func(r *receipt.Receipt) { r.Request.Salt = new(big.Int).Add(r.Request.Salt, big.NewInt(1)) }, []string{CheckJobID}},
		{"request.price", func(r *receipt.Receipt) { r.Request.Price = big.NewInt(1) }, []string{CheckJobID}},
		{"request.buyer", func(r *receipt.Receipt) { r.Request.Buyer[0] ^= 1 }, []string{CheckJobID}},
		{"request.modelRoot", func(r *receipt.Receipt) { r.Request.ModelRoot = new(big.Int).Xor(r.Request.ModelRoot, big.NewInt(1)) }, []string{CheckJobID, CheckJob, CheckProof, CheckSignature}},
		{"request.jobDigest", func(r *receipt.Receipt) { r.Request.JobDigest = new(big.Int).Xor(r.Request.JobDigest, big.NewInt(1)) }, []string{CheckJobID, CheckJob, CheckProof, CheckSignature}},
		{"request.newTokens", func(r *receipt.Receipt) { r.Request.NewTokens++ }, []string{CheckJobID, CheckJob, CheckResult}},
		{"request.classId", func(r *receipt.Receipt) { r.Request.ClassID[31] ^= 1 }, []string{CheckJobID, CheckClass}},
		{"request.seedCommitment", func(r *receipt.Receipt) { r.Request.SeedCommitment[31] ^= 1 }, []string{CheckJobID, CheckSeed}},
		{"job", func(r *receipt.Receipt) { r.Job[len(r.Job)-1] ^= 1 }, []string{CheckJob}},
		{"class.id", func(r *receipt.Receipt) { word(&r.Class.ID) }, []string{CheckClass}},
		{"class.name", func(r *receipt.Receipt) { r.Class.Name = "small" }, []string{CheckClass}},
		{"class.slots", func(r *receipt.Receipt) { r.Class.Slots[2]++ }, []string{CheckClass}},
		{"provider", func(r *receipt.Receipt) { r.Provider[0] ^= 1 }, []string{CheckSeed, CheckSignature}},
		{"nodeKey", func(r *receipt.Receipt) { r.NodeKey[0] ^= 1 }, []string{CheckSignature}},
		{"stake", func(r *receipt.Receipt) { r.Stake = receipt.NewUint(big.NewInt(1)) }, []string{CheckSeed}},
		{"traceRoot", func(r *receipt.Receipt) { word(&r.TraceRoot) }, []string{CheckSeed, CheckProof, CheckSignature}},
		{"attestationDigest", func(r *receipt.Receipt) { word(&r.AttestationDigest) }, []string{CheckSeed, CheckAttestation, CheckSignature}},
		{"seed.blockHash", func(r *receipt.Receipt) { word(&r.Seed.BlockHash) }, []string{CheckSeed}},
		{"seed.secret", func(r *receipt.Receipt) { word(&r.Seed.Secret) }, []string{CheckSeed}},
		{"seed.value", func(r *receipt.Receipt) { word(&r.Seed.Value) }, []string{CheckSeed, CheckProof, CheckSignature}},
		{"result.tokens", func(r *receipt.Receipt) { r.Result.Tokens[0] ^= 1 }, []string{CheckResult}},
		{"result.digest", func(r *receipt.Receipt) { word(&r.Result.Digest) }, []string{CheckResult, CheckProof, CheckSignature}},
		{"proof", func(r *receipt.Receipt) { r.Proof[5] ^= 1 }, []string{CheckProof, CheckSignature}},
		{"proof (other valid point)", func(r *receipt.Receipt) { copy(r.Proof[:64], r.Proof[192:256]) }, []string{CheckProof, CheckSignature}},
		{"detection", func(r *receipt.Receipt) { r.Detection[0].Units++ }, []string{CheckDetection}},
		{"detection.slots", func(r *receipt.Receipt) { r.Detection[0].Slots++ }, []string{CheckDetection}},
		{"attestation", func(r *receipt.Receipt) {
			r.Attestation = []byte(`{"version":"probity.attestation.v0","mode":"nvml"}`)
		}, []string{CheckAttestation}},
		{"signature", func(r *receipt.Receipt) { r.Signature[10] ^= 1 }, []string{CheckSignature}},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			rc, err := receipt.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			c.edit(rc)
			doc, err := rc.MarshalIndent()
			if err != nil {
				t.Fatal(err)
			}
			r, err := AuditJSON(context.Background(), doc, p, Options{Model: m})
			if err != nil {
				t.Fatal(err)
			}
			if s := r.Check(CheckSchema); s.Status != Pass {
				t.Fatalf("tampered document does not parse: %v", s.Err)
			}
			for _, name := range c.checks {
				got := r.Check(name)
				if got == nil || got.Status != Fail {
					t.Errorf("check %s: %+v, want a failure", name, got)
					continue
				}
				// Each cause is said once: no "receipt signature invalid: receipt signature invalid".
				parts := strings.Split(got.Err.Error(), ": ")
				for i := 1; i < len(parts); i++ {
					if parts[i] == parts[i-1] {
						t.Errorf("check %s: doubled %q in %q", name, parts[i], got.Err)
					}
				}
			}
		})
	}
	// Unsigned, advisory: timings change nothing.
	rc, _ := receipt.Parse(b)
	rc.Timings.ProveMs += 1000
	doc, _ := rc.MarshalIndent()
	if r, err := AuditJSON(context.Background(), doc, p, Options{Model: m}); err != nil || !r.OK() {
		t.Fatalf("timings changed the verdict: %v %v", err, r.Err())
	}
}

func TestMalformedIsSchemaFailure(t *testing.T) {
	b, p, _ := vector(t)
	r, err := AuditJSON(context.Background(), append(b, '{'), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Check(CheckSchema); c == nil || c.Status != Fail || !errors.Is(c.Err, ErrSchema) {
		t.Fatalf("schema: %+v", c)
	}
}

func TestAuditDir(t *testing.T) {
	b, p, m := vector(t)
	dir := t.TempDir()
	rc, _ := receipt.Parse(b)
	rc.Result.Tokens[0] ^= 1
	bad, _ := rc.MarshalIndent()
	// Receipts below the directory count too (a buyer directory's <jobId>/receipts/).
	for name, data := range map[string][]byte{"a.json": b, "job/receipts/b.json": bad, "notes.txt": []byte("x")} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := AuditDir(context.Background(), dir, p, Options{Model: m}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Passed != 1 || s.Failed != 1 || len(s.Reports) != 2 || !s.Reports[0].OK() || s.Reports[1].OK() {
		t.Fatalf("summary %+v", s)
	}
	if got := s.Reports[1].Source; got != filepath.Join(dir, "job", "receipts", "b.json") {
		t.Fatalf("second report's source %q", got)
	}
}
