package circuits

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func readers(bs ...[]byte) []io.Reader {
	out := make([]io.Reader, len(bs))
	for i, b := range bs {
		out[i] = bytes.NewReader(b)
	}
	return out
}

// Two contributors per phase on the tiny test target; the resulting keys prove and verify, and a
// tampered or out-of-order transcript is rejected.
func TestCeremonyTwoContributors(t *testing.T) {
	c, err := NewCeremony(tinyTarget())
	if err != nil {
		t.Fatal(err)
	}
	var init bytes.Buffer
	if err := c.Init(&init); err != nil {
		t.Fatal(err)
	}
	contribute := func(prev []byte) []byte {
		var next bytes.Buffer
		if err := c.Contribute(bytes.NewReader(prev), &next); err != nil {
			t.Fatal(err)
		}
		return next.Bytes()
	}
	p1a := contribute(init.Bytes())
	p1b := contribute(p1a)
	if err := c.VerifyPhase1(readers(p1a, p1b)...); err != nil {
		t.Fatal(err)
	}
	// Skipping a contributor breaks the challenge chain.
	if err := c.VerifyPhase1(readers(p1b)...); !errors.Is(err, ErrCeremony) {
		t.Fatalf("phase 1 without its first contribution: %v", err)
	}
	var commons, p2init bytes.Buffer
	if err := c.SealPhase1([]byte("beacon 1"), &commons, &p2init, readers(p1a, p1b)...); err != nil {
		t.Fatal(err)
	}
	p2a := contribute(p2init.Bytes())
	p2b := contribute(p2a)
	if err := c.Verify(bytes.NewReader(commons.Bytes()), readers(p2a, p2b)...); err != nil {
		t.Fatal(err)
	}

	// Tampering: flip a byte deep in the second phase-2 contribution.
	bad := bytes.Clone(p2b)
	bad[len(bad)/2] ^= 0x01
	if err := c.Verify(bytes.NewReader(commons.Bytes()), readers(p2a, bad)...); !errors.Is(err, ErrCeremony) {
		t.Fatalf("tampered contribution: got %v, want ErrCeremony", err)
	}
	// Replaying the first contribution in place of the second.
	if err := c.Verify(bytes.NewReader(commons.Bytes()), readers(p2a, p2a)...); !errors.Is(err, ErrCeremony) {
		t.Fatalf("replayed contribution: got %v, want ErrCeremony", err)
	}
	// A phase-1 file where phase 2 is expected.
	if err := c.Verify(bytes.NewReader(commons.Bytes()), readers(p1a)...); !errors.Is(err, ErrCeremony) {
		t.Fatalf("phase mismatch: got %v, want ErrCeremony", err)
	}

	keys, err := c.Finalize([]byte("beacon 2"), bytes.NewReader(commons.Bytes()), readers(p2a, p2b)...)
	if err != nil {
		t.Fatal(err)
	}
	p, pub := proveChain(t, keys, 11)
	if err := verifyChain(keys.VK, p, pub); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyingKeyWords(keys.VK); err != nil {
		t.Fatal(err)
	}
	// A proof under the ceremony key does not verify under an unrelated dev key.
	if err := verifyChain(testKeys(t).VK, p, pub); !errors.Is(err, errTestProof) {
		t.Fatalf("ceremony proof under dev key: %v", err)
	}
}

func TestCeremonyRejectsForeignFiles(t *testing.T) {
	c := &Ceremony{Target: tinyTarget()}
	o := &Ceremony{Target: otherTarget()}
	var hdr bytes.Buffer
	if err := o.writeHeader(&hdr, Phase1); err != nil {
		t.Fatal(err)
	}
	if err := c.Contribute(bytes.NewReader(hdr.Bytes()), io.Discard); !errors.Is(err, ErrCeremony) {
		t.Fatalf("other target's file: %v", err)
	}
	if err := c.Contribute(bytes.NewReader([]byte("garbage")), io.Discard); !errors.Is(err, ErrCeremony) {
		t.Fatalf("garbage: %v", err)
	}
}
