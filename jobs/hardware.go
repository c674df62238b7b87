package jobs

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
)

// A buyer may say what hardware its job must run on (specs/trace.md §1.4): GPU models, chips
// and boards, a minimum of GPU memory, confidential computing. The requirement travels in the
// job file, and the request commits to it through its salt, salt = keccak256("probity/hardware/v1"
// || canonical requirement || 32-byte nonce): the request hash (the job id the buyer signs)
// then binds it, while the job digest, which the circuit proves over, and every existing
// encoding stay as they were. A job without a requirement keeps a free salt.

// HardwareTag domain-separates the salt commitment.
const HardwareTag = "probity/hardware/v1"

// Bounds of a requirement: at most MaxHardwareNames names per list, each 1 to 64 printable
// ASCII characters.
const (
	MaxHardwareNames = 16
	maxHardwareName  = 64
)

// ErrHardware reports a malformed hardware requirement.
var ErrHardware = errors.New("malformed hardware requirement")

// Hardware is what a job requires of the GPUs that run it. The lists accept any of their names
// (empty: any). Models are NVML device names, which in CC mode must agree with the signed chip;
// Chips the chip the GPU's certificate chain names ("GH100"); Boards the board its signed
// report names ("1010_0200_882"). MinMemoryBytes is compared with NVML's memory total, which
// only the provider vouches for (a board implies its memory and is signed).
type Hardware struct {
	RequireCC      bool     `json:"cc,omitempty"`
	Models         []string `json:"models,omitempty"`
	Chips          []string `json:"chips,omitempty"`
	Boards         []string `json:"boards,omitempty"`
	MinMemoryBytes uint64   `json:"minMemoryBytes,omitempty"`
}

// Validate checks the bounds and the canonical lists (sorted ascending by bytes, unique).
func (h *Hardware) Validate() error {
	if h.IsZero() {
		return fmt.Errorf("%w: it requires nothing (leave it out instead)", ErrHardware)
	}
	if h.MinMemoryBytes > 1<<53-1 {
		return fmt.Errorf("%w: minMemoryBytes %d is above 2^53 - 1", ErrHardware, h.MinMemoryBytes)
	}
	for _, l := range []struct {
		name  string
		names []string
	}{{"models", h.Models}, {"chips", h.Chips}, {"boards", h.Boards}} {
		if len(l.names) > MaxHardwareNames {
			return fmt.Errorf("%w: %d %s, at most %d", ErrHardware, len(l.names), l.name, MaxHardwareNames)
		}
		for i, n := range l.names {
			if n == "" || len(n) > maxHardwareName || strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
				return fmt.Errorf("%w: %s[%d] %q is not 1 to %d printable ASCII characters", ErrHardware, l.name, i, n, maxHardwareName)
			}
			if i > 0 && l.names[i-1] >= n {
				return fmt.Errorf("%w: %s are not sorted and unique (%q before %q)", ErrHardware, l.name, l.names[i-1], n)
			}
		}
	}
	return nil
}

// IsZero says the requirement requires nothing.
func (h *Hardware) IsZero() bool {
	return !h.RequireCC && len(h.Models) == 0 && len(h.Chips) == 0 && len(h.Boards) == 0 && h.MinMemoryBytes == 0
}

// Canonical is the requirement's canonical JSON: keys in the order of the struct, members that
// require nothing left out, no whitespace (Go's encoding/json with HTML escaping off, over
// printable ASCII names).
func (h *Hardware) Canonical() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseHardware reads a canonical requirement strictly: no unknown member, and byte for byte
// its canonical form.
func ParseHardware(b []byte) (*Hardware, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	h := &Hardware{}
	if err := d.Decode(h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHardware, err)
	}
	canon, err := h.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: not the canonical encoding %s", ErrHardware, canon)
	}
	return h, nil
}

// Salt is the request salt that commits to the requirement under nonce (a random 32 bytes the
// buyer keeps in the job file, so that the salt still makes the request unique).
func (h *Hardware) Salt(nonce [32]byte) (*big.Int, error) {
	canon, err := h.Canonical()
	if err != nil {
		return nil, err
	}
	d := crypto.Keccak256([]byte(HardwareTag), canon, nonce[:])
	return new(big.Int).SetBytes(d), nil
}

// Normalize sorts and de-duplicates the lists, so that a requirement built by hand is canonical.
// The lists are replaced, never edited in place: a copy of a caller's Hardware shares them.
func (h *Hardware) Normalize() {
	for _, l := range []*[]string{&h.Models, &h.Chips, &h.Boards} {
		*l = slices.Compact(slices.Sorted(slices.Values(*l)))
		if len(*l) == 0 {
			*l = nil
		}
	}
}

func parseNonce(s string) ([32]byte, error) {
	var n [32]byte
	if len(s) != 66 || !strings.HasPrefix(s, "0x") || strings.ToLower(s) != s {
		return n, fileErr("job: hardware.nonce %q is not 0x and 64 lower-case hex digits", s)
	}
	if _, err := hex.Decode(n[:], []byte(s[2:])); err != nil {
		return n, fileErr("job: hardware.nonce %q is not hex", s)
	}
	return n, nil
}
