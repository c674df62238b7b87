package jobs

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"os"
	"testing"
)

// The element-word vectors (testdata/vectors/element.json): Word, ParseElement and Canonical
// agree with each case's expectation.
func TestElementVectors(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/element.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Name, Word, Expect string
			Kind               uint8
			Op, Row, Col       uint32
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range v.Cases {
		w, ok := new(big.Int).SetString(c.Word, 10)
		if !ok {
			t.Fatalf("%s: bad word", c.Name)
		}
		e, err := ParseElement(w)
		if c.Expect == "unparseable" {
			if !errors.Is(err, ErrElement) {
				t.Errorf("%s: parsed: %v", c.Name, err)
			}
			continue
		}
		want := Element{Kind: ElementKind(c.Kind), Op: c.Op, Row: c.Row, Col: c.Col}
		if err != nil || e != want {
			t.Errorf("%s: ParseElement = %+v, %v; want %+v", c.Name, e, err, want)
		}
		if want.Word().Cmp(w) != 0 {
			t.Errorf("%s: Word = %s, want %s", c.Name, want.Word(), w)
		}
		switch err := e.Canonical(); c.Expect {
		case "canonical":
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
			}
		case "noncanonical":
			if !errors.Is(err, ErrNonCanonical) {
				t.Errorf("%s: canonical: %v", c.Name, err)
			}
		default:
			t.Errorf("%s: unknown expect %q", c.Name, c.Expect)
		}
	}
}

// Parse then encode gives the word back, for any word below 2^99.
func FuzzElementWord(f *testing.F) {
	f.Add(uint64(0), uint64(0))
	f.Add(uint64(math.MaxUint64), uint64(math.MaxUint32))
	f.Fuzz(func(t *testing.T, lo, hi uint64) {
		w := new(big.Int).Lsh(new(big.Int).SetUint64(hi&(1<<35-1)), 64)
		w.Or(w, new(big.Int).SetUint64(lo))
		e, err := ParseElement(w)
		if err != nil {
			t.Fatal(err)
		}
		if e.Word().Cmp(w) != 0 {
			t.Fatalf("%s -> %+v -> %s", w, e, e.Word())
		}
	})
}
