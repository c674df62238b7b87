package tensor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/probitylabs/probity/protocol"
)

func TestLinearVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "epilogue.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Linear []struct {
			Name     string  `json:"name"`
			M        int     `json:"M"`
			K        int     `json:"K"`
			N        int     `json:"N"`
			A        []int8  `json:"a"`
			W        []int8  `json:"w"`
			B        []int32 `json:"b"`
			Epilogue struct {
				Multiplier uint32 `json:"multiplier"`
				Shift      uint8  `json:"shift"`
				ZeroPoint  int8   `json:"zeroPoint"`
				ReLU       bool   `json:"relu"`
			} `json:"epilogue"`
			Out    []int8 `json:"out"`
			Expect string `json:"expect"`
			Row    *int   `json:"row"`
			Col    *int   `json:"col"`
		} `json:"linear"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Linear) == 0 {
		t.Fatal("no linear vectors")
	}
	for _, c := range v.Linear {
		a := &Int8{Shape: []int{c.M, c.K}, Data: c.A}
		l := Layer{
			Weight:   &Int8{Shape: []int{c.N, c.K}, Data: c.W},
			Bias:     &Int32{Shape: []int{c.N}, Data: c.B},
			Epilogue: protocol.Epilogue(c.Epilogue),
		}
		out, err := Linear(a, l)
		switch c.Expect {
		case "ok":
			if err != nil {
				t.Errorf("%s: %v", c.Name, err)
				continue
			}
			if !out.Equal(&Int8{Shape: []int{c.M, c.N}, Data: c.Out}) {
				t.Errorf("%s: output %v, want %v", c.Name, out.Data, c.Out)
			}
		case "overflow":
			var oe *OverflowError
			if !errors.As(err, &oe) || c.Row == nil || c.Col == nil || oe.Row != *c.Row || oe.Col != *c.Col {
				t.Errorf("%s: err = %v, want overflow at (%v, %v)", c.Name, err, c.Row, c.Col)
			}
		default:
			t.Fatalf("%s: unknown expect %q", c.Name, c.Expect)
		}
	}
}
