package receipt

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestReadFile: a regular file is read whole; a FIFO (which a plain read would block on), a
// directory and a file over MaxSize are refused without reading them.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte(`{"version":"probity.receipt.v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(ok); err != nil || string(b) != `{"version":"probity.receipt.v1"}` {
		t.Fatalf("regular file: %q %v", b, err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxSize+1); err != nil {
		t.Fatal(err)
	}
	refused := []string{dir, big}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		refused = append(refused, fifo)
	} else {
		t.Logf("no FIFO: %v", err)
	}
	for _, p := range refused {
		if _, err := ReadFile(p); err == nil {
			t.Errorf("%s read", p)
		} else {
			t.Log(err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}
