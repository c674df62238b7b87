package jobs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testHardware() *Hardware {
	return &Hardware{RequireCC: true, Models: []string{"NVIDIA H100 80GB HBM3"}, Chips: []string{"GH100"}, Boards: []string{"1010_0200_882", "G520_0200_885"}, MinMemoryBytes: 80 << 30}
}

// TestHardwareVector pins the canonical requirement and the salt committing to it (a second
// implementation rebuilds both from the spec, specs/trace.md §1.4).
func TestHardwareVector(t *testing.T) {
	h := testHardware()
	canon, err := h.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"cc":true,"models":["NVIDIA H100 80GB HBM3"],"chips":["GH100"],"boards":["1010_0200_882","G520_0200_885"],"minMemoryBytes":85899345920}`
	if string(canon) != want {
		t.Fatalf("canonical\n got %s\nwant %s", canon, want)
	}
	var nonce [32]byte
	for i := range nonce {
		nonce[i] = byte(i)
	}
	salt, err := h.Salt(nonce)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("0x%064x", salt); got != hardwareSaltVector {
		t.Fatalf("salt %s, pinned %s", got, hardwareSaltVector)
	}
	back, err := ParseHardware(canon)
	if err != nil || back.MinMemoryBytes != h.MinMemoryBytes || len(back.Boards) != 2 {
		t.Fatalf("parse back: %+v, %v", back, err)
	}
}

// hardwareSaltVector is keccak256("probity/hardware/v1" || testHardware's canonical JSON ||
// 0x000102...1f), cross-checked with foundry's `cast keccak` over the same bytes.
const hardwareSaltVector = "0xed832c3e0a1fd1a58892bc39dadc9069349771dc1f75f53d58da159b1a62cdc0"

func TestParseHardwareRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown member": `{"cc":true,"gpus":1}`,
		"key order":      `{"chips":["GH100"],"cc":true}`,
		"unsorted":       `{"boards":["b","a"]}`,
		"duplicate":      `{"chips":["GH100","GH100"]}`,
		"empty":          `{}`,
		"false written":  `{"cc":false,"chips":["GH100"]}`,
		"empty name":     `{"models":[""]}`,
		"control char":   "{\"models\":[\"a\\u0001\"]}",
		"whitespace":     `{"cc": true}`,
		"too much":       `{"minMemoryBytes":9007199254740992}`,
		"not JSON":       `cc`,
	} {
		if _, err := ParseHardware([]byte(doc)); !errors.Is(err, ErrHardware) {
			t.Errorf("%s: %v", name, err)
		}
	}
	chips := []string{"GH100", "GB100", "GH100", ""}
	h := &Hardware{Chips: chips}
	h.Normalize()
	if strings.Join(h.Chips, ",") != ",GB100,GH100" || strings.Join(chips, ",") != "GH100,GB100,GH100," {
		t.Fatalf("normalized %v, the caller's list now %v", h.Chips, chips)
	}
}

// TestJobFileHardware: a job file states its requirement in its metadata (the canonical JSON and
// the nonce), parses back to it, keeps the job digest of the same job without it, and is
// accepted only for a request whose salt commits to it.
func TestJobFileHardware(t *testing.T) {
	o, _, file := testOffer(t)
	j, err := ParseJob(file)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := j.Digest()
	j.Hardware, j.HardwareNonce = testHardware(), [32]byte{1, 2, 3}
	withHW, err := EncodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJob(withHW)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hardware == nil || back.HardwareNonce != j.HardwareNonce || back.Hardware.Boards[1] != "G520_0200_885" {
		t.Fatalf("parsed back %+v", back)
	}
	if d, _ := back.Digest(); d != plain {
		t.Fatal("the requirement changed the job digest")
	}
	req := o.Request
	if _, err := CheckJobFile(req, withHW); !errors.Is(err, ErrJobFileMismatch) || !strings.Contains(err.Error(), "hardware") {
		t.Fatalf("a request whose salt commits to nothing: %v", err)
	}
	if req.Salt, err = j.Hardware.Salt(j.HardwareNonce); err != nil {
		t.Fatal(err)
	}
	got, err := CheckJobFile(req, withHW)
	if err != nil || got.Hardware == nil {
		t.Fatalf("the committed requirement: %+v, %v", got, err)
	}
	// Another requirement (or nonce) under the same salt is another job.
	j.Hardware.MinMemoryBytes++
	other, _ := EncodeJob(j)
	if _, err := CheckJobFile(req, other); !errors.Is(err, ErrJobFileMismatch) {
		t.Fatalf("another requirement: %v", err)
	}
	// Half a requirement does not parse.
	if _, err := ParseJob(withHW[:0]); err == nil {
		t.Fatal("empty file parsed")
	}
}

// FuzzParseHardware: whatever parses encodes back to the same bytes.
func FuzzParseHardware(f *testing.F) {
	canon, _ := testHardware().Canonical()
	f.Add(canon)
	f.Add([]byte(`{"cc":true}`))
	f.Add([]byte(`{"boards":["1010_0200_882"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHardware(b)
		if err != nil {
			return
		}
		again, err := h.Canonical()
		if err != nil || string(again) != string(b) {
			t.Fatalf("%q parsed but encodes as %q (%v)", b, again, err)
		}
	})
}
