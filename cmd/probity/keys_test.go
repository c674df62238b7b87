package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits"
)

func TestShapes(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "shapes", "--dir", dir)
	require.Equal(t, exitOK, code, errs)
	for _, s := range circuits.Catalogue() {
		assert.Contains(t, out, s.Name)
		assert.Contains(t, out, s.IDHex())
	}
	assert.Contains(t, out, "key cache: "+dir)

	// --count compiles; the count must be the one circuits pins in its constraints.csv.
	code, out, errs = runCLI(t, "shapes", "--dir", dir, "--shape", "tiny", "--count", "--json")
	require.Equal(t, exitOK, code, errs)
	var rows []shapeRow
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Len(t, rows, 1)
	tiny, _ := circuits.Lookup("tiny")
	assert.Equal(t, shapeRow{Name: "tiny", ID: tiny.IDHex(), K: 16, N: 4, D: 3, Samples: 2,
		Constraints: pinnedConstraints(t, "tiny"), KeysCached: false, KeyDir: circuits.Cache{Dir: dir}.EntryDir(tiny)}, rows[0])

	for _, args := range [][]string{{"shapes", "extra"}, {"shapes", "--shape", "huge"}, {"shapes", "--bogus"}} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
	}
	_, _, errs = runCLI(t, "shapes", "--shape", "huge")
	assert.Contains(t, errs, `unknown circuit shape: "huge" (known: tiny, demo-64, mlp-256, llm-4096)`)
}

func pinnedConstraints(t *testing.T, shape string) int {
	f, err := os.Open("../../circuits/testdata/constraints.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	for _, r := range rows[1:] {
		if r[0] == shape {
			n, err := strconv.Atoi(r[1])
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("%s not pinned", shape)
	return 0
}

// Setup, then everything that reads the cache: shapes, vk (words equal the package's),
// export-verifier, a corrupt entry and its regeneration.
func TestSetupVKExportVerifier(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "setup", "--shape", "tiny", "--dir", dir)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "development keys")
	assert.Contains(t, errs, "toxic waste")
	assert.Contains(t, errs, "Never use them in production")
	assert.Contains(t, out, "generated in")
	cache := circuits.Cache{Dir: dir}
	tiny, _ := circuits.Lookup("tiny")
	entry := cache.EntryDir(tiny)
	for _, name := range []string{"ccs", "pk", "vk"} {
		b, err := os.ReadFile(filepath.Join(entry, name))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		assert.Contains(t, out, "sha256 "+hex.EncodeToString(sum[:])+"  "+filepath.Join(entry, name))
	}

	// A second run loads the entry, so no new development keys and no warning.
	code, out, errs = runCLI(t, "setup", "--shape", "tiny", "--dir", dir)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "already cached")
	assert.Empty(t, errs)

	code, out, _ = runCLI(t, "shapes", "--dir", dir, "--json")
	require.Equal(t, exitOK, code)
	var rows []shapeRow
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.Len(t, rows, len(circuits.Catalogue()))
	for _, r := range rows {
		assert.Equal(t, r.Name == "tiny", r.KeysCached, r.Name)
	}

	keys, err := cache.Load(tiny)
	require.NoError(t, err)
	words, err := circuits.VerifyingKeyWords(keys.VK)
	require.NoError(t, err)
	code, out, errs = runCLI(t, "vk", "--shape", "tiny", "--dir", dir, "--json")
	require.Equal(t, exitOK, code, errs)
	var got map[string][]string
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, dec(words.Flat()), got["flat"])
	assert.Equal(t, dec(words.IC[:]), got["ic"])
	code, out, errs = runCLI(t, "vk", "--shape", "tiny", "--dir", dir)
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
	code, out, errs = runCLI(t, "export-verifier", "--shape", "tiny", "--dir", dir)
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
	code, _, errs = runCLI(t, "vk", "--shape", "tiny", "--dir", empty)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "no keys for tiny")
	assert.Contains(t, errs, "probity setup --shape tiny")
	vkBytes, err := os.ReadFile(vkFile)
	require.NoError(t, err)
	vkBytes[len(vkBytes)/2] ^= 1
	require.NoError(t, os.WriteFile(vkFile, vkBytes, 0o644))
	code, _, errs = runCLI(t, "export-verifier", "--shape", "tiny", "--dir", dir)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "key cache entry is corrupt")
	assert.Contains(t, errs, "vk: sha256")
	assert.Contains(t, errs, "--regenerate")
	code, _, errs = runCLI(t, "setup", "--shape", "tiny", "--dir", dir)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "--regenerate")
	code, _, errs = runCLI(t, "setup", "--shape", "tiny", "--dir", dir, "--regenerate")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "development keys")
	code, _, errs = runCLI(t, "vk", "--shape", "tiny", "--dir", dir)
	assert.Equal(t, exitOK, code, errs)

	for _, args := range [][]string{
		{"setup"},
		{"setup", "--shape", "huge"},
		{"setup", "--shape", "tiny", "--all"},
		{"setup", "--shape", "tiny", "x"},
		{"vk"},
		{"vk", "--shape", "tiny", "--vk", vkFile},
		{"export-verifier", "--shape", "nope"},
	} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
		assert.Contains(t, errs, "probity: error:", "%v", args)
	}
	code, _, errs = runCLI(t, "vk", "--vk", filepath.Join(empty, "missing.vk"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "missing.vk")
}
