package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// The document's own objects, which decodeValue walks key by key so an error names the key;
// every other value (words, decimals, byte strings, numbers, the attestation record) is
// decoded by its type's own strict decoder and the error is given that value's path.
var objects = map[reflect.Type]bool{
	reflect.TypeFor[Receipt](): true,
	reflect.TypeFor[Class]():   true,
	reflect.TypeFor[Seed]():    true,
	reflect.TypeFor[Result]():  true,
	reflect.TypeFor[Bound]():   true,
	reflect.TypeFor[Timings](): true,
}

var errNull = errors.New("null (no field of a receipt is optional)")

// decodeValue decodes one JSON value into v (addressable). Objects of the document's own
// types must have exactly their keys, in any order here (checkCanonical fixes the order),
// each once; null is refused everywhere.
func decodeValue(data []byte, v reflect.Value, path string) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return &FieldError{Field: path, Err: errNull}
	}
	switch {
	case v.Kind() == reflect.Struct && objects[v.Type()]:
		return decodeObject(data, v, path)
	case v.Kind() == reflect.Slice && objects[v.Type().Elem()]:
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			return &FieldError{Field: path, Err: err}
		}
		s := reflect.MakeSlice(v.Type(), len(raws), len(raws))
		for i, raw := range raws {
			if err := decodeValue(raw, s.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	// Compact first: a value's own strict decoder (the request's) may refuse the indentation
	// of the whole document; spelling inside strings is untouched and checkCanonical's.
	var c bytes.Buffer
	if err := json.Compact(&c, data); err != nil {
		return &FieldError{Field: path, Err: err}
	}
	if err := json.Unmarshal(c.Bytes(), v.Addr().Interface()); err != nil {
		return &FieldError{Field: path, Err: err}
	}
	return nil
}

func decodeObject(data []byte, v reflect.Value, path string) error {
	at := func(key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	fields := map[string]int{}
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[tag] = i
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fieldOrDoc(path, fmt.Errorf("not a JSON object"))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fieldOrDoc(path, err)
		}
		key := tok.(string) // inside an object, encoding/json only yields string keys here
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return &FieldError{Field: at(key), Err: err}
		}
		i, ok := fields[key]
		switch {
		case !ok:
			return &FieldError{Field: at(key), Err: errors.New("unknown key (keys are case-sensitive)")}
		case seen[key]:
			return &FieldError{Field: at(key), Err: errors.New("duplicate key")}
		}
		seen[key] = true
		if err := decodeValue(raw, v.Field(i), at(key)); err != nil {
			return err
		}
	}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if !seen[tag] {
			return &FieldError{Field: at(tag), Err: errors.New("missing")}
		}
	}
	return nil
}

func fieldOrDoc(path string, err error) error {
	if path == "" {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &FieldError{Field: path, Err: err}
}
