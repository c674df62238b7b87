package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
)

// Setup, then everything that reads the cache: vk (words equal the package's),
// export-verifier, a corrupt entry and its regeneration.
func TestSetupVKExportVerifier(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "setup", "--class", "test", "--keys-dir", dir)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "development keys")
	assert.Contains(t, errs, "toxic waste")
	assert.Contains(t, errs, "Never use them in production")
	assert.Contains(t, out, "generated in")
	cache := circuits.Cache{Dir: dir}
	tiny := universaltest.Class()
	entry := cache.EntryDir(tiny)
	for _, name := range []string{"ccs", "pk", "vk"} {
		b, err := os.ReadFile(filepath.Join(entry, name))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		assert.Contains(t, out, "sha256 "+hex.EncodeToString(sum[:])+"  "+filepath.Join(entry, name))
	}

	// A second run loads the entry, so no new development keys and no warning.
	code, out, errs = runCLI(t, "setup", "--class", "test", "--keys-dir", dir)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "already cached")
	assert.Empty(t, errs)

	keys, err := cache.Load(tiny)
	require.NoError(t, err)
	words, err := circuits.VerifyingKeyWords(keys.VK)
	require.NoError(t, err)
	code, out, errs = runCLI(t, "vk", "--class", "test", "--keys-dir", dir, "--json")
	require.Equal(t, exitOK, code, errs)
	var got map[string][]string
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, dec(words.Flat()), got["flat"])
	assert.Equal(t, dec(words.IC[:]), got["ic"])
	code, out, errs = runCLI(t, "vk", "--class", "test", "--keys-dir", dir)
	require.Equal(t, exitOK, code, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1+26+1)
	assert.Equal(t, "alpha[ 0] "+words.Alpha[0].String(), lines[1])
	assert.Equal(t, "ic   [11] "+words.IC[11].String(), lines[26])
	assert.True(t, strings.HasPrefix(lines[27], "["+words.Alpha[0].String()+","), lines[27])
	assert.Equal(t, 5, strings.Count(lines[27], "["))

	// The same key from a file.
	vkFile := filepath.Join(entry, "vk")
	code, out2, errs := runCLI(t, "vk", "--vk", vkFile)
	require.Equal(t, exitOK, code, errs)
	assert.Equal(t, strings.Join(lines[1:], "\n"), strings.Join(strings.Split(strings.TrimSpace(out2), "\n")[1:], "\n"))

	// Solidity: to stdout (nothing but the source), and to a file.
	code, out, errs = runCLI(t, "export-verifier", "--class", "test", "--keys-dir", dir)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "pragma solidity")
	assert.Contains(t, out, "contract Verifier")
	sol := filepath.Join(t.TempDir(), "sub", "Verifier.sol")
	code, out2, errs = runCLI(t, "export-verifier", "--vk", vkFile, "--out", sol)
	require.Equal(t, exitOK, code, errs)
	b, err := os.ReadFile(sol)
	require.NoError(t, err)
	assert.Equal(t, out, string(b))
	sum := sha256.Sum256(b)
	assert.Contains(t, out2, hex.EncodeToString(sum[:]))

	// Missing and corrupt entries name the problem and the way out.
	empty := t.TempDir()
	code, _, errs = runCLI(t, "vk", "--class", "test", "--keys-dir", empty)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "no keys for universal-v2-test")
	assert.Contains(t, errs, "probity setup --class test")
	vkBytes, err := os.ReadFile(vkFile)
	require.NoError(t, err)
	vkBytes[len(vkBytes)/2] ^= 1
	require.NoError(t, os.WriteFile(vkFile, vkBytes, 0o644))
	code, _, errs = runCLI(t, "export-verifier", "--class", "test", "--keys-dir", dir)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "key cache entry is corrupt")
	assert.Contains(t, errs, "vk: sha256")
	assert.Contains(t, errs, "--regenerate")
	code, _, errs = runCLI(t, "setup", "--class", "test", "--keys-dir", dir)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "--regenerate")
	code, _, errs = runCLI(t, "setup", "--class", "test", "--keys-dir", dir, "--regenerate")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "development keys")
	code, _, errs = runCLI(t, "vk", "--class", "test", "--keys-dir", dir)
	assert.Equal(t, exitOK, code, errs)

	for _, args := range [][]string{
		{"setup"},
		{"setup", "--class", "huge"},
		{"setup", "--class", "test", "x"},
		{"vk"},
		{"vk", "--class", "test", "--vk", vkFile},
		{"export-verifier", "--class", "nope"},
	} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
		assert.Contains(t, errs, "probity: error:", "%v", args)
	}
	code, _, errs = runCLI(t, "vk", "--vk", filepath.Join(empty, "missing.vk"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "missing.vk")
}

// The test class stands in for a real class: its setup takes seconds, not minutes.
func init() { testClasses = append(testClasses, universaltest.Class()) }
