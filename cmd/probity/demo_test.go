package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemoJSON runs `probity demo --json` (the real demo: the small class's keys, set up once
// into the user cache) and reads its summary.
func TestDemoJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo package's test runs the demo under -short; this one is the CLI's copy")
	}
	code, out, errs := runCLI(t, "demo", "--json", "--tokens", "8")
	require.Equal(t, exitOK, code, errs)
	var sum struct {
		Text string `json:"text"`
		Jobs []struct {
			Role    string `json:"role"`
			Outcome string `json:"outcome"`
		} `json:"jobs"`
		Conserved bool `json:"conserved"`
		Audit     struct {
			OK bool `json:"ok"`
		} `json:"audit"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	assert.Len(t, sum.Text, 8)
	outcomes := map[string]string{}
	for _, j := range sum.Jobs {
		outcomes[j.Role] = j.Outcome
	}
	assert.Equal(t, map[string]string{"honest": "Settled", "lazy": "Slashed", "silent": "Slashed"}, outcomes)
	assert.True(t, sum.Conserved)
	assert.True(t, sum.Audit.OK)
	assert.NotContains(t, out, "Act 1", "--json prints the summary only")
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{{"demo", "--bogus"}, {"demo", "extra"}, {"demo", "--tokens", "0"}, {"demo", "--tokens", "200"}, {"demo", "--prompt", ""}} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
	}
	code, out, _ := runCLI(t, "help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "demo")
}
