package tensor

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func specVector(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type modelFileCase struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	File   string `json:"file"`
}

func modelFileCases(t testing.TB) []modelFileCase {
	var v struct {
		Cases []modelFileCase `json:"cases"`
	}
	specVector(t, "modelfile.json", &v)
	if len(v.Cases) == 0 {
		t.Fatal("no model file vectors")
	}
	return v.Cases
}

func readModelBytes(b []byte) (Model, error) {
	f, err := Read(bytes.NewReader(b))
	if err != nil {
		return Model{}, err
	}
	return ModelFromFile(f)
}

// TestModelFileVectors: each file of modelfile.json reads as a model exactly when it is
// expected to (§3.1: extra tensors, numbering gaps, stray metadata, trailing bytes).
func TestModelFileVectors(t *testing.T) {
	var ok, bad int
	for _, c := range modelFileCases(t) {
		b, err := hex.DecodeString(strings.TrimPrefix(c.File, "0x"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		_, err = readModelBytes(b)
		switch c.Expect {
		case "ok":
			ok++
			if err != nil {
				t.Errorf("%s: refused: %v", c.Name, err)
			}
		case "invalid":
			bad++
			if err == nil {
				t.Errorf("%s: accepted", c.Name)
			}
		default:
			t.Fatalf("%s: expect %q", c.Name, c.Expect)
		}
	}
	if ok == 0 || bad == 0 {
		t.Fatalf("vectors need both classes: %d ok, %d invalid", ok, bad)
	}
}

type metadataVectorFile struct {
	Base  map[string]string `json:"base"`
	Cases []struct {
		Field, Value, Expect string
	} `json:"cases"`
}

// TestMetadataVectors checks the one integer grammar of §3.1 field by field.
func TestMetadataVectors(t *testing.T) {
	var v metadataVectorFile
	specVector(t, "metadata.json", &v)
	if len(v.Cases) == 0 {
		t.Fatal("no metadata vectors")
	}
	for _, c := range v.Cases {
		md := map[string]string{}
		for k, val := range v.Base {
			md[layerKey(0, k)] = val
		}
		md[layerKey(0, c.Field)] = c.Value
		e, err := parseEpilogueMeta(md, 0)
		switch c.Expect {
		case "ok":
			if err != nil {
				t.Errorf("%s = %q refused: %v", c.Field, c.Value, err)
				continue
			}
			// An accepted value is the one canonical spelling of what was read.
			var back string
			switch c.Field {
			case "multiplier":
				back = strconv.FormatUint(uint64(e.Multiplier), 10)
			case "shift":
				back = strconv.FormatUint(uint64(e.Shift), 10)
			case "zero_point":
				back = strconv.FormatInt(int64(e.ZeroPoint), 10)
			case "relu":
				back = strconv.FormatBool(e.ReLU)
			}
			if back != c.Value {
				t.Errorf("%s = %q read back as %q", c.Field, c.Value, back)
			}
		case "invalid":
			if err == nil {
				t.Errorf("%s = %q accepted", c.Field, c.Value)
			}
		default:
			t.Fatalf("expect %q", c.Expect)
		}
	}
}

func TestDuplicateMetadataKeyRefused(t *testing.T) {
	file := rawFile(`{"__metadata__":{"layers.0.shift":"31","layers.0.shift":"7"},"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, []byte{1})
	if _, err := Read(bytes.NewReader(file)); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("err = %v, want ErrDuplicate", err)
	}
}

func TestActivationFileHoldsOnlyX(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "input.safetensors")
	b := NewBuilder()
	if err := b.Add("x", RandomInput(1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("y", RandomInput(2, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadActivations(path); !errors.Is(err, ErrExtraTensors) {
		t.Errorf("LoadActivations: err = %v, want ErrExtraTensors", err)
	}
	if _, err := OpenRows(path, "x"); !errors.Is(err, ErrExtraTensors) {
		t.Errorf("OpenRows: err = %v, want ErrExtraTensors", err)
	}
	if err := SaveActivations(path, RandomInput(1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadActivations(path); err != nil {
		t.Errorf("a plain activation file: %v", err)
	}
	r, err := OpenRows(path, "x")
	if err != nil {
		t.Fatalf("OpenRows on a plain activation file: %v", err)
	}
	r.Close()
}

// FuzzParseMetaInt: whatever the grammar accepts is the canonical decimal of its value, so
// one integer has one spelling.
func FuzzParseMetaInt(f *testing.F) {
	var v metadataVectorFile
	specVector(f, "metadata.json", &v)
	for _, c := range v.Cases {
		f.Add(c.Value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseMetaInt(s, -1<<40, 1<<40)
		if err != nil {
			return
		}
		if back := strconv.FormatInt(n, 10); back != s {
			t.Fatalf("accepted %q as %d, canonical %q", s, n, back)
		}
	})
}

// FuzzModelFromFile: a model that reads re-encodes to metadata equal to what was read under
// "layers.", and reads back to the same epilogues; seeded with the model file vectors.
func FuzzModelFromFile(f *testing.F) {
	for _, c := range modelFileCases(f) {
		b, err := hex.DecodeString(strings.TrimPrefix(c.File, "0x"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		m, err := ModelFromFile(file)
		if err != nil {
			return
		}
		b, err := m.Builder()
		if err != nil {
			t.Fatalf("accepted model does not re-encode: %v", err)
		}
		for k, v := range file.Metadata {
			if strings.HasPrefix(k, "layers.") && b.Metadata[k] != v {
				t.Fatalf("metadata %q = %q re-encodes as %q", k, v, b.Metadata[k])
			}
		}
		for k := range b.Metadata {
			if _, ok := file.Metadata[k]; !ok {
				t.Fatalf("re-encoding adds metadata %q", k)
			}
		}
	})
}
