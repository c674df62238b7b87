package circuits

import (
	"bytes"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/rs/zerolog"
)

type square struct{ X, Y frontend.Variable }

func (c *square) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.X, c.X), c.Y)
	return nil
}

// gnark mutes its logger only under `go test`; outside, it writes a console line per
// compilation to stdout. With gnark's logger as a program gets it (pointed at buf here),
// compiling logs, and after this package's init logic nothing does.
func TestGnarkSilenced(t *testing.T) {
	defer silenceGnark()
	compile := func(silence bool) string {
		var buf bytes.Buffer
		gnarklog.Set(zerolog.New(zerolog.ConsoleWriter{Out: &buf, NoColor: true}))
		if silence {
			silenceGnark()
		}
		if _, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &square{}); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	if compile(false) == "" {
		t.Fatal("gnark logged nothing with its default logger: this test cannot see a regression")
	}
	if out := compile(true); out != "" {
		t.Fatalf("gnark logged after silenceGnark: %q", out)
	}
}
