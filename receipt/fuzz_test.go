package receipt

import (
	"bytes"
	"encoding/json"
	"testing"
)

func compactJSON(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }

// FuzzParse: no input panics the decoder, and whatever it accepts is a fixed point of
// encode-then-parse, so parse-then-encode gives the canonical input back.
func FuzzParse(f *testing.F) {
	good := encode(f, testReceipt(f))
	f.Add(good)
	var compact bytes.Buffer
	_ = compactJSON(&compact, good)
	f.Add(compact.Bytes())
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":"probity.receipt.v0"}`))
	f.Add(bytes.Replace(good, []byte(`"k": 2`), []byte(`"k": 0`), 1))
	f.Add(bytes.Replace(good, []byte(`"chainId": "31337"`), []byte(`"chainId": 31337`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := Parse(data)
		if err != nil {
			return
		}
		enc, err := rc.MarshalIndent()
		if err != nil {
			t.Fatalf("accepted receipt does not encode: %v", err)
		}
		var a, b bytes.Buffer
		if compactJSON(&a, data) != nil || compactJSON(&b, enc) != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Fatalf("accepted a non-canonical spelling:\n%s\nencodes as\n%s", data, enc)
		}
		rc2, err := Parse(enc)
		if err != nil {
			t.Fatalf("canonical encoding refused: %v\n%s", err, enc)
		}
		enc2, _ := rc2.MarshalIndent()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		_ = rc.Digest() // must not panic on any accepted receipt
	})
}
