package verifier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/circuits/universal"
)

// TestKeyPinsOffline: offline, the proof is checked with a key the policy pins (the key, or
// its KeyHash over a key from Options.Keys), never an unpinned one: no key and no chain fails
// with ErrNoKey, a key that is not the pinned hash's with ErrKeyPin.
func TestKeyPinsOffline(t *testing.T) {
	b, p, m := vector(t)
	vk := p.Classes[0].VK
	h, err := KeyHash(vk)
	if err != nil {
		t.Fatal(err)
	}
	given := func(k *groth16bn254.VerifyingKey) func(*universal.Class) (*groth16bn254.VerifyingKey, error) {
		return func(*universal.Class) (*groth16bn254.VerifyingKey, error) { return k, nil }
	}
	for _, c := range []struct {
		name   string
		class  Class
		keys   func(*universal.Class) (*groth16bn254.VerifyingKey, error)
		want   error // nil: passes
		detail string
	}{
		{"pinned key", Class{VK: vk}, nil, nil, ""},
		{"pinned key and its hash", Class{VK: vk, VKHash: h}, nil, nil, ""},
		{"given key of the pinned hash", Class{VKHash: h}, given(vk), nil, ""},
		{"given key, no pin", Class{}, given(vk), nil, ""},
		{"nothing pinned, no chain", Class{}, nil, ErrNoKey, ""},
		{"pinned key, another hash", Class{VK: vk, VKHash: [32]byte{1}}, nil, ErrKeyPin, ""},
		{"given key of another hash", Class{VKHash: h}, given(otherKey(t)), ErrKeyPin, ""},
	} {
		q := p
		c.class.Class = p.Classes[0].Class
		q.Classes = []Class{c.class}
		r, err := AuditJSON(context.Background(), b, q, Options{Model: m, Keys: c.keys})
		if err != nil {
			t.Fatal(err)
		}
		proof := r.Check(CheckProof)
		switch {
		case c.want == nil && !r.OK():
			t.Errorf("%s: %v", c.name, r.Err())
		case c.want != nil && (proof.Status != Fail || !errors.Is(proof.Err, c.want)):
			t.Errorf("%s: proof %+v, want %v", c.name, proof, c.want)
		case c.want != nil:
			t.Logf("%s: %v", c.name, proof.Err)
		}
	}
}

// TestKeyHashVector pins KeyHash of the vector's key (testdata/vectors/receipt-v1.vk.bin):
// policies name keys by it, so its encoding (keccak256 of the 26 Solidity words) must not
// drift.
func TestKeyHashVector(t *testing.T) {
	_, p, _ := vector(t)
	h, err := KeyHash(p.Classes[0].VK)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("0x%x", h); got != keyHashVector {
		t.Fatalf("KeyHash of receipt-v1.vk.bin is %s, pinned %s", got, keyHashVector)
	}
}

// TestPolicyVKHash reads a class's vkHash from a policy file: the key's KeyHash pins it,
// a malformed hash or one that is not the vk file's is refused.
func TestPolicyVKHash(t *testing.T) {
	_, p, _ := vector(t)
	h, err := KeyHash(p.Classes[0].VK)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(vectors)
	if err != nil {
		t.Fatal(err)
	}
	doc := func(hash string) []byte {
		return fmt.Appendf(nil, `{"classes": [{"name": "small", "vkHash": %q}]}`, hash)
	}
	q, err := ReadPolicy(doc(fmt.Sprintf("0x%x", h)), dir)
	if err != nil || q.Classes[0].VKHash != h || q.Classes[0].VK != nil {
		t.Fatalf("vkHash: %v %+v", err, q.Classes)
	}
	for _, bad := range []string{"0x12", fmt.Sprintf("%x", h), "0x" + string(make([]byte, 64))} {
		if _, err := ReadPolicy(doc(bad), dir); err == nil {
			t.Errorf("vkHash %q read", bad)
		}
	}
	withFile := fmt.Appendf(nil, `{"classes": [{"name": "test", "elems": 2, "rowDepth": 4, "opDepth": 5, "paramDepth": 5,
		"slots": [1,1,0,0,0,0,0,0,0,0,0,0,0,1,1], "vk": "receipt-v1.vk.bin", "vkHash": "0x%x"}]}`, [32]byte{1})
	if _, err := ReadPolicy(withFile, dir); !errors.Is(err, ErrKeyPin) {
		t.Errorf("vk file and another vkHash: %v", err)
	}
}

// TestAuditFileBounded: AuditFile reads regular files only and at most receipt.MaxSize
// bytes of them.
func TestAuditFileBounded(t *testing.T) {
	_, p, _ := vector(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := AuditFile(context.Background(), fifo, p, Options{}); err == nil {
		t.Error("audited a FIFO")
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(16<<20 + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := AuditFile(context.Background(), big, p, Options{}); err == nil {
		t.Error("audited a file over MaxSize")
	}
}

const keyHashVector = "0xbc8c5354c9d3ada07256cccfa26b42f14e4ac306569a456dfb88914502215a2d"
