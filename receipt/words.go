package receipt

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Word is a 256-bit value (a root, a seed, a public input) written as 0x and 64 lower-case hex
// digits. One spelling per value keeps the JSON canonical.
type Word [32]byte

// WordFromBig converts v, which must be in [0, 2^256).
func WordFromBig(v *big.Int) (Word, error) {
	var w Word
	if v == nil || v.Sign() < 0 || v.BitLen() > 256 {
		return w, fmt.Errorf("value %v out of uint256 range", v)
	}
	v.FillBytes(w[:])
	return w, nil
}

// MustWord is WordFromBig for values known to be in range (field elements, hashes).
func MustWord(v *big.Int) Word {
	w, err := WordFromBig(v)
	if err != nil {
		panic(err)
	}
	return w
}

// Big returns the word as an unsigned integer.
func (w Word) Big() *big.Int { return new(big.Int).SetBytes(w[:]) }

func (w Word) String() string { return "0x" + hex.EncodeToString(w[:]) }

// MarshalText implements encoding.TextMarshaler.
func (w Word) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText accepts exactly 0x followed by 64 lower-case hex digits.
func (w *Word) UnmarshalText(b []byte) error {
	return decodeFixedHex(string(b), w[:])
}

// Bytes is a byte string written as 0x and lower-case hex.
type Bytes []byte

// MarshalText implements encoding.TextMarshaler.
func (b Bytes) MarshalText() ([]byte, error) { return []byte("0x" + hex.EncodeToString(b)), nil }

// UnmarshalText accepts 0x followed by an even number of lower-case hex digits.
func (b *Bytes) UnmarshalText(t []byte) error {
	s := string(t)
	if err := checkHex(s); err != nil {
		return err
	}
	out, err := hex.DecodeString(s[2:])
	if err != nil {
		return fmt.Errorf("invalid hex: %w", err)
	}
	*b = out
	return nil
}

// Uint is an unsigned integer of up to 256 bits written as a decimal string, because chain ids
// and job ids may exceed what JSON numbers carry exactly.
type Uint struct{ big.Int }

// NewUint returns v as a Uint.
func NewUint(v *big.Int) *Uint {
	u := new(Uint)
	u.Set(v)
	return u
}

// MarshalText implements encoding.TextMarshaler.
func (u Uint) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// MarshalJSON writes a JSON string. It must be defined here: the embedded big.Int's promoted
// MarshalJSON would otherwise write a bare JSON number.
func (u Uint) MarshalJSON() ([]byte, error) { return []byte(`"` + u.String() + `"`), nil }

// UnmarshalJSON reads a JSON string holding a canonical decimal; numbers and null are refused.
func (u *Uint) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("%s is not a decimal string", truncate(string(b)))
	}
	return u.UnmarshalText(b[1 : len(b)-1])
}

// Big returns the value as a big.Int (a copy).
func (u *Uint) Big() *big.Int { return new(big.Int).Set(&u.Int) }

// UnmarshalText accepts a canonical decimal (no sign, no leading zeros) below 2^256.
func (u *Uint) UnmarshalText(t []byte) error {
	s := string(t)
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return fmt.Errorf("%q is not a canonical decimal integer", s)
	}
	if _, ok := u.SetString(s, 10); !ok || u.BitLen() > 256 {
		return fmt.Errorf("%q is out of uint256 range", s)
	}
	return nil
}

func checkHex(s string) error {
	if !strings.HasPrefix(s, "0x") {
		return fmt.Errorf("%q lacks the 0x prefix", truncate(s))
	}
	if len(s)%2 != 0 {
		return fmt.Errorf("%q has an odd number of hex digits", truncate(s))
	}
	if strings.TrimLeft(s[2:], "0123456789abcdef") != "" {
		return fmt.Errorf("%q is not lower-case hex", truncate(s))
	}
	return nil
}

func decodeFixedHex(s string, dst []byte) error {
	if err := checkHex(s); err != nil {
		return err
	}
	if len(s) != 2+2*len(dst) {
		return fmt.Errorf("%q: want %d bytes of hex, got %d", truncate(s), len(dst), (len(s)-2)/2)
	}
	_, err := hex.Decode(dst, []byte(s[2:]))
	return err
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
