//go:build unix

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/probitylabs/probity/internal/testenv"
)

// binDir holds the probity binary built for this test run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "probity-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(3)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// probityBinary builds ./cmd/probity once per test run and returns its path. The build
// happens on first use rather than in TestMain so that a run that skips every test (no
// anvil) or filters them out does not pay for it.
func probityBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(binDir, "probity")
		// `go test` puts its own GOROOT/bin first on PATH, so this is the toolchain
		// that builds the tests.
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/probity")
		cmd.Dir = root
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/probity: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %v", buildPath, time.Since(t0).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}
