package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/watcher"
)

// The shipped watcher configuration loads (with a deployment file), flags override it,
// --check-config prints the effective configuration, and a bad setting is a usage error that
// names it.
func TestWatchExampleConfig(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "deployment.json")
	require.NoError(t, os.WriteFile(dep, []byte(`{"token": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
		"providers": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", "classes": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
		"hasher": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "manager": "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"}`), 0o644))
	example := "../../watcher/testdata/config.example.json"
	code, out, errs := runCLI(t, "watch", "--config", example, "--deployment-file", dep, "--max-bond", "5", "--check-config")
	require.Equal(t, exitOK, code, errs)
	var cfg watcher.Config
	require.NoError(t, json.Unmarshal([]byte(out), &cfg), out)
	assert.Equal(t, "5", cfg.MaxBond, "a flag overrides the file")
	assert.Equal(t, "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9", cfg.Deployment.Manager.Hex())

	code, _, errs = runCLI(t, "watch", "--config", example, "--deployment-file", dep, "--max-bond", "lots", "--check-config")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "maxBond")
	code, _, errs = runCLI(t, "watch", "--config", filepath.Join(dir, "none.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "none.json")
}
