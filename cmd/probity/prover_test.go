package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/prover"
)

// The shipped v1 example configuration loads (with a deployment file where it names one),
// flags override it, and --check-config prints the effective configuration.
func TestProverExampleConfig(t *testing.T) {
	dir := t.TempDir()
	dep := writeDeployment(t, dir)
	code, out, errs := runCLI(t, "prover", "--config", "../../prover/testdata/config.example.json", "--deployment", dep,
		"--min-price", "7", "--check-config")
	require.Equal(t, exitOK, code, errs)
	var cfg prover.Config
	require.NoError(t, json.Unmarshal([]byte(out), &cfg), out)
	assert.Equal(t, []string{"small"}, cfg.Classes)
	assert.Equal(t, "7", cfg.MinPrice, "a flag overrides the file")
	assert.Equal(t, "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9", cfg.Deployment.Manager.Hex())

	code, _, errs = runCLI(t, "prover", "--config", "../../prover/testdata/config.example.json", "--check-config")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "deploymentFile")
	code, _, errs = runCLI(t, "prover", "--config", filepath.Join(dir, "none.json"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, "none.json")
}

// writeDeployment writes a deployment file (anvil's first deployment's addresses) into dir.
func writeDeployment(t *testing.T, dir string) string {
	t.Helper()
	dep := filepath.Join(dir, "deployment.json")
	require.NoError(t, os.WriteFile(dep, []byte(`{"token": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
		"providers": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", "classes": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
		"hasher": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "manager": "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9"}`), 0o644))
	return dep
}
