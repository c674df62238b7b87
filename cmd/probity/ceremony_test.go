package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
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
	code, out, errs := runCLI(t, "ceremony", "init", "--class", "test", "--out", p10)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "initial phase-1 state for universal-v2-test")
	code, _, errs = runCLI(t, "ceremony", "init", "--class", "test", "--out", p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, p10+" already exists")

	init, err := os.ReadFile(p10)
	require.NoError(t, err)
	// The header is "probity/mpc/v0\n", the phase byte, then the shape id.
	otherClass := append([]byte(nil), init...)
	otherClass[len("probity/mpc/v0\n")+1] ^= 0xff
	badPhase := append([]byte(nil), init...)
	badPhase[len("probity/mpc/v0\n")] = 7
	for _, c := range []struct{ name, want string }{
		{"garbage", "not a probity ceremony file"},
		{"other-class", "this ceremony is universal-v2-test"},
		{"bad-phase", "unknown phase 7"},
		{"truncated", "phase 1 state"},
	} {
		data := map[string][]byte{"garbage": []byte(strings.Repeat("not a ceremony file; ", 4)),
			"other-class": otherClass, "bad-phase": badPhase, "truncated": init[:len(init)/3]}[c.name]
		in := ceremonyFile(t, dir, c.name, data)
		outFile := filepath.Join(dir, c.name+".out")
		code, _, errs := runCLI(t, "ceremony", "contribute", "--class", "test", "--in", in, "--out", outFile)
		assert.Equal(t, exitInternal, code, c.name)
		assert.Contains(t, errs, "--in "+in+": ceremony: ", c.name)
		assert.Contains(t, errs, c.want, c.name)
		assert.NoFileExists(t, outFile, "a failed contribution leaves no output")
	}

	// The initial state is not a contribution: verification fails and names the file.
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--class", "test", p10)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, p10+" (contribution 1 of 1) does not verify: ceremony: phase 1: failed to verify contribution to τ")
	code, _, errs = runCLI(t, "ceremony", "verify", "--class", "test", "--commons", ceremonyFile(t, dir, "bad-commons", []byte("xx")), p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, filepath.Join(dir, "bad-commons")+": commons: ceremony: reading header")
	// A commons file claiming a huge domain is refused before anything allocates it.
	huge := ceremonyFile(t, dir, "huge-commons", append(commonsHeader(t), 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3))
	code, _, errs = runCLI(t, "ceremony", "finalize", "--class", "test", "--beacon", "01", "--commons", huge, "--out-dir", dir, p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, huge+": ceremony: commons: domain size 1099511627776, this circuit needs ")
	// A phase state passed as commons names what it is.
	code, _, errs = runCLI(t, "ceremony", "verify", "--class", "test", "--commons", p10, p10)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, p10+": ceremony: commons: file is a phase 1 state, not SRS commons")
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--class", "test", filepath.Join(dir, "missing"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "missing: no such file")

	for _, args := range [][]string{
		{"ceremony"},
		{"ceremony", "bogus"},
		{"ceremony", "init", "--out", filepath.Join(dir, "x")},
		{"ceremony", "init", "--class", "huge", "--out", filepath.Join(dir, "x")},
		{"ceremony", "init", "--class", "test"},
		{"ceremony", "contribute", "--class", "test", "--in", p10},
		{"ceremony", "verify-phase1", "--class", "test"},
		{"ceremony", "seal-phase1", "--class", "test", "--commons-out", "c", "--out", "o", p10},
		{"ceremony", "seal-phase1", "--class", "test", "--beacon", "zz", "--commons-out", "c", "--out", "o", p10},
		{"ceremony", "seal-phase1", "--class", "test", "--beacon", "01", "--out", "o", p10},
		{"ceremony", "verify", "--class", "test", p10},
		{"ceremony", "finalize", "--class", "test", "--beacon", "01", "--commons", "c", p10},
		{"ceremony", "finalize", "--class", "test", "--beacon", "01", "--commons", "c", "--out-dir", dir, "--keys-dir", dir, p10},
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

// A whole ceremony through the CLI on the test class: two phase-1 contributors, one phase-2
// contributor, keys installed into a cache, then a real proof under them. (The circuits
// package runs the same flow on a tiny circuit in seconds; this one exercises the CLI.)
func TestCeremonyThroughCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("a ceremony for the test class (a 2^16 domain) takes minutes on 2 cores")
	}
	dir := t.TempDir()
	f := func(name string) string { return filepath.Join(dir, name) }
	cli := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"ceremony"}, args...)...)
		require.Equal(t, exitOK, code, "%v\n%s", args, errs)
		return out
	}
	cli("init", "--class", "test", "--out", f("p1.0"))
	cli("contribute", "--class", "test", "--in", f("p1.0"), "--out", f("p1.1"))
	cli("contribute", "--class", "test", "--in", f("p1.1"), "--out", f("p1.2"))
	assert.Contains(t, cli("verify-phase1", "--class", "test", f("p1.1"), f("p1.2")), "2 contributions verify")

	// A skipped contributor and a tampered contribution are each pinned on the right file.
	code, _, errs := runCLI(t, "ceremony", "verify-phase1", "--class", "test", f("p1.2"))
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, f("p1.2")+" (contribution 1 of 1) does not verify")
	assert.Contains(t, errs, "challenge does not match")
	tampered, err := os.ReadFile(f("p1.2"))
	require.NoError(t, err)
	tampered[len(tampered)-100] ^= 1
	bad := ceremonyFile(t, dir, "p1.2-tampered", tampered)
	code, _, errs = runCLI(t, "ceremony", "verify-phase1", "--class", "test", f("p1.1"), bad)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, errs, bad+" (contribution 2 of 2) does not verify")
	code, _, errs = runCLI(t, "ceremony", "seal-phase1", "--class", "test", "--beacon", "0xbeac0201",
		"--commons-out", f("bad-commons"), "--out", f("bad-p2.0"), f("p1.1"), bad)
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, bad+" (contribution 2 of 2) does not verify")
	assert.NoFileExists(t, f("bad-commons"))
	assert.NoFileExists(t, f("bad-p2.0"))

	out := cli("seal-phase1", "--class", "test", "--beacon", "0xbeac0201", "--commons-out", f("commons"), "--out", f("p2.0"), f("p1.1"), f("p1.2"))
	assert.Contains(t, out, "sealed with beacon 0xbeac0201 after 2 contributions")
	cli("contribute", "--class", "test", "--in", f("p2.0"), "--out", f("p2.1"))
	cache := circuits.Cache{Dir: f("cache")}
	out = cli("finalize", "--class", "test", "--beacon", "0xbeac0202", "--commons", f("commons"), "--out-dir", f("keys"),
		"--install", "--keys-dir", cache.Dir, f("p2.1"))
	assert.Contains(t, out, "from 1 phase-2 contributions")
	assert.Contains(t, out, "installed in the key cache")

	// Commons sealed for a smaller circuit would make gnark panic; their size is refused first.
	small := bytes.NewBuffer(commonsHeader(t))
	srs, err := mpcsetup.VerifyPhase1(1<<10, []byte("beacon"))
	require.NoError(t, err)
	_, err = srs.WriteTo(small)
	require.NoError(t, err)
	code, _, errs = runCLI(t, "ceremony", "verify", "--class", "test", "--commons", ceremonyFile(t, dir, "small-commons", small.Bytes()), f("p2.1"))
	assert.Equal(t, exitInternal, code)
	assert.Contains(t, errs, "small-commons: ceremony: commons: domain size 1024, this circuit needs ")

	cl := universaltest.Class()
	keys, err := cache.Load(cl)
	require.NoError(t, err)
	m, err := universaltest.Model(1)
	require.NoError(t, err)
	root, err := m.Root()
	require.NoError(t, err)
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{3, 1, 4}, New: 3}
	tr, tokens, err := jobs.Generate(m, j)
	require.NoError(t, err)
	proof, err := universal.Prove(keys, &universal.Statement{Model: m, Job: j, Trace: tr, Tokens: tokens, Seed: commit.Uint(5)})
	require.NoError(t, err)
	require.NoError(t, universal.Verify(keys.VK, proof.Groth16, proof.Public))
	// The vk written to --out-dir is the installed one, in the encoding `probity verify --vk` reads.
	vk, err := verifier.ReadVerifyingKeyFile(f("keys/vk"))
	require.NoError(t, err)
	require.NoError(t, universal.Verify(vk, proof.Groth16, proof.Public))
	// Different keys reject the proof: the ceremony produced its own.
	dev, err := circuits.DevSetup(cl)
	require.NoError(t, err)
	require.Error(t, universal.Verify(dev.VK, proof.Groth16, proof.Public))

	// The outputs are never overwritten.
	code, _, errs = runCLI(t, "ceremony", "contribute", "--class", "test", "--in", f("p2.0"), "--out", f("p2.1"))
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
// 3, the test class's id.
func commonsHeader(t *testing.T) []byte {
	t.Helper()
	id := universaltest.Class().ID()
	return append(append([]byte("probity/mpc/v0\n"), circuits.PhaseCommons), id[:]...)
}
