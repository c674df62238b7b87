package main

import (
	"encoding/json"
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
	dep := writeDeployment(t, dir)
	example := "../../watcher/testdata/config.example.json"
	code, out, errs := runCLI(t, "watch", "--config", example, "--deployment", dep, "--max-bond", "5", "--check-config")
	require.Equal(t, exitOK, code, errs)
	var cfg watcher.Config
	require.NoError(t, json.Unmarshal([]byte(out), &cfg), out)
	assert.Equal(t, "5", cfg.MaxBond, "a flag overrides the file")
	assert.Equal(t, "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9", cfg.Deployment.Manager.Hex())

	code, _, errs = runCLI(t, "watch", "--config", example, "--deployment", dep, "--max-bond", "lots", "--check-config")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "maxBond")
	code, _, errs = runCLI(t, "watch", "--config", filepath.Join(dir, "none.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "none.json")
}
