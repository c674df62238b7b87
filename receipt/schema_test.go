package receipt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// node is a JSON value that keeps its objects' key order, which the schema's required lists
// state (the canonical order).
type node struct {
	keys []string
	obj  map[string]*node
	arr  []*node
	val  any // string, json.Number, bool, nil
	kind byte
}

func readNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n := &node{kind: 'o', obj: map[string]*node{}}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readNode(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
				n.obj[k.(string)] = v
			}
			_, err := dec.Token()
			return n, err
		}
		n := &node{kind: 'a'}
		for dec.More() {
			v, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, v)
		}
		_, err := dec.Token()
		return n, err
	case string:
		return &node{kind: 's', val: t}, nil
	case json.Number:
		return &node{kind: 'n', val: t}, nil
	default:
		return &node{kind: 'x', val: t}, nil
	}
}

// validate checks n against the subset of JSON Schema the receipt schema uses.
func validate(n *node, s map[string]any, root map[string]any, path string) []string {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/$defs/")
		return validate(n, root["$defs"].(map[string]any)[name].(map[string]any), root, path)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if c, ok := s["const"]; ok && n.val != c {
		bad("%v is not the constant %v", n.val, c)
	}
	num := func(key string) (*big.Float, bool) {
		f, ok := s[key].(float64)
		return new(big.Float).SetFloat64(f), ok
	}
	switch s["type"] {
	case "object":
		if n.kind != 'o' {
			bad("not an object")
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			var want []string
			for _, r := range req {
				want = append(want, r.(string))
			}
			if !slices.Equal(n.keys, want) {
				bad("keys %v, the schema requires %v in that order", n.keys, want)
			}
		}
		for _, k := range n.keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					bad("key %s not in the schema", k)
				}
				continue
			}
			errs = append(errs, validate(n.obj[k], ps, root, path+"."+k)...)
		}
	case "array":
		if n.kind != 'a' {
			bad("not an array")
			return errs
		}
		if m, ok := s["minItems"].(float64); ok && len(n.arr) < int(m) {
			bad("%d items, at least %v", len(n.arr), m)
		}
		if m, ok := s["maxItems"].(float64); ok && len(n.arr) > int(m) {
			bad("%d items, at most %v", len(n.arr), m)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, v := range n.arr {
				errs = append(errs, validate(v, it, root, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		str, ok := n.val.(string)
		if !ok {
			bad("not a string")
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		if m, ok := s["minLength"].(float64); ok && len(str) < int(m) {
			bad("shorter than %v", m)
		}
	case "integer", "number":
		js, ok := n.val.(json.Number)
		if !ok {
			bad("not a number")
			return errs
		}
		v, _, err := big.ParseFloat(string(js), 10, 256, big.ToNearestEven)
		if err != nil {
			bad("%v", err)
			return errs
		}
		if s["type"] == "integer" && !v.IsInt() {
			bad("%s is not an integer", js)
		}
		if lo, ok := num("minimum"); ok && v.Cmp(lo) < 0 {
			bad("%s below %v", js, lo)
		}
		if hi, ok := num("maximum"); ok && v.Cmp(hi) > 0 {
			bad("%s above %v", js, hi)
		}
	}
	return errs
}

// TestSchema checks the receipt vector and the test receipt against specs/receipt-v1.schema.json
// (keys in the required order, nothing else, every value's type, pattern and range), so the
// schema, the Go types and the vector agree.
func TestSchema(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "specs", "receipt-v1.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	if v := schema["properties"].(map[string]any)["version"].(map[string]any)["const"]; v != Version {
		t.Errorf("schema version %v, Go %s", v, Version)
	}
	docs := map[string][]byte{"test receipt": encode(t, testReceipt(t))}
	if v, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "receipt-v1.json")); err == nil {
		docs["vector"] = v
	} else {
		t.Error(err)
	}
	for name, doc := range docs {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		n, err := readNode(dec)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range validate(n, schema, schema, "$") {
			t.Errorf("%s: %s", name, e)
		}
	}
	// A document the schema must refuse, so the validator is seen to bite.
	bad := bytes.Replace(docs["test receipt"], []byte(`"chainId": "31337"`), []byte(`"chainId": "0x7a69"`), 1)
	dec := json.NewDecoder(bytes.NewReader(bad))
	dec.UseNumber()
	n, _ := readNode(dec)
	if errs := validate(n, schema, schema, "$"); len(errs) != 1 || !strings.Contains(errs[0], "chainId") {
		t.Errorf("hex chain id: %v", errs)
	}
}
