package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func encode(t testing.TB, rc *Receipt) []byte {
	t.Helper()
	b, err := rc.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	rc := testReceipt(t)
	b := encode(t, rc)
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Encode(r)): %v\n%s", err, b)
	}
	if b2 := encode(t, got); !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the encoding:\n%s\n%s", b, b2)
	}
	if err := got.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	if err := got.CheckSpecHash(); err != nil {
		t.Fatal(err)
	}
	// Chain and job ids are decimal strings, never JSON numbers (they may exceed 2^53).
	if !bytes.Contains(b, []byte(`"chainId": "31337"`)) || !bytes.Contains(b, []byte(`"jobId": "7"`)) {
		t.Fatalf("ids not written as decimal strings:\n%s", b)
	}
	// Whitespace is insignificant: the compact form parses to the same receipt.
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(compact.Bytes()); err != nil {
		t.Fatalf("compact form refused: %v", err)
	}
	// Decode reads the same bytes from a stream.
	if _, err := Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func TestParseRejects(t *testing.T) {
	good := string(encode(t, testReceipt(t)))
	sub := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("fixture lacks %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty", ``, ErrMalformed},
		{"not an object", `[]`, ErrMalformed},
		{"trailing data", good + `{}`, ErrMalformed},
		{"unknown field", sub(`"version"`, `"extra": 1, "version"`), ErrMalformed},
		{"wrong version", sub(`probity.receipt.v0`, `probity.receipt.v1`), ErrVersion},
		{"key case", sub(`"seedBlock"`, `"SeedBlock"`), ErrNonCanonical},
		{"duplicate key", sub(`"seedBlock": 12`, `"seedBlock": 13, "seedBlock": 12`), ErrNonCanonical},
		{"key order", reorder(t, good), ErrNonCanonical},
		{"chainId as number", sub(`"chainId": "31337"`, `"chainId": 31337`), ErrMalformed},
		{"chainId leading zero", sub(`"chainId": "31337"`, `"chainId": "031337"`), ErrMalformed},
		{"chainId zero", sub(`"chainId": "31337"`, `"chainId": "0"`), ErrMalformed},
		{"jobId null", sub(`"jobId": "7"`, `"jobId": null`), ErrMalformed},
		{"address mixed case", sub(`0x5fbdb2315678afecb367f032d93f642f64180aa3`, `0x5FbDB2315678afecb367f032d93F642f64180aa3`), ErrNonCanonical},
		{"upper-case hex", strings.Replace(good, `"seed": "0x`, `"seed": "0X`, 1), ErrMalformed},
		{"short word", sub(`"attestationDigest": "0x`, `"attestationDigest": "0x00`), ErrMalformed},
		{"seedBlock negative", sub(`"seedBlock": 12`, `"seedBlock": -1`), ErrMalformed},
		{"seedBlock float", sub(`"seedBlock": 12`, `"seedBlock": 12.0`), ErrMalformed},
		{"k zero", sub(`"k": 2`, `"k": 0`), ErrMalformed},
		{"k too big", sub(`"k": 2`, `"k": 65536`), ErrMalformed},
		{"detection above 10000", sub(`"probabilityBps": 1900`, `"probabilityBps": 10001`), ErrMalformed},
		{"attestation not object", replaceAttestation(t, good, `"none"`), ErrMalformed},
		{"attestation null", replaceAttestation(t, good, `null`), ErrMalformed},
		{"signature short", sub(`"signature": "0x`, `"signature": "0x00`), ErrMalformed},
		{"no layers", replaceJSON(t, good, func(m map[string]any) { m["job"].(map[string]any)["layers"] = []any{} }), ErrMalformed},
		{"roots count", replaceJSON(t, good, func(m map[string]any) { m["outputRoots"] = m["outputRoots"].([]any)[:1] }), ErrMalformed},
		{"proof layer index", replaceJSON(t, good, func(m map[string]any) { m["proofs"].([]any)[1].(map[string]any)["layer"] = 0 }), ErrMalformed},
		{"root not a field element", replaceJSON(t, good, func(m map[string]any) {
			m["outputRoots"].([]any)[0] = "0x" + strings.Repeat("ff", 32)
		}), ErrMalformed},
		{"bad epilogue", replaceJSON(t, good, func(m map[string]any) {
			m["job"].(map[string]any)["layers"].([]any)[0].(map[string]any)["epilogue"] = "0x" + strings.Repeat("00", 32)
		}), ErrMalformed},
		{"too large", `{"version":"` + strings.Repeat("x", MaxSize) + `"}`, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.in)
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %q is not %v", err, c.want)
			}
		})
	}
}

// reorder swaps the first two top-level keys, leaving the content equal.
func reorder(t *testing.T, good string) string {
	t.Helper()
	i := strings.Index(good, `"version"`)
	j := strings.Index(good, `"chainId"`)
	k := strings.Index(good, `"contract"`)
	return good[:i] + good[j:k] + good[i:j] + good[k:]
}

func replaceAttestation(t *testing.T, good, with string) string {
	t.Helper()
	i := strings.Index(good, `"attestation": `) + len(`"attestation": `)
	j := strings.Index(good, `,
  "timings"`)
	return good[:i] + with + good[j:]
}

// replaceJSON edits the receipt through a generic map. The re-encoding sorts keys, so the
// result would also fail the canonical check; the cases using it expect the earlier,
// more specific field error (Validate runs before the canonical comparison).
func replaceJSON(t *testing.T, good string, edit func(map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(good), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignature(t *testing.T) {
	rc := testReceipt(t)
	if got, err := rc.Signer(); err != nil || got != crypto.PubkeyToAddress(testKey(t).PublicKey) {
		t.Fatalf("Signer = %s, %v", got, err)
	}

	t.Run("other key", func(t *testing.T) {
		rc := testReceipt(t)
		other, _ := crypto.GenerateKey()
		nodeKey := rc.NodeKey
		if err := rc.Sign(other); err != nil {
			t.Fatal(err)
		}
		rc.NodeKey = nodeKey
		if err := rc.VerifySignature(); !errors.Is(err, ErrSignature) {
			t.Fatalf("foreign signature: %v", err)
		}
	})
	t.Run("high s", func(t *testing.T) {
		rc := testReceipt(t)
		n := crypto.S256().Params().N
		s := new(big.Int).SetBytes(rc.Signature[32:64])
		new(big.Int).Sub(n, s).FillBytes(rc.Signature[32:64])
		rc.Signature[64] ^= 1 // 27 <-> 28: the malleated twin of a valid signature
		if _, err := rc.Signer(); !errors.Is(err, ErrSignature) {
			t.Fatalf("high-s twin accepted: %v", err)
		}
	})
	t.Run("bad v", func(t *testing.T) {
		rc := testReceipt(t)
		rc.Signature[64] = 1
		if _, err := rc.Signer(); !errors.Is(err, ErrSignature) {
			t.Fatalf("v=1 accepted: %v", err)
		}
	})
	t.Run("short", func(t *testing.T) {
		rc := testReceipt(t)
		rc.Signature = rc.Signature[:64]
		if _, err := rc.Signer(); !errors.Is(err, ErrSignature) {
			t.Fatalf("64-byte signature accepted: %v", err)
		}
	})
	// Every signed field moves the digest; timings and detection are not signed.
	t.Run("signed fields", func(t *testing.T) {
		edits := map[string]func(*Receipt){
			"chainId":           func(r *Receipt) { r.ChainID = NewUint(big.NewInt(1)) },
			"contract":          func(r *Receipt) { r.Contract[0] ^= 1 },
			"jobId":             func(r *Receipt) { r.JobID = NewUint(big.NewInt(8)) },
			"provider":          func(r *Receipt) { r.Provider[19] ^= 1 },
			"specHash":          func(r *Receipt) { r.SpecHash[31] ^= 1 },
			"outputRoots":       func(r *Receipt) { r.OutputRoots[1][31] ^= 1 },
			"attestationDigest": func(r *Receipt) { r.AttestationDigest[0] ^= 1 },
			"seed":              func(r *Receipt) { r.Seed[31] ^= 1 },
			"k":                 func(r *Receipt) { r.K++ },
			"proofs":            func(r *Receipt) { r.Proofs[1].Proof[255] ^= 1 },
		}
		for name, edit := range edits {
			rc := testReceipt(t)
			edit(rc)
			if err := rc.VerifySignature(); !errors.Is(err, ErrSignature) {
				t.Errorf("%s: tampered receipt still verifies (%v)", name, err)
			}
		}
		rc := testReceipt(t)
		rc.Timings.ProveMs++
		if err := rc.VerifySignature(); err != nil {
			t.Errorf("timings are advisory and unsigned, yet: %v", err)
		}
	})
}

func TestSpecHash(t *testing.T) {
	rc := testReceipt(t)
	if err := rc.CheckSpecHash(); err != nil {
		t.Fatal(err)
	}
	rc.Job.Rows++
	if err := rc.CheckSpecHash(); !errors.Is(err, ErrSpecHash) {
		t.Fatalf("changed rows: %v", err)
	}
}

func TestExpectedPublicInputs(t *testing.T) {
	rc := testReceipt(t)
	pi, err := rc.ExpectedPublicInputs(1)
	if err != nil {
		t.Fatal(err)
	}
	// Layer 1 reads layer 0's output: the chaining the contract enforces.
	if pi[0] != rc.OutputRoots[0] || pi[2] != rc.OutputRoots[1] || pi[1] != rc.Job.Layers[1].WeightsRoot {
		t.Fatalf("layer 1 inputs not chained: %v", pi)
	}
	pi0, _ := rc.ExpectedPublicInputs(0)
	if pi0[0] != rc.Job.InputRoot || pi0[3] == pi[3] {
		t.Fatalf("layer 0 inputs wrong or seeds equal: %v", pi0)
	}
	if _, err := rc.ExpectedPublicInputs(2); err == nil {
		t.Fatal("layer 2 of a 2-layer job accepted")
	}
}
