package testenv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRepoRootHoldsGoMod(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "module github.com/probitylabs/probity") {
		t.Fatalf("%s/go.mod is not the probity module", root)
	}
}

func TestFindRootFailsOutsideModule(t *testing.T) {
	_, err := findRoot(t.TempDir())
	// A temp dir may sit below a stray go.mod on odd machines; only the error kind matters.
	if err != nil && !errors.Is(err, ErrNoRepoRoot) {
		t.Fatalf("findRoot error %v is not ErrNoRepoRoot", err)
	}
}

func TestLocateMissingToolIsErrNotInstalled(t *testing.T) {
	_, err := Locate(t.TempDir(), "anvil")
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Locate in an empty dir: got %v, want ErrNotInstalled", err)
	}
}

func TestLocatePrefersNativeBinary(t *testing.T) {
	root := t.TempDir()
	native := filepath.Join(root, "node_modules", "@foundry-rs", "cast-"+npmPlatform(), "bin", "cast")
	launcher := filepath.Join(root, "node_modules", ".bin", "cast")
	for _, p := range []string{native, launcher} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Locate(root, "cast")
	if err != nil || got != native {
		t.Fatalf("Locate = %q, %v; want %q", got, err, native)
	}
	if err := os.Remove(native); err != nil {
		t.Fatal(err)
	}
	got, err = Locate(root, "cast")
	if err != nil || got != launcher {
		t.Fatalf("Locate without native binary = %q, %v; want %q", got, err, launcher)
	}
	// A non-executable file is not a usable tool.
	if err := os.Chmod(launcher, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Locate(root, "cast"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Locate with a non-executable launcher: got %v, want ErrNotInstalled", err)
	}
}

func TestToolsReportPinnedVersion(t *testing.T) {
	for name, path := range map[string]string{"forge": ForgePath(t), "anvil": AnvilPath(t), "cast": CastPath(t)} {
		out, err := exec.Command(path, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v: %s", name, err, out)
		}
		if !strings.Contains(string(out), "1.7.1") {
			t.Errorf("%s --version = %q, want the pinned 1.7.1", name, out)
		}
	}
}

func TestStartAnvilAnswersChainID(t *testing.T) {
	url := StartAnvil(t)
	id, err := ChainID(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if id != AnvilChainID {
		t.Fatalf("eth_chainId = %d, want %d", id, AnvilChainID)
	}
}

func TestStartAnvilPassesFlags(t *testing.T) {
	url := StartAnvil(t, "--chain-id", "4242")
	id, err := ChainID(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if id != 4242 {
		t.Fatalf("eth_chainId = %d, want 4242", id)
	}
}

func TestChainIDRejectsDeadEndpoint(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ChainID(context.Background(), "http://127.0.0.1:"+strconv.Itoa(port)); err == nil {
		t.Fatal("ChainID on a closed port succeeded")
	}
}
