package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemoJSON runs the fast variant of `probity demo --json` and reads its summary.
func TestDemoJSON(t *testing.T) {
	keys := t.TempDir()
	code, out, errs := runCLI(t, "demo", "--json", "--shape", "tiny", "--falsify", "1", "--keys", keys)
	require.Equal(t, exitOK, code, errs)
	var sum struct {
		Shape string `json:"shape"`
		Jobs  []struct {
			Role    string `json:"role"`
			Outcome string `json:"outcome"`
		} `json:"jobs"`
		Conserved bool `json:"conserved"`
		Audit     struct {
			OK bool `json:"ok"`
		} `json:"audit"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	assert.Equal(t, "tiny", sum.Shape)
	outcomes := map[string]string{}
	for _, j := range sum.Jobs {
		outcomes[j.Role] = j.Outcome
	}
	assert.Equal(t, map[string]string{"honest": "Settled", "falsifying": "Slashed", "silent": "Slashed"}, outcomes)
	assert.True(t, sum.Conserved)
	assert.True(t, sum.Audit.OK)
	assert.NotContains(t, out, "Act 1", "--json prints the summary only")
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{{"demo", "--bogus"}, {"demo", "extra"}, {"demo", "--falsify", "0"}, {"demo", "--falsify", "1.5"}} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
	}
	code, _, errs := runCLI(t, "demo", "--shape", "huge")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, `unknown circuit shape: "huge"`)
	code, out, _ := runCLI(t, "help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "demo")
}
