//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/watcher"
)

// providerProc is one provider node run as `probity prover --config FILE`, a separate
// OS process. Its stdout and stderr go to a log file in the test's temporary directory;
// the log is printed when the test fails. It can be stopped, killed and started again
// with the same config and data directory.
type providerProc struct {
	t    *testing.T
	name string
	bin  string
	// sub is the probity command ("prover", or "watch" for a watcher) and ready the log line
	// it writes once it follows the chain.
	sub, ready string
	cfgPath    string
	dataDir    string
	logPath    string

	cmd    *exec.Cmd
	logF   *os.File
	exited chan struct{}
	err    error // the exit status, once exited is closed
	starts int
	logOff int64 // size of the log when the current process started
}

// newProvider writes cfg (with DataDir set under dir) to dir/prover.json and returns a
// process that runs it. Nothing is started yet.
func newProvider(t *testing.T, bin, name, dir string, cfg prover.Config) *providerProc {
	t.Helper()
	return newProc(t, bin, name, dir, "prover", "prover started", cfg.DataDir, cfg)
}

// newWatcher is newProvider for `probity watch --config FILE`.
func newWatcher(t *testing.T, bin, dir string, cfg watcher.Config) *providerProc {
	t.Helper()
	return newProc(t, bin, "watcher", dir, "watch", "watching", cfg.DataDir, cfg)
}

func newProc(t *testing.T, bin, name, dir, sub, ready, dataDir string, cfg any) *providerProc {
	t.Helper()
	p := &providerProc{t: t, name: name, bin: bin, sub: sub, ready: ready, cfgPath: filepath.Join(dir, sub+".json"),
		dataDir: dataDir, logPath: filepath.Join(dir, name+".log")}
	b, err := json.MarshalIndent(cfg, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p.cfgPath, b, 0o644))
	t.Cleanup(func() {
		if p.running() {
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if p.logF != nil {
			p.logF.Close()
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("---- %s log (%s, %d starts) ----\n%s---- end of %s log ----", p.name, p.logPath, p.starts, b, p.name)
		}
	})
	return p
}

// childEnv is the test's environment without PROBITY_* variables: the prover reads its
// settings from them with precedence over the config file, and a developer's shell
// must not redirect the test's nodes.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROBITY_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *providerProc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// startLimit bounds a node's start: loading the small class's keys and, on a fresh data
// directory, its self-test (one proof).
const startLimit = 3 * time.Minute

// start runs the node and waits until it has loaded its keys and is watching the chain.
func (p *providerProc) start(ctx context.Context) {
	p.t.Helper()
	require.False(p.t, p.running(), "%s is already running", p.name)
	if p.logF == nil {
		f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(p.t, err)
		p.logF = f
	}
	p.starts++
	fmt.Fprintf(p.logF, "==== start %d of %s: %s %s --config %s ====\n", p.starts, p.name, p.bin, p.sub, p.cfgPath)
	fi, err := p.logF.Stat()
	require.NoError(p.t, err)
	p.logOff = fi.Size()
	cmd := exec.Command(p.bin, p.sub, "--config", p.cfgPath)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = p.logF, p.logF
	require.NoError(p.t, cmd.Start(), "starting %s", p.name)
	p.cmd, p.exited, p.err = cmd, make(chan struct{}), nil
	go func(exited chan struct{}) {
		p.err = cmd.Wait()
		close(exited)
	}(p.exited)
	p.waitLog(ctx, p.ready, startLimit)
}

// log returns what the current process (since its start) wrote.
func (p *providerProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	if int64(len(b)) < p.logOff {
		return ""
	}
	return string(b[p.logOff:])
}

// waitLog waits until the current process logged a line containing s.
func (p *providerProc) waitLog(ctx context.Context, s string, limit time.Duration) {
	p.t.Helper()
	p.waitFor(ctx, limit, "log line "+strconv.Quote(s), func() bool { return strings.Contains(p.log(), s) })
}

// waitFor polls cond every 20 ms. It fails the test when the process exits, the
// limit passes or ctx ends first.
func (p *providerProc) waitFor(ctx context.Context, limit time.Duration, what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case <-p.exited:
			p.t.Fatalf("%s exited (%v) while waiting for %s", p.name, p.err, what)
		case <-ctx.Done():
			p.t.Fatalf("%s: waiting for %s: %v", p.name, what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: no %s within %v", p.name, what, limit)
		}
	}
}

// record reads the node's journal record of a job (nil while there is none).
func (p *providerProc) record(jobID *big.Int) *prover.Record {
	p.t.Helper()
	j, err := prover.OpenJournal(filepath.Join(p.dataDir, "jobs"))
	require.NoError(p.t, err)
	r, err := j.Load(jobID.String())
	if err != nil {
		return nil
	}
	return r
}

// waitStep waits until the journal records the job at step and returns the record.
// A different terminal step fails at once, with the record's reason.
func (p *providerProc) waitStep(ctx context.Context, jobID *big.Int, step prover.Step, limit time.Duration) *prover.Record {
	p.t.Helper()
	var r *prover.Record
	p.waitFor(ctx, limit, fmt.Sprintf("job %s at step %s", jobID, step), func() bool {
		r = p.record(jobID)
		if r != nil && r.Step != step && r.Step.Terminal() {
			p.t.Fatalf("%s: job %s ended at step %s (%s), want %s", p.name, jobID, r.Step, r.Reason, step)
		}
		return r != nil && r.Step == step
	})
	return r
}

// stop asks the node to shut down (SIGTERM) and requires a clean exit.
func (p *providerProc) stop() {
	p.t.Helper()
	require.True(p.t, p.running(), "%s is not running", p.name)
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Fatalf("%s did not stop within 40s of SIGTERM", p.name)
	}
	require.NoError(p.t, p.err, "%s exit status after SIGTERM", p.name)
	require.Contains(p.t, p.log(), p.sub+" stopped", "%s did not log its shutdown", p.name)
}

// kill ends the node with SIGKILL: no shutdown, no journal write, as a power cut would.
func (p *providerProc) kill() {
	p.t.Helper()
	require.True(p.t, p.running(), "%s is not running", p.name)
	require.NoError(p.t, p.cmd.Process.Kill())
	<-p.exited
	var ee *exec.ExitError
	require.True(p.t, errors.As(p.err, &ee), "%s: exit after SIGKILL: %v", p.name, p.err)
	ws, ok := ee.Sys().(syscall.WaitStatus)
	require.True(p.t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s ended by %v, not SIGKILL", p.name, p.err)
}

// writeKey writes a hex key file the node reads its provider key from.
func writeKey(t *testing.T, path, hexKey string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte("0x"+hexKey+"\n"), 0o600))
}

// watchRecord reads the watcher's journal record of a job (nil before there is one).
func (p *providerProc) watchRecord(jobID *big.Int) *watcher.Record {
	p.t.Helper()
	j, err := watcher.OpenJournal(p.dataDir)
	require.NoError(p.t, err)
	r, ok, err := j.Get(jobID)
	require.NoError(p.t, err)
	if !ok {
		return nil
	}
	return r
}

// waitStatus waits until the watcher's record of a job has the status.
func (p *providerProc) waitStatus(ctx context.Context, jobID *big.Int, s watcher.Status, limit time.Duration) *watcher.Record {
	p.t.Helper()
	var r *watcher.Record
	p.waitFor(ctx, limit, fmt.Sprintf("job %s watched to %s", jobID, s), func() bool {
		r = p.watchRecord(jobID)
		return r != nil && r.Status == s
	})
	return r
}
