package receipt

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics the decoder, and whatever it accepts is canonical: its compact
// form is Marshal's, and parsing the encoding gives the same encoding back.
func FuzzParse(f *testing.F) {
	good := encode(f, testReceipt(f))
	f.Add(good)
	if v, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "receipt-v1.json")); err == nil {
		f.Add(v)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":"probity.receipt.v1"}`))
	f.Add(bytes.Replace(good, []byte(`"newTokens": 3`), []byte(`"newTokens": 0`), 1))
	f.Add(bytes.Replace(good, []byte(`"chainId": "31337"`), []byte(`"chainId": 31337`), 1))
	f.Add(bytes.Replace(good, []byte(`"stake"`), []byte(`"stake": null, "x"`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := Parse(data)
		if err != nil {
			return
		}
		enc, err := rc.Marshal()
		if err != nil {
			t.Fatalf("accepted receipt does not encode: %v", err)
		}
		var a bytes.Buffer
		if json.Compact(&a, data) != nil || !bytes.Equal(a.Bytes(), enc) {
			t.Fatalf("accepted a non-canonical spelling:\n%s\nencodes as\n%s", data, enc)
		}
		rc2, err := Parse(enc)
		if err != nil {
			t.Fatalf("canonical encoding refused: %v\n%s", err, enc)
		}
		if enc2, _ := rc2.Marshal(); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not a fixed point")
		}
	})
}
