package bindings_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probitylabs/probity/contracts/bindings/internal/bindgen"
	"github.com/probitylabs/probity/internal/testenv"
)

// TestBindingsUpToDate runs this package's go:generate command with the output
// redirected to a temporary file (it rebuilds the contracts with forge) and
// requires the result to equal the committed file: a contract change without
// `go generate ./contracts/bindings` fails here. Running the command from
// doc.go, rather than calling the generator, also checks that command.
func TestBindingsUpToDate(t *testing.T) {
	testenv.ForgePath(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool: %v", err)
	}
	args := generateArgs(t)
	out := filepath.Join(t.TempDir(), "bindings.go")
	for i := range args {
		if args[i] == "-out" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	cmd := exec.Command(goTool, args[1:]...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("bindings.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("contracts/bindings/bindings.go is stale (%d bytes generated, %d committed): run `go generate ./contracts/bindings`", len(got), len(want))
	}
}

// generateArgs returns the fields of doc.go's go:generate line, which must write
// bindings.go of this package.
func generateArgs(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate "); ok {
			args := strings.Fields(rest)
			joined := " " + strings.Join(args, " ") + " "
			for _, want := range []string{" -out bindings.go ", " -pkg bindings "} {
				if !strings.Contains(joined, want) {
					t.Fatalf("go:generate line %q lacks %q", rest, strings.TrimSpace(want))
				}
			}
			if args[0] != "go" {
				t.Fatalf("go:generate line %q does not run the go tool", rest)
			}
			return args
		}
	}
	t.Fatal("doc.go has no go:generate line")
	return nil
}

func TestGenerateRejectsMissingArtifact(t *testing.T) {
	if _, err := bindgen.Generate(t.TempDir(), "bindings", bindgen.Contracts); err == nil {
		t.Fatal("Generate succeeded without artifacts")
	}
}

func TestGenerateRejectsEmptyList(t *testing.T) {
	if _, err := bindgen.Generate(t.TempDir(), "bindings", nil); err == nil {
		t.Fatal("Generate succeeded without contracts")
	}
}
