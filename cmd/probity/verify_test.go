package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier/verifiertest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyAndInspect(t *testing.T) {
	dir := t.TempDir()
	f, err := verifiertest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	vk := filepath.Join(dir, "tiny.vk")
	fh, err := os.Create(vk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Keys.VK.WriteTo(fh); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	good := filepath.Join(dir, "receipts", "good.json")
	_ = os.MkdirAll(filepath.Dir(good), 0o755)
	if err := os.WriteFile(good, f.Receipt, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, _ := receipt.Parse(f.Receipt)
	rc.Proofs[0].Proof[77] ^= 1
	badDoc, _ := rc.MarshalIndent()
	bad := filepath.Join(dir, "receipts", "bad.json")
	if err := os.WriteFile(bad, badDoc, 0o644); err != nil {
		t.Fatal(err)
	}
	unsafe := []string{"verify", "--unsafe-accept-all", "--vk", vk}

	code, out, errs := runCLI(t, append(unsafe, "--tensors", f.TensorDir, good)...)
	if code != exitOK || !strings.Contains(out, "✓ proofs") || !strings.Contains(out, "✓ tensors") {
		t.Fatalf("good receipt: exit %d\n%s%s", code, out, errs)
	}
	// What `probity exec` writes into a job directory is what `verify --tensors` reads: the
	// executor's outputs replace the fixture's and only the samples are recomputed.
	if err := os.RemoveAll(filepath.Join(f.TensorDir, "out")); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "exec", "--input", filepath.Join(f.TensorDir, "input.safetensors"),
		"--model", filepath.Join(f.TensorDir, "model.safetensors"), "--out", filepath.Join(f.TensorDir, "out")); code != exitOK {
		t.Fatalf("exec: exit %d: %s", code, errs)
	}
	code, out, errs = runCLI(t, append(unsafe, "--tensors", f.TensorDir, good)...)
	if code != exitOK || !strings.Contains(out, "✓ tensors") || !strings.Contains(out, "sampled elements recomputed") {
		t.Fatalf("exec outputs: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, append(unsafe, "--json", good)...)
	var rep struct {
		OK bool `json:"ok"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, append(unsafe, bad)...)
	if code != exitFailed || !strings.Contains(out, "✗ proofs") {
		t.Fatalf("bad receipt: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, append(unsafe, filepath.Dir(good))...)
	if code != exitFailed || !strings.Contains(out, "1 passed, 1 failed") {
		t.Fatalf("directory: exit %d\n%s", code, out)
	}
	// The default policy wants GPU evidence and a verified record: this receipt has neither.
	code, out, _ = runCLI(t, "verify", "--vk", vk, good)
	if code != exitFailed || !strings.Contains(out, "✗ attestation") {
		t.Fatalf("default policy: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "verify", "--vk", vk, "--chain-id", "1", "--allow-no-attestation", good)
	if code != exitFailed || !strings.Contains(out, "✗ replay") {
		t.Fatalf("other chain: exit %d\n%s", code, out)
	}
	// The default policy with GPU evidence waived accepts it; RIM files are parsed up front.
	code, out, _ = runCLI(t, "verify", "--vk", vk, "--allow-no-attestation", "--rim", "../../testdata/nvidia/rims/Driver_RIM_test_no_gpu.swidtag", good)
	if code != exitOK || !strings.Contains(out, "✓ attestation") {
		t.Fatalf("no attestation allowed: exit %d\n%s", code, out)
	}
	// Switch RIMs are parsed up front too; a receipt without switches and no --topology is unaffected.
	code, out, _ = runCLI(t, "verify", "--vk", vk, "--allow-no-attestation",
		"--switch-rim", "../../testdata/nvidia/switch/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml", good)
	if code != exitOK || !strings.Contains(out, "✓ attestation") {
		t.Fatalf("switch RIM given: exit %d\n%s", code, out)
	}
	// --topology requires a multi-GPU CC record: a receipt attesting no GPU fails it.
	code, out, _ = runCLI(t, "verify", "--vk", vk, "--allow-no-attestation", "--topology", "8x4", good)
	if code != exitFailed || !strings.Contains(out, "✗ attestation") {
		t.Fatalf("--topology on a receipt without a system: exit %d\n%s", code, out)
	}
	notRIM := filepath.Join(dir, "not-a-rim.xml")
	_ = os.WriteFile(notRIM, []byte("<html/>"), 0o644)
	if code, _, errs = runCLI(t, "verify", "--vk", vk, "--rim", notRIM, good); code != exitInternal || !strings.Contains(errs, "not-a-rim.xml") {
		t.Fatalf("bad RIM: exit %d\n%s", code, errs)
	}
	for _, args := range [][]string{
		{"verify"},
		{"verify", "--min-k", "x", good},
		{"verify", "--chain-id", "-5", good},
		{"verify", "--contract", "0x12", good},
		{"verify", "--rpc", "http://127.0.0.1:1", good},
		{"verify", "--unsafe-accept-all", "--policy", "p.json", good},
		{"verify", "--topology", "8", good},
		{"verify", "--topology", "8x0", good},
		{"verify", "--topology", "08x4", good},
	} {
		if code, _, errs := runCLI(t, args...); code != exitUsage || !strings.Contains(errs, "probity: error:") {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errs)
		}
	}
	// An RPC that does not answer means the audit could not run: exit 3, not a failed receipt.
	dep := filepath.Join(dir, "deployment.json")
	if err := writeJSONFile(dep, chain.Addresses{Token: f.Contract, Providers: f.Contract, Shapes: f.Contract, Manager: f.Contract}); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, append(unsafe, "--rpc", "http://127.0.0.1:1", "--deployment", dep, good)...); code != exitInternal ||
		!strings.Contains(errs, "RPC http://127.0.0.1:1") {
		t.Errorf("unreachable RPC: exit %d, want %d\n%s%s", code, exitInternal, out, errs)
	}
	if code, _, _ := runCLI(t, append(unsafe, filepath.Join(dir, "missing.json"))...); code != exitInternal {
		t.Errorf("missing file: exit %d, want %d", code, exitInternal)
	}
	if code, _, _ := runCLI(t, "verify", "--vk", filepath.Join(dir, "missing.vk"), "--unsafe-accept-all", good); code != exitFailed {
		t.Errorf("missing key file: exit %d, want %d (the proofs check fails)", code, exitFailed)
	}

	code, out, errs = runCLI(t, "inspect", good)
	if code != exitOK || !strings.Contains(out, "tiny(K=16, N=4, D=3, k=2)") || !strings.Contains(out, "signature: valid") {
		t.Fatalf("inspect: exit %d\n%s%s", code, out, errs)
	}
	rec := filepath.Join(dir, "record.json")
	_ = os.WriteFile(rec, []byte(`{"version":"probity.attestation.v0","mode":"none"}`), 0o644)
	if code, out, _ = runCLI(t, "inspect", rec); code != exitOK || !strings.Contains(out, `"mode": "none"`) {
		t.Fatalf("inspect record: exit %d\n%s", code, out)
	}
	damaged := filepath.Join(dir, "damaged.json")
	_ = os.WriteFile(damaged, []byte(`{"version":"probity.receipt.v0","jobId":"x"}`), 0o644)
	if code, _, errs := runCLI(t, "inspect", damaged); code != exitInternal || !strings.Contains(errs, damaged+": malformed receipt") {
		t.Fatalf("inspect damaged receipt: exit %d\n%s", code, errs)
	}
	if code, _, _ = runCLI(t, "inspect"); code != exitUsage {
		t.Fatalf("inspect without file: exit %d", code)
	}
}
