package receipt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// checkCanonical requires data to be the canonical encoding of rc up to insignificant
// whitespace. encoding/json matches keys case-insensitively, keeps the last of duplicate keys,
// turns null into zero values and accepts any address case; comparing with the re-encoding
// closes all of those at once. The error names the JSON path where the spellings part.
func checkCanonical(rc *Receipt, data []byte) error {
	want, err := rc.Marshal()
	if err != nil {
		return err
	}
	var got bytes.Buffer
	if err := json.Compact(&got, data); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	g := got.Bytes()
	if bytes.Equal(g, want) {
		return nil
	}
	i := 0
	for i < len(g) && i < len(want) && g[i] == want[i] {
		i++
	}
	// A difference found at a separator ends the token before it (a longer number, a longer
	// string): report that token's field.
	j := i
	if j > 0 && j < len(want) && strings.IndexByte(",:}]", want[j]) >= 0 {
		j--
	}
	return &FieldError{Field: pathAt(want, j), Err: fmt.Errorf("%w: found %q, canonical is %q",
		ErrNonCanonical, snippet(g, i), snippet(want, i))}
}

func snippet(b []byte, i int) string {
	lo, hi := max(0, i-24), min(len(b), i+24)
	return string(b[lo:hi])
}

// pathAt returns the JSON path (request.price, result.tokens[3]) of the key or value that
// contains byte off of the compact document b, so a non-canonical spelling is reported by the
// field it is in.
func pathAt(b []byte, off int) string {
	type frame struct {
		obj   bool
		key   string // object: the current key
		want  bool   // object: the next string is a key
		index int    // array: the current element
	}
	var stack []frame
	path := func() string {
		s := ""
		for _, f := range stack {
			switch {
			case !f.obj:
				s += "[" + strconv.Itoa(f.index) + "]"
			case f.key != "" && s != "":
				s += "." + f.key
			case f.key != "":
				s = f.key
			}
		}
		if s == "" {
			return "(document)"
		}
		return s
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		here := int(dec.InputOffset()) > off
		n := len(stack)
		if n > 0 && stack[n-1].obj && stack[n-1].want {
			if k, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].want = k, false
				if here {
					return path()
				}
				continue
			}
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			if here {
				return path()
			}
			stack = stack[:n-1]
			if m := len(stack); m > 0 && stack[m-1].obj {
				stack[m-1].want = true
			}
			continue
		}
		// a value begins
		if n > 0 && !stack[n-1].obj {
			stack[n-1].index++
		}
		if here {
			return path()
		}
		if isDelim {
			stack = append(stack, frame{obj: d == '{', want: d == '{', index: -1})
			continue
		}
		if n > 0 && stack[n-1].obj {
			stack[n-1].want = true
		}
	}
}
