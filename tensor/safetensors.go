package tensor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MaxHeaderLen is the largest safetensors JSON header a reader accepts (§3.1).
const MaxHeaderLen = 100 << 20

// Errors for malformed safetensors files (§3.1). They are wrapped with the offending tensor.
var (
	ErrHeaderTooLarge = errors.New("safetensors header too large")
	ErrHeader         = errors.New("malformed safetensors header")
	ErrBadOffsets     = errors.New("bad safetensors data offsets")
	ErrDtype          = errors.New("unexpected dtype")
	ErrDuplicate      = errors.New("duplicate tensor name")
	ErrTruncated      = errors.New("safetensors file truncated")
	ErrNotFound       = errors.New("tensor not found")
	// ErrExtraTensors reports a file holding tensors its kind does not have (§3.1): an
	// activation file holds exactly one tensor.
	ErrExtraTensors = errors.New("unexpected tensors in file")
)

// Dtypes of the safetensors format and their element sizes. Probity reads and writes I8 and
// I32; the others are recognised so that a file mixing them is parsed, not misread.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Info describes one tensor of a file: Begin and End are offsets into the data section.
type Info struct {
	Name       string
	DType      string
	Shape      []int
	Begin, End int64
}

// Header is a parsed and validated safetensors header.
type Header struct {
	Tensors   []Info // sorted by Begin
	Metadata  map[string]string
	DataStart int64 // offset of the data section in the file: 8 + header length
	DataLen   int64 // exact length of the data section
}

// Lookup returns the tensor called name.
func (h *Header) Lookup(name string) (Info, error) {
	for _, t := range h.Tensors {
		if t.Name == name {
			return t, nil
		}
	}
	return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
}

// Names returns the tensor names in data order.
func (h *Header) Names() []string {
	out := make([]string, len(h.Tensors))
	for i, t := range h.Tensors {
		out[i] = t.Name
	}
	return out
}

type entry struct {
	DType       string    `json:"dtype"`
	Shape       []uint64  `json:"shape"`
	DataOffsets [2]uint64 `json:"data_offsets"`
}

// ReadHeader reads the length prefix and JSON header from r and validates the offsets.
func ReadHeader(r io.Reader) (*Header, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: reading header length: %v", ErrTruncated, err)
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > MaxHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrHeaderTooLarge, n, MaxHeaderLen)
	}
	// ReadAll grows with the bytes actually present, so a lying length cannot make us allocate.
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if uint64(len(raw)) != n {
		return nil, fmt.Errorf("%w: header is %d bytes, file holds %d", ErrTruncated, n, len(raw))
	}
	h, err := parseHeader(raw)
	if err != nil {
		return nil, err
	}
	h.DataStart = 8 + int64(n)
	return h, nil
}

func parseHeader(raw []byte) (*Header, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrHeader)
	}
	h := &Header{Metadata: map[string]string{}}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrHeader, err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key is not a string", ErrHeader)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, name)
		}
		seen[name] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%w: value of %q: %v", ErrHeader, name, err)
		}
		if name == "__metadata__" {
			if h.Metadata, err = parseMetadata(val); err != nil {
				return nil, err
			}
			continue
		}
		var e entry
		ed := json.NewDecoder(bytes.NewReader(val))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrHeader, name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q has unknown dtype %q", ErrDtype, name, e.DType)
		}
		if e.Shape == nil {
			return nil, fmt.Errorf("%w: tensor %q has no shape", ErrHeader, name)
		}
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			if d > maxElems {
				return nil, fmt.Errorf("%w: tensor %q dimension %d too large", ErrShape, name, d)
			}
			shape[i] = int(d)
		}
		count, err := numel(shape)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		b, en := e.DataOffsets[0], e.DataOffsets[1]
		if en < b || en > 1<<62 {
			return nil, fmt.Errorf("%w: tensor %q has offsets [%d, %d)", ErrBadOffsets, name, b, en)
		}
		if en-b != uint64(count)*uint64(size) {
			return nil, fmt.Errorf("%w: tensor %q shape %v %s needs %d bytes, offsets span %d",
				ErrShape, name, shape, e.DType, uint64(count)*uint64(size), en-b)
		}
		h.Tensors = append(h.Tensors, Info{Name: name, DType: e.DType, Shape: shape, Begin: int64(b), End: int64(en)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	// Only whitespace padding (the reference writer uses spaces) may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrHeader)
	}
	slices.SortFunc(h.Tensors, func(a, b Info) int {
		if a.Begin != b.Begin {
			return int(min(max(a.Begin-b.Begin, -1), 1))
		}
		return int(min(max(a.End-b.End, -1), 1))
	})
	var at int64
	for _, t := range h.Tensors {
		if t.Begin < at {
			return nil, fmt.Errorf("%w: tensor %q at [%d, %d) overlaps the previous tensor ending at %d", ErrBadOffsets, t.Name, t.Begin, t.End, at)
		}
		if t.Begin > at {
			return nil, fmt.Errorf("%w: gap of %d bytes before tensor %q", ErrBadOffsets, t.Begin-at, t.Name)
		}
		at = t.End
	}
	h.DataLen = at
	return h, nil
}

// parseMetadata reads the __metadata__ object: strings to strings, each key once. A duplicate
// key is refused like a duplicate tensor name, since readers that keep the first and readers
// that keep the last would see different epilogues.
func parseMetadata(raw []byte) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: __metadata__ must map strings to strings", ErrHeader)
	}
	md := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: __metadata__: %v", ErrHeader, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: __metadata__ key is not a string", ErrHeader)
		}
		if _, dup := md[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q", ErrDuplicate, key)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: __metadata__ %q: %v", ErrHeader, key, err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: __metadata__ %q must be a string", ErrHeader, key)
		}
		md[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: __metadata__: %v", ErrHeader, err)
	}
	return md, nil
}

// File is a safetensors file held in memory.
type File struct {
	Header
	data []byte
}

// Read parses a whole safetensors file from r. The data section must end exactly where the
// last tensor ends.
func Read(r io.Reader) (*File, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, h.DataLen+1))
	if err != nil {
		return nil, fmt.Errorf("reading data: %w", err)
	}
	if int64(len(data)) < h.DataLen {
		return nil, fmt.Errorf("%w: tensors end at data offset %d, file holds %d data bytes", ErrBadOffsets, h.DataLen, len(data))
	}
	if int64(len(data)) > h.DataLen {
		return nil, fmt.Errorf("%w: bytes after the last tensor (ends at %d)", ErrBadOffsets, h.DataLen)
	}
	return &File{Header: *h, data: data}, nil
}

// ReadFile reads a safetensors file from disk.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

func (f *File) lookup(name, dtype string) (Info, []byte, error) {
	t, err := f.Lookup(name)
	if err != nil {
		return Info{}, nil, err
	}
	if t.DType != dtype {
		return Info{}, nil, fmt.Errorf("%w: tensor %q is %s, want %s", ErrDtype, name, t.DType, dtype)
	}
	return t, f.data[t.Begin:t.End], nil
}

// Int8 returns the I8 tensor called name.
func (f *File) Int8(name string) (*Int8, error) {
	t, b, err := f.lookup(name, "I8")
	if err != nil {
		return nil, err
	}
	out := &Int8{Shape: slices.Clone(t.Shape), Data: make([]int8, len(b))}
	for i, v := range b {
		out.Data[i] = int8(v)
	}
	return out, nil
}

// Int32 returns the I32 tensor called name.
func (f *File) Int32(name string) (*Int32, error) {
	t, b, err := f.lookup(name, "I32")
	if err != nil {
		return nil, err
	}
	out := &Int32{Shape: slices.Clone(t.Shape), Data: make([]int32, len(b)/4)}
	for i := range out.Data {
		out.Data[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Builder collects tensors and metadata for writing one file.
type Builder struct {
	names    []string
	values   map[string]any
	Metadata map[string]string
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{values: map[string]any{}, Metadata: map[string]string{}}
}

// Add adds a *Int8 or *Int32 tensor.
func (b *Builder) Add(name string, t any) error {
	if name == "" || name == "__metadata__" {
		return fmt.Errorf("%w: reserved or empty tensor name %q", ErrHeader, name)
	}
	if _, dup := b.values[name]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicate, name)
	}
	switch v := t.(type) {
	case *Int8:
		if err := v.Check(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	case *Int32:
		if err := v.Check(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	default:
		return fmt.Errorf("%w: tensor %q has Go type %T, want *Int8 or *Int32", ErrDtype, name, t)
	}
	b.names = append(b.names, name)
	b.values[name] = t
	return nil
}

// Write writes tensors (each *Int8 or *Int32) and metadata as one safetensors file.
func Write(w io.Writer, tensors map[string]any, metadata map[string]string) error {
	b := NewBuilder()
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := b.Add(n, tensors[n]); err != nil {
			return err
		}
	}
	for k, v := range metadata {
		b.Metadata[k] = v
	}
	_, err := b.WriteTo(w)
	return err
}

// WriteTo writes the file. Like the reference writer, tensors are laid out by decreasing element
// size (so every tensor is aligned to its element size) and then by name, and the header is padded
// with spaces to a multiple of 8 bytes.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	type item struct {
		name  string
		dtype string
		shape []int
		size  int
	}
	items := make([]item, 0, len(b.names))
	for _, n := range b.names {
		switch v := b.values[n].(type) {
		case *Int8:
			items = append(items, item{n, "I8", v.Shape, 1})
		case *Int32:
			items = append(items, item{n, "I32", v.Shape, 4})
		}
	}
	slices.SortStableFunc(items, func(x, y item) int {
		if x.size != y.size {
			return y.size - x.size
		}
		return strings.Compare(x.name, y.name)
	})
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if len(b.Metadata) > 0 {
		sep()
		hdr.WriteString(`"__metadata__":`)
		m, err := json.Marshal(b.Metadata) // map keys are sorted
		if err != nil {
			return 0, err
		}
		hdr.Write(m)
	}
	var off int64
	for _, it := range items {
		sep()
		n, _ := numel(it.shape)
		end := off + int64(n*it.size)
		name, _ := json.Marshal(it.name)
		shape := it.shape
		if shape == nil {
			shape = []int{}
		}
		sh, _ := json.Marshal(shape)
		fmt.Fprintf(&hdr, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, it.dtype, sh, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(hdr.Len()))
	bw.Write(pre[:])
	bw.Write(hdr.Bytes())
	var buf [4]byte
	for _, it := range items {
		switch v := b.values[it.name].(type) {
		case *Int8:
			for _, x := range v.Data {
				bw.WriteByte(byte(x))
			}
		case *Int32:
			for _, x := range v.Data {
				binary.LittleEndian.PutUint32(buf[:], uint32(x))
				bw.Write(buf[:])
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return 8 + int64(hdr.Len()) + off, nil
}

// WriteFile writes a builder's content to path.
func (b *Builder) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := b.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// RowReader reads rows of a 2-D I8 tensor from a file without loading it whole, for tensors
// larger than the memory budget.
type RowReader struct {
	f          *os.File
	info       Info
	Rows, Cols int
	base       int64
}

// OpenRows opens the 2-D I8 tensor name in the activation file at path, which must hold that
// tensor alone (§3.1).
func OpenRows(path, name string) (*RowReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	h, err := ReadHeader(bufio.NewReader(io.NewSectionReader(f, 0, st.Size())))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.DataStart+h.DataLen != st.Size() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: header says %d bytes, file has %d", path, ErrBadOffsets, h.DataStart+h.DataLen, st.Size())
	}
	t, err := h.Lookup(name)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(h.Tensors) != 1 {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %d tensors, an activation file holds only %q", path, ErrExtraTensors, len(h.Tensors), name)
	}
	if t.DType != "I8" {
		f.Close()
		return nil, fmt.Errorf("%s: %w: tensor %q is %s, want I8", path, ErrDtype, name, t.DType)
	}
	if len(t.Shape) != 2 {
		f.Close()
		return nil, fmt.Errorf("%s: %w: tensor %q has shape %v, want a matrix", path, ErrShape, name, t.Shape)
	}
	return &RowReader{f: f, info: t, Rows: t.Shape[0], Cols: t.Shape[1], base: h.DataStart + t.Begin}, nil
}

// ReadRows reads rows [lo, hi) into dst (len >= (hi-lo)*Cols) and returns the filled slice.
func (r *RowReader) ReadRows(lo, hi int, dst []int8) ([]int8, error) {
	if lo < 0 || hi > r.Rows || lo > hi {
		return nil, fmt.Errorf("rows [%d, %d) outside [0, %d)", lo, hi, r.Rows)
	}
	n := (hi - lo) * r.Cols
	if cap(dst) < n {
		dst = make([]int8, n)
	}
	dst = dst[:n]
	buf := unsafeBytes(dst)
	if _, err := r.f.ReadAt(buf, r.base+int64(lo*r.Cols)); err != nil {
		return nil, fmt.Errorf("reading rows [%d, %d) of %q: %w", lo, hi, r.info.Name, err)
	}
	return dst, nil
}

// Close closes the file.
func (r *RowReader) Close() error { return r.f.Close() }
