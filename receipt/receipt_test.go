package receipt

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/protocol"
)

// testReceipt is a well-formed, signed receipt whose values are arbitrary (no proof): enough
// for the document's own rules. The verifier's tests use the real vector.
func testReceipt(t testing.TB) *Receipt {
	t.Helper()
	req, err := NewRequest(protocol.Request{
		Buyer: common.HexToAddress("0x00000000000000000000000000000000000000b0"), ClassID: crypto.Keccak256Hash([]byte("class")),
		ModelRoot: big.NewInt(11), JobDigest: big.NewInt(22), NewTokens: 3, Price: big.NewInt(1e18),
		LockBy: 1_800_000_000, ExecWindow: 3600, ProveWindow: 3600, Salt: big.NewInt(7),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := protocol.Domain{ChainID: big.NewInt(31337), Contract: common.HexToAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3")}
	slots := make([]int, NumFamilies)
	slots[0], slots[13], slots[14] = 1, 1, 1
	rc := &Receipt{
		Version: Version, ChainID: NewUint(d.ChainID), Manager: d.Contract,
		JobID: NewUint(d.JobID(req.Request)), Request: req, Job: Bytes{1, 2, 3},
		Class:    Class{ID: Word(req.ClassID), Name: "test", Slots: slots},
		Provider: common.HexToAddress("0x00000000000000000000000000000000000a11ce"), Stake: NewUint(big.NewInt(5e18)),
		TraceRoot: MustWord(big.NewInt(33)), AttestationDigest: Word(crypto.Keccak256Hash([]byte("att"))),
		Seed:        Seed{Block: 12, BlockHash: Word(crypto.Keccak256Hash([]byte("b"))), Value: MustWord(big.NewInt(44))},
		Result:      Result{Tokens: []uint32{1, 2, 3}, Digest: MustWord(big.NewInt(55))},
		Proof:       make(Bytes, ProofSize),
		Detection:   []Bound{{Family: "select", Slots: 1, Units: 3, Elements: 1, Instance: 1.0 / 3, Element: 1.0 / 3}},
		Attestation: []byte(`{"version":"probity.attestation.v0","mode":"none"}`),
		Timings:     Timings{ExecuteMs: 1, CommitMs: 2, ProveMs: 3, SubmitMs: 4},
	}
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("node key")))
	if err := rc.Sign(key); err != nil {
		t.Fatal(err)
	}
	return rc
}

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
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, got), b) {
		t.Fatal("parse then encode changed the document")
	}
	if got.Digest() != rc.Digest() {
		t.Fatal("digest changed across encoding")
	}
	if err := got.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	compact, err := rc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(compact); err != nil {
		t.Fatalf("compact form refused: %v", err)
	}
	// keys in the order of settlement.md §9
	order := []string{"version", "chainId", "manager", "jobId", "request", "job", "class", "provider", "nodeKey", "stake",
		"traceRoot", "attestationDigest", "seed", "result", "proof", "detection", "attestation", "timings", "signature"}
	last := -1
	for _, k := range order {
		i := bytes.Index(b, []byte("\n  \""+k+"\": "))
		if i < last {
			t.Fatalf("key %s out of order", k)
		}
		last = i
	}
	for _, s := range []string{`"chainId": "31337"`, `"price": "1000000000000000000"`, `"stake": "5000000000000000000"`, `"newTokens": 3`, `"block": 12`} {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("encoding lacks %s", s)
		}
	}
}

// TestDigestIsProtocols: the digest is protocol.Receipt's under the manager's domain, from
// the fields settlement.md §6 names.
func TestDigestIsProtocols(t *testing.T) {
	rc := testReceipt(t)
	want := protocol.Receipt{
		JobID: rc.JobID.Big(), Provider: rc.Provider, ModelRoot: big.NewInt(11), JobDigest: big.NewInt(22),
		TraceRoot: big.NewInt(33), AttestationDigest: rc.AttestationDigest, Seed: big.NewInt(44),
		ResultDigest: big.NewInt(55), ProofHash: crypto.Keccak256Hash(make([]byte, ProofSize)),
	}.Digest(protocol.Domain{ChainID: big.NewInt(31337), Contract: rc.Manager})
	if rc.Digest() != common.Hash(want) {
		t.Fatal("digest differs from protocol.Receipt's")
	}
	rc.Result.Digest = MustWord(big.NewInt(56))
	if rc.VerifySignature() == nil {
		t.Fatal("signature survives a change of a signed field")
	}
}

// TestRejects: each malformed document is refused with an error naming its field.
func TestRejects(t *testing.T) {
	good := string(encode(t, testReceipt(t)))
	cases := []struct {
		name, old, new, field string
	}{
		{"version", `"probity.receipt.v1"`, `"probity.receipt.v0"`, "version"},
		{"chain id number", `"chainId": "31337"`, `"chainId": 31337`, "chainId"},
		{"chain id zero", `"chainId": "31337"`, `"chainId": "0"`, "chainId"},
		{"chain id leading zero", `"chainId": "31337"`, `"chainId": "031337"`, "chainId"},
		{"manager upper case", `"manager": "0x5fbdb2315678afecb367f032d93f642f64180aa3"`, `"manager": "0x5FbDB2315678afecb367f032d93F642f64180aa3"`, "manager"},
		{"price number", `"price": "1000000000000000000"`, `"price": 1000000000000000000`, "price"},
		{"price zero", `"price": "1000000000000000000"`, `"price": "0"`, "request.price"},
		{"new tokens zero", `"newTokens": 3`, `"newTokens": 0`, "request.newTokens"},
		{"word upper case", `"classId": "0x`, `"classId": "0X`, "classId"},
		{"null", `"stake": "5000000000000000000"`, `"stake": null`, "stake"},
		{"null word", `"traceRoot": "0x0000000000000000000000000000000000000000000000000000000000000021"`, `"traceRoot": null`, "traceRoot"},
		{"unknown key", `"version": "probity.receipt.v1",`, `"version": "probity.receipt.v1", "extra": 1,`, "extra"},
		{"duplicate key", `"job": "0x010203",`, `"job": "0x010203", "job": "0x010203",`, "job: duplicate"},
		{"empty job", `"job": "0x010203"`, `"job": "0x"`, "job"},
		{"short proof", `"proof": "0x00`, `"proof": "0x`, "proof"},
		{"token range", `"tokens": [`, `"tokens": [16777216, `, "result.tokens[0]"},
		{"no tokens", `"tokens": [
      1,
      2,
      3
    ]`, `"tokens": []`, "result.tokens"},
		{"probability", `"instance": 0.3333333333333333`, `"instance": 1.5`, "detection[0].instance"},
		{"float spelling", `"instance": 0.3333333333333333`, `"instance": 0.33333333333333330`, "detection[0].instance"},
		{"slots", `"slots": [`, `"slots": [0, `, "class.slots"},
		{"key case", `"nodeKey"`, `"nodekey"`, "nodekey: unknown"},
		{"escape", `"name": "test"`, `"name": "t\u0065st"`, "class.name"},
	}
	cases = append(cases, struct{ name, old, new, field string }{"missing key", `"stake": "5000000000000000000",`, ``, "stake: missing"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(good, c.old) {
				t.Fatalf("fixture lacks %q", c.old)
			}
			doc := strings.Replace(good, c.old, c.new, 1)
			_, err := Parse([]byte(doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v is neither ErrMalformed nor ErrVersion", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %q does not name %s", err, c.field)
			}
		})
	}
	arr := testReceipt(t)
	arr.Attestation = []byte(`[1]`)
	if _, err := Parse(encode(t, arr)); err == nil || !strings.Contains(err.Error(), "attestation") {
		t.Fatalf("attestation not an object: %v", err)
	}
	if _, err := Parse([]byte(good + "{}")); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("trailing data: %v", err)
	}
	if _, err := Parse(append([]byte(good), bytes.Repeat([]byte(" "), MaxSize)...)); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("oversize: %v", err)
	}
}
