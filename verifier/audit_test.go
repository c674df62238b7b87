package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
	. "github.com/probitylabs/probity/verifier"
)

var ctx = context.Background()

func mustAudit(t *testing.T, rc *receipt.Receipt, p Policy, o Options) *Report {
	t.Helper()
	r, err := Audit(ctx, rc, p, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoodReceiptPasses(t *testing.T) {
	f := getFixture(t)
	o := f.opts()
	o.Tensors = f.Tensors
	r := mustAudit(t, f.rc(t), f.policy(), o)
	if !r.OK() {
		t.Fatalf("good receipt failed: %v", r.Err())
	}
	for _, name := range []string{CheckSchema, CheckReplay, CheckSignature, CheckSpecHash, CheckSeed,
		CheckPublicInputs, CheckProofs, CheckDetection, CheckAttestation, CheckTensors} {
		if c := r.Check(name); c == nil || c.Status != Pass {
			t.Errorf("check %s: %+v, want pass", name, c)
		}
	}
	if c := r.Check(CheckOnChain); c == nil || c.Status != Skip {
		t.Errorf("on-chain check without an RPC: %+v, want skip", c)
	}
	// The report serialises for machines with the verdict on top.
	b, err := json.Marshal(r)
	if err != nil || !bytes.Contains(b, []byte(`"ok":true`)) {
		t.Fatalf("report JSON: %s, %v", b, err)
	}
}

func TestZeroPolicyRefused(t *testing.T) {
	f := getFixture(t)
	if _, err := Audit(ctx, f.rc(t), Policy{}, f.opts()); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("zero policy: %v", err)
	}
	if _, err := AuditJSON(ctx, f.Receipt, Policy{}, f.opts()); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("zero policy: %v", err)
	}
	if _, err := ReadPolicy(bytes.NewReader([]byte(`{}`))); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("empty policy file: %v", err)
	}
	if _, err := ReadPolicy(bytes.NewReader([]byte(`{"minK": 4, "requireTEE": true}`))); err == nil {
		t.Fatal("misspelt policy field accepted")
	}
	p, err := ReadPolicy(bytes.NewReader([]byte(`{"minK": 4, "expectedChainId": 31337, "allowedGpuModels": ["NVIDIA H100"]}`)))
	if err != nil || p.MinK != 4 || p.ExpectedChainID.Int64() != 31337 || len(p.AllowedGPUModels) != 1 {
		t.Fatalf("policy file: %+v, %v", p, err)
	}
	// The unsafe policy runs; the attestation record is still bound (digest, nonce).
	r := mustAudit(t, f.rc(t), PolicyUnsafeAcceptAll(), f.opts())
	if !r.OK() || r.Check(CheckAttestation).Status != Pass {
		t.Fatalf("unsafe policy: %v %+v", r.Err(), r.Check(CheckAttestation))
	}
}

// TestTamperedFields changes one field at a time. Re-signed by the node key, each must fail
// with the check that owns the field; not re-signed, each signed field must also fail the
// signature.
func TestTamperedFields(t *testing.T) {
	f := getFixture(t)
	flip := func(w *receipt.Word) { w[31] ^= 1 }
	cases := []struct {
		name   string
		edit   func(*receipt.Receipt)
		want   error
		signed bool // covered by the EIP-712 signature
	}{
		{"chainId", func(r *receipt.Receipt) { r.ChainID = receipt.NewUint(big.NewInt(1)) }, ErrReplay, true},
		{"contract", func(r *receipt.Receipt) { r.Contract[0] ^= 1 }, ErrReplay, true},
		{"specHash", func(r *receipt.Receipt) { flip(&r.SpecHash) }, ErrSpecHash, true},
		{"job.inputRoot", func(r *receipt.Receipt) { flip(&r.Job.InputRoot) }, ErrSpecHash, false},
		{"job.rows", func(r *receipt.Receipt) { r.Job.Rows++ }, ErrSpecHash, false},
		{"job.layers.weightsRoot", func(r *receipt.Receipt) { flip(&r.Job.Layers[0].WeightsRoot) }, ErrSpecHash, false},
		{"job.layers.epilogue", func(r *receipt.Receipt) { r.Job.Layers[0].Epilogue[28] ^= 1 }, ErrSpecHash, false},
		{"outputRoots", func(r *receipt.Receipt) { flip(&r.OutputRoots[0]) }, ErrPublicInputs, true},
		{"attestationDigest", func(r *receipt.Receipt) { flip(&r.AttestationDigest) }, ErrAttestation, true},
		{"seed", func(r *receipt.Receipt) { flip(&r.Seed) }, ErrSeed, true},
		{"k", func(r *receipt.Receipt) { r.K = 3 }, ErrDetection, true},
		{"detection.probabilityBps", func(r *receipt.Receipt) { r.Detection.ProbabilityBps++ }, ErrDetection, false},
		{"detection.floorBps", func(r *receipt.Receipt) { r.Detection.FloorBps++ }, ErrDetection, false},
		{"proofs.proof", func(r *receipt.Receipt) { r.Proofs[0].Proof[200] ^= 1 }, ErrProof, true},
		{"proofs.publicInputs.inputRoot", func(r *receipt.Receipt) { flip(&r.Proofs[0].PublicInputs[0]) }, ErrPublicInputs, false},
		{"proofs.publicInputs.seed_l", func(r *receipt.Receipt) { flip(&r.Proofs[0].PublicInputs[3]) }, ErrSeed, false},
		{"proofs.publicInputs.epilogue", func(r *receipt.Receipt) { r.Proofs[0].PublicInputs[4][28] ^= 1 }, ErrPublicInputs, false},
		{"attestation", func(r *receipt.Receipt) {
			r.Attestation = json.RawMessage(`{"version":"probity.attestation.v0","mode":"nvml"}`)
		}, ErrAttestation, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := f.rc(t)
			c.edit(rc)
			if err := rc.Sign(f.NodeKey); err != nil {
				t.Fatal(err)
			}
			r := mustAudit(t, rc, f.policy(), f.opts())
			if !errors.Is(r.Err(), c.want) {
				t.Fatalf("re-signed: got %v, want %v", r.Err(), c.want)
			}
			if r.Check(CheckSignature).Status != Pass {
				t.Fatalf("re-signed receipt fails its signature: %v", r.Check(CheckSignature).Err)
			}
			if !c.signed {
				return
			}
			rc = f.rc(t)
			c.edit(rc)
			r = mustAudit(t, rc, f.policy(), f.opts())
			if !errors.Is(r.Err(), ErrSignature) || !errors.Is(r.Err(), c.want) {
				t.Fatalf("not re-signed: got %v, want %v and %v", r.Err(), ErrSignature, c.want)
			}
		})
	}
}

func TestWrongSignature(t *testing.T) {
	f := getFixture(t)
	other, _ := crypto.GenerateKey()
	rc := f.rc(t)
	nodeKey := rc.NodeKey
	if err := rc.Sign(other); err != nil {
		t.Fatal(err)
	}
	rc.NodeKey = nodeKey // claims the real node key, signed by another
	if r := mustAudit(t, rc, f.policy(), f.opts()); !errors.Is(r.Err(), ErrSignature) {
		t.Fatalf("foreign signature: %v", r.Err())
	}
	rc = f.rc(t)
	rc.Signature[10] ^= 1
	if r := mustAudit(t, rc, f.policy(), f.opts()); !errors.Is(r.Err(), ErrSignature) {
		t.Fatalf("flipped signature byte: %v", r.Err())
	}
}

func TestReplayRefused(t *testing.T) {
	f := getFixture(t)
	p := f.policy()
	p.ExpectedChainID = big.NewInt(1)
	if r := mustAudit(t, f.rc(t), p, f.opts()); !errors.Is(r.Err(), ErrReplay) {
		t.Fatalf("receipt from chain 31337 under a chain-1 policy: %v", r.Err())
	}
	p = f.policy()
	other := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	p.ExpectedContract = &other
	if r := mustAudit(t, f.rc(t), p, f.opts()); !errors.Is(r.Err(), ErrReplay) {
		t.Fatalf("receipt for another contract: %v", r.Err())
	}
}

func TestPolicy(t *testing.T) {
	f := getFixture(t)
	cases := []struct {
		name string
		edit func(*Policy)
	}{
		{"min k", func(p *Policy) { p.MinK = 8 }},
		{"min detection", func(p *Policy) { p.MinDetectionBps = 5000 }},
		{"floor", func(p *Policy) { p.ExpectedFloorBps = 500 }},
		{"no attestation refused", func(p *Policy) { p.AllowNoAttestation = false }},
		{"require cc", func(p *Policy) { p.RequireCC = true }},
		{"gpu models", func(p *Policy) { p.AllowedGPUModels = []string{"NVIDIA H100 80GB HBM3"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.policy()
			c.edit(&p)
			if r := mustAudit(t, f.rc(t), p, f.opts()); !errors.Is(r.Err(), ErrPolicy) {
				t.Fatalf("got %v, want ErrPolicy", r.Err())
			}
		})
	}
}

func TestNoKeys(t *testing.T) {
	f := getFixture(t)
	o := f.opts()
	o.Keys = nil
	if r := mustAudit(t, f.rc(t), f.policy(), o); !errors.Is(r.Err(), ErrNoKey) {
		t.Fatalf("no keys: %v", r.Err())
	}
	o.Keys = &CacheKeys{Cache: f.Cache}
	o.Keys.(*CacheKeys).Cache.Dir = t.TempDir()
	if r := mustAudit(t, f.rc(t), f.policy(), o); !errors.Is(r.Err(), ErrNoKey) {
		t.Fatalf("empty cache: %v", r.Err())
	}
}

func TestKeyFile(t *testing.T) {
	f := getFixture(t)
	path := filepath.Join(t.TempDir(), "tiny.vk")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Keys.VK.WriteTo(fh); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	o := f.opts()
	o.Keys = &KeyFile{Path: path}
	if r := mustAudit(t, f.rc(t), f.policy(), o); !r.OK() {
		t.Fatalf("key file: %v", r.Err())
	}
	// A key of another circuit (a fresh setup of the same shape) rejects the proof.
	other, err := f.Cache.Regenerate(f.Keys.Shape)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Cache.Store(f.Keys) }()
	o.Keys = &CacheKeys{Cache: f.Cache}
	if r := mustAudit(t, f.rc(t), f.policy(), o); !errors.Is(r.Err(), ErrProof) {
		t.Fatalf("foreign key (%p): %v", other, r.Err())
	}
}

func TestProofEncoding(t *testing.T) {
	f := getFixture(t)
	rc := f.rc(t)
	p, err := DecodeProof(rc.Proofs[0].Proof)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeProof(p), rc.Proofs[0].Proof) {
		t.Fatal("DecodeProof/EncodeProof do not round-trip")
	}
	bad := bytes.Clone(rc.Proofs[0].Proof)
	for i := range 32 {
		bad[i] = 0xff // A.x above the base field modulus
	}
	if _, err := DecodeProof(bad); err == nil {
		t.Fatal("non-canonical coordinate accepted")
	}
	bad = bytes.Clone(rc.Proofs[0].Proof)
	bad[63] ^= 1 // A no longer on the curve
	if _, err := DecodeProof(bad); err == nil {
		t.Fatal("point off the curve accepted")
	}
}

func TestTensors(t *testing.T) {
	f := getFixture(t)
	o := f.opts()
	// With output files only the samples are recomputed.
	tf := *f.Tensors
	tf.Outputs = []string{jobs.Dir(filepath.Dir(tf.Input)).Output(0)}
	o.Tensors = &tf
	if r := mustAudit(t, f.rc(t), f.policy(), o); !r.OK() {
		t.Fatalf("output files: %v", r.Err())
	}
	dirFiles, err := TensorDir(filepath.Dir(tf.Input))
	if err != nil || len(dirFiles.Outputs) != 1 {
		t.Fatalf("TensorDir: %+v, %v", dirFiles, err)
	}
	// A changed output element is caught, by the root (and would be by a sample).
	out, err := jobs.LoadOutput(tf.Outputs[0])
	if err != nil {
		t.Fatal(err)
	}
	out.Data[0] ^= 1
	bad := filepath.Join(t.TempDir(), "out.safetensors")
	if err := jobs.SaveOutput(bad, out); err != nil {
		t.Fatal(err)
	}
	tf.Outputs = []string{bad}
	if r := mustAudit(t, f.rc(t), f.policy(), o); !errors.Is(r.Err(), ErrTensors) {
		t.Fatalf("tampered output: %v", r.Err())
	}
	// Another input file is caught.
	x, _ := tensor.LoadActivations(f.Tensors.Input)
	x.Data[3] ^= 4
	badIn := filepath.Join(t.TempDir(), "in.safetensors")
	if err := tensor.SaveActivations(badIn, x); err != nil {
		t.Fatal(err)
	}
	o.Tensors = &TensorFiles{Input: badIn, Model: f.Tensors.Model}
	if r := mustAudit(t, f.rc(t), f.policy(), o); !errors.Is(r.Err(), ErrTensors) {
		t.Fatalf("tampered input: %v", r.Err())
	}
}

// TestTamperedBytes flips hex digits throughout the encoded receipt: every spelling the
// decoder accepts must then fail some check. Only the advisory timings and seedBlock (which
// only the chain can confirm: the on-chain check compares it) are free offline.
func TestTamperedBytes(t *testing.T) {
	f := getFixture(t)
	doc := f.Receipt
	stride := 1
	if testing.Short() {
		stride = 13
	}
	timings := bytes.Index(doc, []byte(`"timings"`))
	sig := bytes.Index(doc, []byte(`"signature"`))
	seedBlock := bytes.Index(doc, []byte(`"seedBlock"`))
	n := 0
	for i := 0; i < len(doc); i += stride {
		if i > timings && i < sig || i > seedBlock && i < seedBlock+20 {
			continue
		}
		c := doc[i]
		var repl byte
		switch {
		case c >= '0' && c <= '8', c >= 'a' && c <= 'e':
			repl = c + 1
		case c == '9':
			repl = '0'
		case c == 'f':
			repl = 'a'
		default:
			continue
		}
		mut := bytes.Clone(doc)
		mut[i] = repl
		r, err := AuditJSON(ctx, mut, f.policy(), f.opts())
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() {
			t.Fatalf("byte %d %q -> %q: tampered receipt passes\n...%s...", i, c, repl, mut[max(0, i-40):min(len(mut), i+40)])
		}
		n++
	}
	t.Logf("%d tampered documents all rejected", n)
}

func TestAuditDir(t *testing.T) {
	f := getFixture(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), f.Receipt, 0o644); err != nil {
		t.Fatal(err)
	}
	rc := f.rc(t)
	rc.Proofs[0].Proof[100] ^= 1
	bad, _ := rc.MarshalIndent()
	if err := os.WriteFile(filepath.Join(dir, "b.json"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"version":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(`ignored`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := AuditDir(ctx, dir, f.policy(), f.opts(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Passed != 1 || s.Failed != 2 || len(s.Reports) != 3 || s.OK() {
		t.Fatalf("summary: passed %d failed %d of %d", s.Passed, s.Failed, len(s.Reports))
	}
	if !s.Reports[0].OK() || !errors.Is(s.Reports[1].Err(), ErrProof) || !errors.Is(s.Reports[2].Err(), ErrSchema) {
		t.Fatalf("per-file verdicts wrong: %v / %v / %v", s.Reports[0].Err(), s.Reports[1].Err(), s.Reports[2].Err())
	}
	if _, err := AuditDir(ctx, t.TempDir(), f.policy(), f.opts(), 0); err == nil {
		t.Fatal("empty directory accepted")
	}
}

// BenchmarkAudit measures receipts audited per second on one core (run with -cpu 1): schema,
// signature, spec hash, public inputs and one Groth16 verification per receipt.
func BenchmarkAudit(b *testing.B) {
	f := getFixture(b)
	o, p := f.opts(), f.policy()
	b.ReportAllocs()
	for b.Loop() {
		r, err := AuditJSON(ctx, f.Receipt, p, o)
		if err != nil || !r.OK() {
			b.Fatal(err, r.Err())
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// BenchmarkVerifyProof isolates the Groth16 verification of one layer.
func BenchmarkVerifyProof(b *testing.B) {
	f := getFixture(b)
	rc, err := receipt.Parse(f.Receipt)
	if err != nil {
		b.Fatal(err)
	}
	vk, err := (&CacheKeys{Cache: f.Cache}).VerifyingKey(rc.Proofs[0].ShapeID)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := VerifyProof(vk, rc.Proofs[0].Proof, rc.Proofs[0].PublicInputs); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzAuditJSON: no document panics the auditor, and none but the original passes.
func FuzzAuditJSON(fz *testing.F) {
	f := getFixture(fz)
	fz.Add(f.Receipt)
	fz.Add([]byte(`{}`))
	fz.Add(bytes.Replace(f.Receipt, []byte(`"k": 2`), []byte(`"k": 3`), 1))
	fz.Fuzz(func(t *testing.T, doc []byte) {
		r, err := AuditJSON(ctx, doc, f.policy(), f.opts())
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() {
			rc, err := receipt.Parse(doc)
			if err != nil {
				t.Fatalf("passed but does not parse: %v", err)
			}
			orig, _ := receipt.Parse(f.Receipt)
			if rc.Digest() != orig.Digest() {
				t.Fatalf("a different signed receipt passed:\n%s", doc)
			}
		}
	})
}
