package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/receipt/receipttest"
	"github.com/probitylabs/probity/verifier"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

var v1Vectors = filepath.Join("..", "..", "testdata", "vectors")

func v1Vector(name string) string { return filepath.Join(v1Vectors, name) }

// offlinePolicy writes the vector's policy with edit applied (its key file made absolute) and
// returns its path: the vector's chain is gone, so its audits are offline.
func offlinePolicy(t *testing.T, edit func(doc map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(v1Vector("receipt-v1.policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	vk, err := filepath.Abs(v1Vector("receipt-v1.vk.bin"))
	if err != nil {
		t.Fatal(err)
	}
	doc["classes"].([]any)[0].(map[string]any)["vk"] = vk
	edit(doc)
	out, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyUnconfirmed: offline, under a policy that does not allow unconfirmed receipts
// (the vector's, as filed), the vector passes every check but the chain's and the CLI says
// UNCONFIRMED and exits 1; a class whose key nothing pins fails its proof check instead of
// reading the local key cache.
func TestVerifyUnconfirmed(t *testing.T) {
	mdl, good := v1Vector("receipt-v1.model.safetensors"), v1Vector("receipt-v1.json")
	code, out, errs := runCLI(t, "verify", "--policy", v1Vector("receipt-v1.policy.json"), "--model", mdl, good)
	if code != exitFailed || !strings.Contains(out, "✗ on-chain") || !strings.Contains(out, "UNCONFIRMED") || !strings.Contains(errs, "unconfirmed") || !strings.Contains(out, "✓ proof") {
		t.Fatalf("offline, not allowed: exit %d\n%s%s", code, out, errs)
	}
	unpinned := offlinePolicy(t, func(doc map[string]any) {
		doc["allowUnconfirmed"] = true
		delete(doc["classes"].([]any)[0].(map[string]any), "vk")
	})
	code, out, errs = runCLI(t, "verify", "--policy", unpinned, "--model", mdl, good)
	if code != exitFailed || !strings.Contains(out, "✗ proof") || !strings.Contains(out, "pins no key") {
		t.Fatalf("unpinned key offline: exit %d\n%s%s", code, out, errs)
	}
}

// TestVerify audits the committed v1 receipt vector through the CLI under its policy with
// unconfirmed receipts allowed: it passes with the model, fails without it (the policy's
// detection minimum), fails tampered, and a directory reports each file; v0-only flags and
// missing arguments are usage errors.
func TestVerify(t *testing.T) {
	policy := offlinePolicy(t, func(doc map[string]any) { doc["allowUnconfirmed"] = true })
	mdl, good := v1Vector("receipt-v1.model.safetensors"), v1Vector("receipt-v1.json")
	code, out, errs := runCLI(t, "verify", "--policy", policy, "--model", mdl, good)
	if code != exitOK {
		t.Fatalf("vector: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"✓ job-id", "✓ job ", "✓ class", "✓ seed", "✓ result", "✓ proof", "✓ detection", "✓ attestation", "✓ signature", "- on-chain", "PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, "verify", "--policy", policy, good)
	if code != exitFailed || !strings.Contains(out, "✗ detection") || !strings.Contains(out, "needs the model") {
		t.Fatalf("without the model: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, "verify", "--policy", policy, "--model", mdl, "--json", good)
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct{ Name, Status string }
	}
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || len(rep.Checks) != len(verifier.Checks) {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}

	dir := t.TempDir()
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	rc.Result.Tokens[0] ^= 1
	bad, _ := rc.MarshalIndent()
	for name, data := range map[string][]byte{"a.json": b, "b.json": bad} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ = runCLI(t, "verify", "--policy", policy, "--model", mdl, filepath.Join(dir, "b.json"))
	if code != exitFailed || !strings.Contains(out, "✗ result") {
		t.Fatalf("tampered tokens: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "verify", "--policy", policy, "--model", mdl, dir)
	if code != exitFailed || !strings.Contains(out, "1 passed, 1 failed") {
		t.Fatalf("directory: exit %d\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "b.json")); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "verify", "--policy", policy, "--model", mdl, dir); code != exitOK || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("good directory: exit %d\n%s%s", code, out, errs)
	}

	// The default policy refuses mode "none"; the chain-id flag overrides the policy's.
	if code, out, _ := runCLI(t, "verify", "--vk", v1Vector("receipt-v1.vk.bin"), good); code != exitFailed || !strings.Contains(out, "✗ class") {
		t.Fatalf("default policy (catalogue classes only): exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "verify", "--policy", policy, "--model", mdl, "--chain-id", "1", good); code != exitFailed || !strings.Contains(out, "✗ replay") {
		t.Fatalf("--chain-id 1: exit %d\n%s", code, out)
	}

	for _, args := range [][]string{
		{},
		{"--policy", policy, "--min-k", "2", good},
		{"--policy", policy, "--contract", "0x12", good},
		{"--policy", policy, "--rpc", "http://127.0.0.1:1", good},
		{"--policy", policy, "--unsafe-accept-all", good},
		{"--policy", policy, "--chain-id", "x", good},
	} {
		if code, out, errs := runCLI(t, append([]string{"verify"}, args...)...); code != exitUsage {
			t.Errorf("verify %v: exit %d, want %d\n%s%s", args, code, exitUsage, out, errs)
		}
	}
	// A document of another version (v0 receipts are no longer read) fails its schema check,
	// naming the version.
	v0 := filepath.Join(t.TempDir(), "v0.json")
	if err := os.WriteFile(v0, []byte(`{"version":"probity.receipt.v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "verify", "--policy", policy, v0); code == exitOK || !strings.Contains(out+errs, "probity.receipt.v0") {
		t.Fatalf("v0 receipt: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runCLI(t, "verify", "--policy", policy, filepath.Join(dir, "missing.json")); code != exitInternal {
		t.Errorf("missing file: exit %d, want %d", code, exitInternal)
	}
	// RIM files are parsed up front: a file that is none is refused before any audit.
	notRIM := filepath.Join(dir, "not-a-rim.xml")
	_ = os.WriteFile(notRIM, []byte("<html/>"), 0o644)
	if code, _, errs := runCLI(t, "verify", "--policy", policy, "--rim", notRIM, good); code != exitInternal || !strings.Contains(errs, "not-a-rim.xml") {
		t.Fatalf("bad RIM: exit %d\n%s", code, errs)
	}
	// --topology requires a multi-GPU CC record: a receipt attesting no GPU fails it.
	if code, out, _ := runCLI(t, "verify", "--policy", policy, "--model", mdl, "--topology", "8x4", good); code != exitFailed || !strings.Contains(out, "✗ attestation") {
		t.Fatalf("--topology on a receipt without a system: exit %d\n%s", code, out)
	}
	// --allow-chip and --allow-board need signed evidence: a receipt attesting no GPU fails.
	for _, flag := range []string{"--allow-chip=GH100", "--allow-board=1010_0200_882"} {
		if code, out, _ := runCLI(t, "verify", "--policy", policy, "--model", mdl, flag, good); code != exitFailed || !strings.Contains(out, "✗ attestation") {
			t.Errorf("%s on a receipt without CC evidence: exit %d\n%s", flag, code, out)
		}
	}
	for _, topo := range []string{"8", "8x0", "08x4"} {
		if code, _, errs := runCLI(t, "verify", "--policy", policy, "--topology", topo, good); code != exitUsage || !strings.Contains(errs, "--topology") {
			t.Errorf("--topology %s: exit %d, want %d\n%s", topo, code, exitUsage, errs)
		}
	}
	if code, _, errs := runCLI(t, "verify", "--policy", filepath.Join(dir, "none.json"), good); code != exitInternal {
		t.Fatalf("missing policy file: exit %d\n%s", code, errs)
	}
	dep := filepath.Join(t.TempDir(), "deployment.json")
	if err := os.WriteFile(dep, []byte(`{"token":"0x01"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "verify", "--policy", policy, "--rpc", "http://127.0.0.1:1", "--deployment", dep, good); code != exitInternal {
		t.Fatalf("bad deployment: exit %d\n%s", code, errs)
	}
	// An RPC that does not answer means the audit could not run: exit 3, not a failed receipt.
	addrs, _ := json.Marshal(map[string]string{"token": "0x0000000000000000000000000000000000000001", "providers": "0x0000000000000000000000000000000000000002",
		"classes": "0x0000000000000000000000000000000000000003", "hasher": "0x0000000000000000000000000000000000000004", "manager": "0x0000000000000000000000000000000000000005"})
	if err := os.WriteFile(dep, addrs, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runCLI(t, "verify", "--policy", policy, "--rpc", "http://127.0.0.1:1", "--deployment", dep, good); code != exitInternal || !strings.Contains(errs, "RPC http://127.0.0.1:1") {
		t.Errorf("unreachable RPC: exit %d, want %d\n%s%s", code, exitInternal, out, errs)
	}
}

// TestVerifyOnChain: `verify --rpc --deployment` cross-checks a receipt of a job settled on
// the simulated chain (dialChain is pointed at it, as an RPC would be) and refuses the
// vector, which that chain never saw. Without a key in the policy the class's key is read
// from the verifier the chain registered.
func TestVerifyOnChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	keys, err := universal.Setup(universaltest.Class())
	if err != nil {
		t.Fatal(err)
	}
	c, err := receipttest.NewChain(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Sim.Close()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	job, err := receipttest.Run(keys, m, []int32{5}, 4)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Settle(ctx, job, 9, true)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "receipt.json")
	b, _ := rc.MarshalIndent()
	if err := os.WriteFile(good, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cl := universaltest.Class()
	slots, _ := json.Marshal(cl.Slots[1:])
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"allowNoAttestation": true, "classes": [{"name": "test", "elems": 2, "rowDepth": 4, "opDepth": 5, "paramDepth": 5, "slots": `+string(slots)+`}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	dep := filepath.Join(dir, "deployment.json")
	addrs, _ := json.Marshal(c.Addresses)
	if err := os.WriteFile(dep, addrs, 0o644); err != nil {
		t.Fatal(err)
	}
	saved := dialChain
	defer func() { dialChain = saved }()
	dialChain = func(_ context.Context, url, file string) (verifier.Chain, *chain.Market, error) {
		if url != "sim" || file != dep {
			t.Errorf("dialled %s with %s", url, file)
		}
		return verifier.MarketChain{Market: c.Buyer, Headers: c.Sim.Client()}, c.Buyer, nil
	}
	code, out, errs := runCLI(t, "verify", "--policy", policy, "--rpc", "sim", "--deployment", dep, good)
	if code != exitOK || !strings.Contains(out, "✓ on-chain") || !strings.Contains(out, "✓ proof") {
		t.Fatalf("settled receipt against its chain: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "verify", "--policy", v1Vector("receipt-v1.policy.json"), "--rpc", "sim", "--deployment", dep, v1Vector("receipt-v1.json"))
	if code != exitFailed || !strings.Contains(out, "✗ on-chain") {
		t.Fatalf("vector against another chain: exit %d\n%s", code, out)
	}
}
