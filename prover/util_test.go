package prover_test

import (
	"fmt"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func mustWord(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s[2:], 16)
	if !ok {
		t.Fatalf("not a word: %q", s)
	}
	return v
}

func keccak(b []byte) []byte { return crypto.Keccak256(b) }

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }

// word spells v as the journal does: 0x and 64 lower-case hex digits.
func word(v *big.Int) string { return fmt.Sprintf("0x%064x", v) }
