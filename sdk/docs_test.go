package sdk_test

import (
	"os"
	"strings"
	"testing"
)

// docs/sdk.md shows examples/buy/main.go, the program a newcomer copies: the copy must be the
// file `go vet ./...` compiles, not a drifting one.
func TestDocsShowTheExampleProgram(t *testing.T) {
	doc, err := os.ReadFile("../docs/sdk.md")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("../examples/buy/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(prog)+"```") {
		t.Fatal("docs/sdk.md does not show examples/buy/main.go verbatim: copy the file into its first Go block")
	}
	if n := strings.Count(string(prog), "\n"); n >= 50 {
		t.Fatalf("examples/buy/main.go has %d lines; the docs promise a program under 50", n)
	}
}
