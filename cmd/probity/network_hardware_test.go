package main

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAskHardwareFlags: ask's hardware flags make the job's requirement in canonical form
// (repeated names sorted and de-duplicated, GiB in bytes), none when no flag asks for anything,
// and a usage error for names the requirement refuses; ask refuses them before it connects.
func TestAskHardwareFlags(t *testing.T) {
	parse := func(args ...string) (*hardwareFlags, error) {
		fs := flag.NewFlagSet("ask", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		h := addHardwareFlags(fs)
		return h, fs.Parse(args)
	}
	h, err := parse("--require-cc", "--gpu-board", "G520_0200_885", "--gpu-board", "1010_0200_882", "--gpu-board", "G520_0200_885",
		"--gpu-chip", "GH100", "--gpu-memory-gib", "80")
	require.NoError(t, err)
	r, err := h.requirement()
	require.NoError(t, err)
	canon, err := r.Canonical()
	require.NoError(t, err)
	assert.Equal(t, `{"cc":true,"chips":["GH100"],"boards":["1010_0200_882","G520_0200_885"],"minMemoryBytes":85899345920}`, string(canon))

	h, err = parse()
	require.NoError(t, err)
	r, err = h.requirement()
	require.NoError(t, err)
	assert.Nil(t, r, "no flag, no requirement")

	for _, args := range [][]string{{"--gpu-model", ""}, {"--gpu-chip", "GH100\t"}, {"--gpu-memory-gib", "9007199254"}} {
		h, err := parse(args...)
		require.NoError(t, err)
		_, err = h.requirement()
		var ue usageError
		assert.True(t, errors.As(err, &ue), "%v: %v", args, err)
	}
	code, _, errs := runCLI(t, "ask", "--model", "m", "--prompt", "x", "--tokens", "4", "--price", "1", "--gpu-model", "", "--key", "k")
	assert.Equal(t, exitUsage, code, errs)
	assert.Contains(t, errs, "--gpu-*")
}
