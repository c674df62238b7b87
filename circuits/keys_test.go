package circuits

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestKeyCache(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	s := tinyTarget()
	if _, err := c.Load(s); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty cache: %v", err)
	}
	k1, err := c.Setup(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ccs", "pk", "vk", "checksums"} {
		if _, err := os.Stat(filepath.Join(c.EntryDir(s), f)); err != nil {
			t.Fatal(err)
		}
	}
	k2, err := c.Setup(s) // loaded, not regenerated
	if err != nil {
		t.Fatal(err)
	}
	p, pub := proveChain(t, k2, 8)
	if err := verifyChain(k1.VK, p, pub); err != nil {
		t.Fatalf("proof from loaded keys under the generated vk: %v", err)
	}

	// Corrupt the proving key: a clear error, then regeneration works.
	pk := filepath.Join(c.EntryDir(s), "pk")
	b, _ := os.ReadFile(pk)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(pk, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Setup(s); !errors.Is(err, ErrCacheCorrupt) {
		t.Fatalf("corrupt pk: got %v, want ErrCacheCorrupt", err)
	} else {
		t.Log(err)
	}
	if _, err := c.Regenerate(s); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(s); err != nil {
		t.Fatalf("after regeneration: %v", err)
	}

	// A missing file is corruption too, not a silent regeneration.
	os.Remove(filepath.Join(c.EntryDir(s), "vk"))
	if _, err := c.Load(s); !errors.Is(err, ErrCacheCorrupt) {
		t.Fatalf("missing vk: got %v", err)
	}

	// An entry without its checksums file (an interrupted copy) counts as absent and is
	// replaced by a fresh setup.
	os.Remove(filepath.Join(c.EntryDir(s), "checksums"))
	if _, err := c.Setup(s); err != nil {
		t.Fatalf("entry without checksums: %v", err)
	}
	if _, err := c.Load(s); err != nil {
		t.Fatal(err)
	}
}

// Concurrent first uses produce one consistent entry.
func TestKeyCacheConcurrent(t *testing.T) {
	c := Cache{Dir: t.TempDir()}
	s := tinyTarget()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Cache{Dir: c.Dir}.Setup(s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Load(s); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(c.Dir, ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary directories left behind: %v", left)
	}
}
