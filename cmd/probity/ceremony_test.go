package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/verifier"
)

// ceremonyFile writes b under dir and returns its path.
func ceremonyFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// Bad calls and bad files, each cheap: header and parse failures are caught before any
// multi-exponentiation, and a bad transcript names the offending file.
func TestCeremonyErrors(t *testing.T) {
	dir := t.TempDir()
	p10 := filepath.Join(dir, "phase1.0")
	code, out, errs := runCLI(t, "ceremony", "init", "--shape", "tiny", "--out", p10)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "initial phase-1 state for tiny")
	code, _, errs = runCLI(t, "ceremony", "init", "--shape", "tiny", "--out", p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, p10+" already exists")

	init, err := os.ReadFile(p10)
	require.NoError(t, err)
	// The header is "probity/mpc/v0\n", the phase byte, then the shape id.
	otherShape := append([]byte(nil), init...)
	otherShape[len("probity/mpc/v0\n")+1] ^= 0xff
	badPhase := append([]byte(nil), init...)
	badPhase[len("probity/mpc/v0\n")] = 7
	for _, c := range []struct{ name, want string }{
		{"garbage", "not a probity ceremony file"},
		{"other-shape", "this ceremony is tiny"},
		{"bad-phase", "unknown phase 7"},
		{"truncated", "phase 1 state"},
	} {
		data := map[string][]byte{"garbage": []byte(strings.Repeat("not a ceremony file; ", 4)),
			"other-shape": otherShape, "bad-phase": badPhase, "truncated": init[:len(init)/3]}[c.name]
		in := ceremonyFile(t, dir, c.name, data)
		outFile := filepath.Join(dir, c.name+".out")
		code, _, errs := runCLI(t, "ceremony", "contribute", "--shape", "tiny", "--in", in, "--out", outFile)
		assert.Equal(t, exitInternal, code, c.name)
		assert.Contains(t, errs, "--in "+in+": ceremony: ", c.name)
		assert.Contains(t, errs, c.want, c.name)
		assert.NoFileExists(t, outFile, "a failed contribution leaves no output")
	}

	// The initial state is not a contribution: verification fails and names the file.
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--shape", "tiny", p10)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, p10+" (contribution 1 of 1) does not verify: ceremony: phase 1: failed to verify contribution to τ")
	code, _, errs = runCLI(t, "ceremony", "verify", "--shape", "tiny", "--commons", ceremonyFile(t, dir, "bad-commons", []byte("xx")), p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, filepath.Join(dir, "bad-commons")+": commons: ceremony: reading header")
	// A commons file claiming a huge domain is refused before anything allocates it.
	huge := ceremonyFile(t, dir, "huge-commons", append(commonsHeader(t, "tiny"), 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3))
	code, _, errs = runCLI(t, "ceremony", "finalize", "--shape", "tiny", "--beacon", "01", "--commons", huge, "--out-dir", dir, p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, huge+": ceremony: commons: domain size 1099511627776, this shape's circuit needs 16384")
	// A phase state passed as commons names what it is.
	code, _, errs = runCLI(t, "ceremony", "verify", "--shape", "tiny", "--commons", p10, p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, p10+": ceremony: commons: file is a phase 1 state, not SRS commons")
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--shape", "tiny", filepath.Join(dir, "missing"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "missing: no such file")

	for _, args := range [][]string{
		{"ceremony"},
		{"ceremony", "bogus"},
		{"ceremony", "init", "--out", filepath.Join(dir, "x")},
		{"ceremony", "init", "--shape", "huge", "--out", filepath.Join(dir, "x")},
		{"ceremony", "init", "--shape", "tiny"},
		{"ceremony", "contribute", "--shape", "tiny", "--in", p10},
		{"ceremony", "verify-phase1", "--shape", "tiny"},
		{"ceremony", "seal-phase1", "--shape", "tiny", "--commons-out", "c", "--out", "o", p10},
		{"ceremony", "seal-phase1", "--shape", "tiny", "--beacon", "zz", "--commons-out", "c", "--out", "o", p10},
		{"ceremony", "seal-phase1", "--shape", "tiny", "--beacon", "01", "--out", "o", p10},
		{"ceremony", "verify", "--shape", "tiny", p10},
		{"ceremony", "finalize", "--shape", "tiny", "--beacon", "01", "--commons", "c", p10},
		{"ceremony", "finalize", "--shape", "tiny", "--beacon", "01", "--commons", "c", "--out-dir", dir, "--dir", dir, p10},
	} {
		code, _, errs := runCLI(t, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errs)
		assert.Contains(t, errs, "probity: error:", "%v", args)
	}
	_, _, errs = runCLI(t, "ceremony", "bogus")
	assert.Contains(t, errs, "known: init, contribute, verify-phase1, seal-phase1, verify, finalize")
	code, out, _ = runCLI(t, "ceremony", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "init -> contribute* -> seal-phase1 -> contribute* -> finalize")
}

// A whole ceremony through the CLI on the tiny shape: two phase-1 contributors, one phase-2
// contributor, keys installed into a cache, then a real proof under them.
func TestCeremonyThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("a tiny-shape ceremony takes about 2 minutes on 2 cores (sealing, phase-2 verification and finalize run ~30 s each)")
	}
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	cli := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"ceremony"}, args...)...)
		require.Equal(t, exitOK, code, "%v\n%s", args, errs)
		return out
	}
	cli("init", "--shape", "tiny", "--out", f("p1.0"))
	cli("contribute", "--shape", "tiny", "--in", f("p1.0"), "--out", f("p1.1"))
	cli("contribute", "--shape", "tiny", "--in", f("p1.1"), "--out", f("p1.2"))
	assert.Contains(t, cli("verify-phase1", "--shape", "tiny", f("p1.1"), f("p1.2")), "2 contributions verify")

	// A skipped contributor and a tampered contribution are each pinned on the right file.
	code, _, errs := runCLI(t, "ceremony", "verify-phase1", "--shape", "tiny", f("p1.2"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, f("p1.2")+" (contribution 1 of 1) does not verify")
	assert.Contains(t, errs, "challenge does not match")
	tampered, err := os.ReadFile(f("p1.2"))
	require.NoError(t, err)
	tampered[len(tampered)-100] ^= 1
	bad := ceremonyFile(t, dir, "p1.2-tampered", tampered)
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--shape", "tiny", f("p1.1"), bad)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, bad+" (contribution 2 of 2) does not verify")
	code, _, errs = runCLI(t, "ceremony", "seal-phase1", "--shape", "tiny", "--beacon", "0xbeac0201",
		"--commons-out", f("bad-commons"), "--out", f("bad-p2.0"), f("p1.1"), bad)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, bad+" (contribution 2 of 2) does not verify")
	assert.NoFileExists(t, f("bad-commons"))
	assert.NoFileExists(t, f("bad-p2.0"))

	out := cli("seal-phase1", "--shape", "tiny", "--beacon", "0xbeac0201", "--commons-out", f("commons"), "--out", f("p2.0"), f("p1.1"), f("p1.2"))
	assert.Contains(t, out, "sealed with beacon 0xbeac0201 after 2 contributions")
	cli("contribute", "--shape", "tiny", "--in", f("p2.0"), "--out", f("p2.1"))
	cache := circuits.Cache{Dir: f("cache")}
	out = cli("finalize", "--shape", "tiny", "--beacon", "0xbeac0202", "--commons", f("commons"), "--out-dir", f("keys"),
		"--install", "--dir", cache.Dir, f("p2.1"))
	assert.Contains(t, out, "from 1 phase-2 contributions")
	assert.Contains(t, out, "installed in the key cache")

	// Commons sealed for a smaller circuit would make gnark panic; their size is refused first.
	small := bytes.NewBuffer(commonsHeader(t, "tiny"))
	srs, err := mpcsetup.VerifyPhase1(1<<10, []byte("beacon"))
	require.NoError(t, err)
	_, err = srs.WriteTo(small)
	require.NoError(t, err)
	code, _, errs = runCLI(t, "ceremony", "verify", "--shape", "tiny", "--commons", ceremonyFile(t, dir, "small-commons", small.Bytes()), f("p2.1"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "small-commons: ceremony: commons: domain size 1024, this shape's circuit needs 16384")

	tiny, _ := circuits.Lookup("tiny")
	keys, err := cache.Load(tiny)
	require.NoError(t, err)
	in, err := circuits.RandomInputs(tiny, 6, rand.New(rand.NewPCG(3, 4)), big.NewInt(77), true)
	require.NoError(t, err)
	proof, err := circuits.Prove(keys, in)
	require.NoError(t, err)
	require.NoError(t, circuits.Verify(keys.VK, proof, proof.PublicInputs))
	// The vk written to --out-dir is the installed one, in the encoding `probity verify --vk` reads.
	vk, err := verifier.ReadVerifyingKeyFile(f("keys/vk"))
	require.NoError(t, err)
	require.NoError(t, circuits.Verify(vk, proof, proof.PublicInputs))
	// Different keys reject the proof: the ceremony produced its own.
	dev, err := circuits.DevSetup(tiny)
	require.NoError(t, err)
	require.ErrorIs(t, circuits.Verify(dev.VK, proof, proof.PublicInputs), circuits.ErrProof)

	// The outputs are never overwritten.
	code, _, errs = runCLI(t, "ceremony", "contribute", "--shape", "tiny", "--in", f("p2.0"), "--out", f("p2.1"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, f("p2.1")+" already exists")
}

// The prefix search names the first bad file for every position and transcript length, and
// leaves an error that is not the transcript's alone.
func TestBlame(t *testing.T) {
	for n := 1; n <= 7; n++ {
		files := make([]string, n)
		for i := range files {
			files[i] = fmt.Sprintf("c%d", i)
		}
		for bad := 0; bad < n; bad++ {
			calls := 0
			check := func(prefix []string) error {
				calls++
				if len(prefix) > bad {
					return fmt.Errorf("%w: contribution %d", circuits.ErrCeremony, bad)
				}
				return nil
			}
			err := blame(files, check(files), true, check)
			assert.EqualError(t, err, fmt.Sprintf("c%d (contribution %d of %d) does not verify: ceremony: contribution %d", bad, bad+1, n, bad))
			assert.LessOrEqual(t, calls, 1+3, "binary search over at most 7 prefixes")
		}
	}
	sealErr := fmt.Errorf("%w: writing commons: disk full", circuits.ErrCeremony)
	assert.Equal(t, sealErr, blame([]string{"a", "b"}, sealErr, false, func([]string) error { return nil }))
	ioErr := errors.New("read a: input/output error")
	assert.Equal(t, ioErr, blame([]string{"a"}, ioErr, true, nil))
}

// commonsHeader is the header circuits.Ceremony writes in front of SRS commons: magic, phase
// 3, shape id.
func commonsHeader(t *testing.T, shape string) []byte {
	t.Helper()
	s, err := circuits.Lookup(shape)
	require.NoError(t, err)
	id := s.ID()
	return append(append([]byte("probity/mpc/v0\n"), circuits.PhaseCommons), id[:]...)
}
