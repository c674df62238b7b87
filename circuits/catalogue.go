package circuits

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/probitylabs/probity/protocol"
)

// ErrUnknownShape reports a shape name or id that is not in the catalogue.
var ErrUnknownShape = errors.New("unknown circuit shape")

// Shape is one compiled circuit (§5): input width K, output width N, rows depth D (M <= 2^D)
// and k samples.
type Shape struct {
	Name string
	K    uint32
	N    uint32
	D    uint8
	Kn   uint16 // k, the number of samples
}

// ID is keccak256(abi.encodePacked("probity/shape/v0", uint32 K, uint32 N, uint8 D, uint16 k)).
func (s Shape) ID() [32]byte { return protocol.ShapeID(s.K, s.N, s.D, s.Kn) }

// IDHex is the id as 0x-prefixed lower-case hex.
func (s Shape) IDHex() string { id := s.ID(); return "0x" + hex.EncodeToString(id[:]) }

// WeightsDepth is ceil(log2 N), the depth of the layer-parameter tree.
func (s Shape) WeightsDepth() int {
	d := 0
	for (uint64(1) << d) < uint64(s.N) {
		d++
	}
	return d
}

// Validate checks that the shape can be compiled.
func (s Shape) Validate() error {
	switch {
	case s.K == 0 || s.N == 0:
		return fmt.Errorf("shape %q: K and N must be positive", s.Name)
	case s.D > 32:
		return fmt.Errorf("shape %q: rows depth %d above 32", s.Name, s.D)
	case s.Kn == 0:
		return fmt.Errorf("shape %q: k must be positive", s.Name)
	case s.K > 1<<20 || s.N > 1<<20:
		// Keeps |acc| < 2^31 checkable and circuits of sane size.
		return fmt.Errorf("shape %q: K and N above 2^20", s.Name)
	}
	return nil
}

func (s Shape) String() string {
	return fmt.Sprintf("%s(K=%d, N=%d, D=%d, k=%d)", s.Name, s.K, s.N, s.D, s.Kn)
}

// catalogue is the table of §5; ids are derived, never written by hand.
var catalogue = []Shape{
	{Name: "tiny", K: 16, N: 4, D: 3, Kn: 2},
	{Name: "demo-64", K: 64, N: 64, D: 4, Kn: 8},
	{Name: "mlp-256", K: 256, N: 256, D: 10, Kn: 32},
	{Name: "llm-4096", K: 4096, N: 4096, D: 12, Kn: 32},
}

// Catalogue returns the named shapes in catalogue order.
func Catalogue() []Shape { return append([]Shape(nil), catalogue...) }

// Lookup returns the catalogue shape with this name.
func Lookup(name string) (Shape, error) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(catalogue))
	for i, s := range catalogue {
		names[i] = s.Name
	}
	return Shape{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownShape, name, strings.Join(names, ", "))
}

// ByID returns the catalogue shape with this id.
func ByID(id [32]byte) (Shape, error) {
	for _, s := range catalogue {
		if s.ID() == id {
			return s, nil
		}
	}
	return Shape{}, fmt.Errorf("%w: id 0x%x", ErrUnknownShape, id)
}
