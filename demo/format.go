package demo

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

var tokenUnit = big.NewInt(1e18)

// tokens formats base units as tokens with up to 4 decimals (18-decimal token).
func tokens(v *big.Int) string {
	if v == nil {
		return "0"
	}
	neg := v.Sign() < 0
	a := new(big.Int).Abs(v)
	q, rem := new(big.Int).QuoRem(a, tokenUnit, new(big.Int))
	frac := fmt.Sprintf("%018s", rem.String())[:4]
	frac = strings.TrimRight(frac, "0")
	s := q.String()
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// signed formats a token delta with its sign.
func signed(v *big.Int) string {
	if v.Sign() > 0 {
		return "+" + tokens(v)
	}
	return tokens(v)
}

func pct(f float64) string {
	switch {
	case f >= 0.9999 && f < 1:
		return fmt.Sprintf("%.4f%%", f*100)
	case f == float64(int(f*100))/100:
		return fmt.Sprintf("%.0f%%", f*100)
	}
	return fmt.Sprintf("%.2f%%", f*100)
}

func short(a common.Address) string {
	h := a.Hex()
	return h[:6] + "…" + h[len(h)-4:]
}

func bigOf(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return new(big.Int)
	}
	return v
}

// firstLine cuts s at its first newline and at n runes.
func firstLine(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// amount formats base units as "1 token" or "4.2631 tokens".
func amount(v *big.Int) string {
	if s := tokens(v); s != "1" {
		return s + " tokens"
	}
	return "1 token"
}

// abbrev shortens a decimal field element for a line of output.
func abbrev(s string) string {
	if len(s) <= 14 {
		return s
	}
	return s[:6] + "…" + s[len(s)-6:]
}
