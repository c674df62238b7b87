package jobs

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/model"
)

// FuzzParseJob: any bytes either parse into a job whose canonical encoding is exactly those
// bytes, or fail with ErrFile; never a panic.
func FuzzParseJob(f *testing.F) {
	for i, c := range loadTraceVectors(f) {
		f.Add(hexutil.MustDecode(c.Job))
		if i == 0 { // and one stating a hardware requirement (§1.4)
			j, err := ParseJob(hexutil.MustDecode(c.Job))
			if err != nil {
				f.Fatal(err)
			}
			j.Hardware, j.HardwareNonce = testHardware(), [32]byte{9}
			b, err := EncodeJob(j)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := ParseJob(b)
		if err != nil {
			if !errors.Is(err, ErrFile) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		back, err := EncodeJob(j)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("accepted a job file that is not its canonical encoding (%v)", err)
		}
	})
}

// FuzzParseResultAndTrace: result and trace files either parse canonically or fail with
// ErrFile (or a model shape error for a trace of the wrong model), never a panic.
func FuzzParseResultAndTrace(f *testing.F) {
	cases := loadTraceVectors(f)
	m, err := model.Parse(hexutil.MustDecode(cases[0].Model))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		if c.Expect == "ok" {
			f.Add(hexutil.MustDecode(c.Result))
			f.Add(hexutil.MustDecode(c.Trace))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if toks, err := ParseResult(b); err == nil {
			if back, _ := EncodeResult(toks); !bytes.Equal(back, b) {
				t.Fatal("accepted a non-canonical result")
			}
		} else if !errors.Is(err, ErrFile) {
			t.Fatalf("result: unclassified error: %v", err)
		}
		if tr, err := ParseTrace(m, b); err == nil {
			if back, _ := EncodeTrace(m, tr); !bytes.Equal(back, b) {
				t.Fatal("accepted a non-canonical trace")
			}
		} else if !errors.Is(err, ErrFile) {
			t.Fatalf("trace: unclassified error: %v", err)
		}
	})
}
