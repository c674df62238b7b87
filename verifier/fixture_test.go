package verifier_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/probitylabs/probity/receipt"
	. "github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/verifiertest"
)

type fixture struct{ *verifiertest.Fixture }

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// getFixture builds the shared real receipt once (the circuit setup is the slow part).
func getFixture(t testing.TB) fixture {
	t.Helper()
	fixOnce.Do(func() {
		var f *verifiertest.Fixture
		f, fixErr = verifiertest.Build(fixtureDir)
		fix = fixture{f}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// fixtureDir outlives single tests (the fixture is shared), so it lives in TestMain's tempdir.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "probity-verifier-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A fresh copy of the fixture receipt, safe to tamper with.
func (f fixture) rc(t testing.TB) *receipt.Receipt {
	t.Helper()
	rc, err := receipt.Parse(f.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func (f fixture) opts() Options {
	return Options{Keys: &CacheKeys{Cache: f.Cache}}
}

func (f fixture) policy() Policy {
	p := DefaultPolicy()
	p.ExpectedChainID = f.ChainID
	c := f.Contract
	p.ExpectedContract = &c
	p.AllowNoAttestation = true
	return p
}
