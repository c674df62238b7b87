package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// rawFile assembles a file from a header string and data, without going through Write.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestWriteFormat(t *testing.T) {
	x := &Int8{Shape: []int{2, 3}, Data: []int8{-1, 0, 1, 2, -128, 127}}
	y := &Int32{Shape: []int{2}, Data: []int32{-2, 1 << 30}}
	var buf bytes.Buffer
	if err := Write(&buf, map[string]any{"x": x, "y": y}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b[:8])
	if n%8 != 0 {
		t.Fatalf("header length %d not 8-aligned", n)
	}
	hdr := string(b[8 : 8+n])
	if strings.TrimRight(hdr, " ") != `{"__metadata__":{"k":"v"},"y":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"I8","shape":[2,3],"data_offsets":[8,14]}}` {
		t.Fatalf("header %q", hdr)
	}
	// The header is plain JSON any reader (Python's json module included) accepts.
	var generic map[string]any
	if err := json.Unmarshal([]byte(hdr), &generic); err != nil {
		t.Fatal(err)
	}
	data := b[8+n:]
	want := []byte{0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0x40, 0xff, 0, 1, 2, 0x80, 0x7f}
	if !bytes.Equal(data, want) {
		t.Fatalf("data %x, want %x", data, want)
	}
	f, err := Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	gx, err := f.Int8("x")
	if err != nil || !gx.Equal(x) {
		t.Fatalf("x = %+v, %v", gx, err)
	}
	gy, err := f.Int32("y")
	if err != nil || gy.Data[0] != -2 || gy.Data[1] != 1<<30 {
		t.Fatalf("y = %+v, %v", gy, err)
	}
	if f.Metadata["k"] != "v" {
		t.Fatalf("metadata %v", f.Metadata)
	}
	if _, err := f.Int32("x"); !errors.Is(err, ErrDtype) {
		t.Fatalf("I8 read as I32: %v", err)
	}
	if _, err := f.Int8("z"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing tensor: %v", err)
	}
}

func TestReadRejects(t *testing.T) {
	big := make([]byte, 8)
	binary.LittleEndian.PutUint64(big, MaxHeaderLen+1)
	cases := []struct {
		name string
		file []byte
		want error
	}{
		{"header too large", big, ErrHeaderTooLarge},
		{"short prefix", []byte{1, 2}, ErrTruncated},
		{"truncated header", rawFile(`{"x":`, nil)[:10], ErrTruncated},
		{"not json", rawFile(`nope`, nil), ErrHeader},
		{"trailing json", rawFile(`{}{}`, nil), ErrHeader},
		{"unknown field", rawFile(`{"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1],"extra":1}}`, []byte{0}), ErrHeader},
		{"unknown dtype", rawFile(`{"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), ErrDtype},
		{"duplicate", rawFile(`{"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}}`, []byte{0, 0}), ErrDuplicate},
		{"shape mismatch", rawFile(`{"x":{"dtype":"I32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), ErrShape},
		{"negative dim", rawFile(`{"x":{"dtype":"I8","shape":[-1],"data_offsets":[0,1]}}`, []byte{0}), ErrHeader},
		{"overlap", rawFile(`{"x":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"I8","shape":[2],"data_offsets":[1,3]}}`, make([]byte, 3)), ErrBadOffsets},
		{"gap", rawFile(`{"x":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), ErrBadOffsets},
		{"past end", rawFile(`{"x":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 2)), ErrBadOffsets},
		{"trailing data", rawFile(`{"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 2)), ErrBadOffsets},
		{"reversed offsets", rawFile(`{"x":{"dtype":"I8","shape":[0],"data_offsets":[2,1]}}`, make([]byte, 2)), ErrBadOffsets},
		{"huge shape", rawFile(`{"x":{"dtype":"I8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}`, []byte{0}), ErrShape},
		{"metadata not strings", rawFile(`{"__metadata__":{"a":1}}`, nil), ErrHeader},
	}
	for _, c := range cases {
		if _, err := Read(bytes.NewReader(c.file)); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, map[string]any{"x": RandomInput(1, 3, 5), "b": &Int32{Shape: []int{3}, Data: []int32{1, -2, 3}}}, map[string]string{"a": "b"})
	f.Add(buf.Bytes())
	f.Add(rawFile(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(rawFile(`{}`, nil))
	f.Add(rawFile(`{"x":{"dtype":"I8","shape":[],"data_offsets":[0,1]}}`, []byte{7}))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses must re-encode (I8/I32 only) and parse back to the same tensors.
		b := NewBuilder()
		for k, v := range file.Metadata {
			b.Metadata[k] = v
		}
		for _, info := range file.Tensors {
			var v any
			switch info.DType {
			case "I8":
				v, err = file.Int8(info.Name)
			case "I32":
				v, err = file.Int32(info.Name)
			default:
				continue
			}
			if err != nil {
				t.Fatalf("%s listed but unreadable: %v", info.Name, err)
			}
			if err := b.Add(info.Name, v); err != nil {
				if info.Name == "" {
					continue
				}
				t.Fatalf("re-adding %q: %v", info.Name, err)
			}
		}
		var out bytes.Buffer
		if _, err := b.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := Read(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("re-read of written file: %v", err)
		}
		for _, name := range again.Names() {
			info, _ := again.Lookup(name)
			if info.DType == "I8" {
				x1, _ := file.Int8(name)
				x2, _ := again.Int8(name)
				if !x1.Equal(x2) {
					t.Fatalf("%s changed in round trip", name)
				}
			} else {
				y1, _ := file.Int32(name)
				y2, _ := again.Int32(name)
				if len(y1.Data) != len(y2.Data) || (len(y1.Data) > 0 && y1.Data[0] != y2.Data[0]) {
					t.Fatalf("%s changed in round trip", name)
				}
			}
		}
		if len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("metadata changed: %v vs %v", again.Metadata, file.Metadata)
		}
	})
}

// TestUpstreamFixture reads the byte string of the reference implementation's own
// deserialization test (huggingface/safetensors, tensor.rs), and checks that our writer emits
// what the reference serializer emits for the same tensor: the same JSON key order and the
// header padded with spaces to a multiple of 8.
func TestUpstreamFixture(t *testing.T) {
	upstream := []byte("<\x00\x00\x00\x00\x00\x00\x00{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}" + strings.Repeat("\x00", 16))
	f, err := Read(bytes.NewReader(upstream))
	if err != nil {
		t.Fatal(err)
	}
	x, err := f.Int32("test")
	if err != nil || len(x.Data) != 4 || x.Shape[0] != 2 || x.Shape[1] != 2 {
		t.Fatalf("%+v %v", x, err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, map[string]any{"test": x}, nil); err != nil {
		t.Fatal(err)
	}
	want := []byte("@\x00\x00\x00\x00\x00\x00\x00{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}    " + strings.Repeat("\x00", 16))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("writer output\n%q\nwant\n%q", buf.Bytes(), want)
	}
}
