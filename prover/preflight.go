package prover

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// estimate is what the self-test measured for a class: the execution time per trace row and
// the proving time, which does not depend on the job (one circuit per class).
type estimate struct {
	At         time.Time     `json:"at"`
	ExecPerRow time.Duration `json:"execPerRow"`
	Prove      time.Duration `json:"prove"`
}

func (n *Node) estimatesPath() string { return filepath.Join(n.cfg.DataDir, "estimates.json") }

// keysFor returns a circuit's keys, loaded once.
func (n *Node) keysFor(t circuits.Target) (*circuits.Keys, error) {
	n.mu.Lock()
	k := n.keys[t.ID()]
	n.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k, err := n.keySrc(t)
	if err != nil {
		return nil, fmt.Errorf("keys of %s: %w", t, err)
	}
	n.mu.Lock()
	n.keys[t.ID()] = k
	n.mu.Unlock()
	return k, nil
}

// checkKeys compares the verifying keys of the node's keys for cl, sampled and targeted, with
// the keys of the two verifiers the class registry names: a node proving with other keys would
// lock, prove, be rejected and slashed, and one without the targeted keys could not answer a
// challenge (and would be slashed for an honest job). A class not registered yet is checked
// when a job uses it.
func (n *Node) checkKeys(ctx context.Context, cl *universal.Class) error {
	n.mu.Lock()
	ok := n.keysOK[cl.ID()]
	n.mu.Unlock()
	if ok {
		return nil
	}
	c, err := n.market.ClassOf(ctx, cl.ID())
	if err != nil {
		return err
	}
	if c.Verifier == zeroAddr {
		return fmt.Errorf("%w: class %s is not registered on chain", ErrKeyMismatch, cl.Name)
	}
	for _, v := range []struct {
		target   circuits.Target
		verifier common.Address
	}{{cl, c.Verifier}, {universal.TargetedClass{Class: cl}, c.TargetedVerifier}} {
		onChain, err := n.market.VerifierKey(ctx, v.verifier)
		if err != nil {
			return err
		}
		keys, err := n.keysFor(v.target)
		if err != nil {
			return err
		}
		w, err := circuits.VerifyingKeyWords(keys.VK)
		if err != nil {
			return err
		}
		if local := (chain.VerifyingKey{Alpha: w.Alpha, Beta: w.Beta, Gamma: w.Gamma, Delta: w.Delta, IC: w.IC}); !local.Equal(onChain) {
			return fmt.Errorf("%w: %s: verifier %s was deployed with other keys than the node's", ErrKeyMismatch, v.target, v.verifier)
		}
	}
	n.mu.Lock()
	n.keysOK[cl.ID()] = true
	n.mu.Unlock()
	return nil
}

// preflight checks the keys of every served class registered on chain and measures, per
// class, the execution and proving time on a job of a held model (reusing a measurement of
// this data directory younger than Safety.SelfTestEvery).
func (n *Node) preflight(ctx context.Context) error {
	for _, cl := range n.classes {
		err := n.checkKeys(ctx, cl)
		if err != nil && !errors.Is(err, ErrKeyMismatch) {
			return err
		}
		if err != nil {
			c, cerr := n.market.ClassOf(ctx, cl.ID())
			if cerr == nil && c.Verifier == zeroAddr {
				n.log.Warn("served class not registered on chain; checked when a job uses it", "class", cl.Name)
				continue
			}
			return err
		}
	}
	saved := map[string]*estimate{}
	if b, err := os.ReadFile(n.estimatesPath()); err == nil {
		_ = json.Unmarshal(b, &saved) // a bad file is measured again
	}
	for id, cl := range n.classes {
		key := n.estimateKey(id)
		if e := saved[key]; e != nil && time.Since(e.At) < n.cfg.Safety.SelfTestEvery.D() {
			n.est[id] = e
			continue
		}
		e, err := n.selfTest(ctx, cl)
		if err != nil {
			return fmt.Errorf("self-test of class %s: %w", cl.Name, err)
		}
		if e == nil {
			n.log.Warn("no held model fits the class; its jobs are refused", "class", cl.Name)
			continue
		}
		n.est[id], saved[key] = e, e
		n.log.Info("self-test", "class", cl.Name, "execPerRow", e.ExecPerRow, "prove", e.Prove)
	}
	b, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(n.estimatesPath(), append(b, '\n'))
}

// estimateKey names a class's measurement in estimates.json by what it depends on: the
// class, the host (a data directory copied to another machine measures again) and the
// executor's configuration (another executor or command, another GPU).
func (n *Node) estimateKey(class [32]byte) string {
	host, _ := os.Hostname()
	kind := "reference"
	if n.exec != nil {
		kind = fmt.Sprintf("%T", n.exec)
	}
	h := sha256.New()
	for _, part := range append([]string{host, kind, n.cfg.Executor.Kind, n.cfg.Executor.Timeout.D().String(),
		fmt.Sprint(n.cfg.GPU.Index)}, n.cfg.Executor.Command...) {
		fmt.Fprintf(h, "%d:%s;", len(part), part)
	}
	return fmt.Sprintf("%x@%x", class, h.Sum(nil)[:8])
}

// selfTest generates and proves one job of the largest size the class and a held model
// allow, timing both, and checks the proof against the keys. The generation runs on the
// configured executor (in process when there is none), as the node's jobs do, so the window
// checks hold the time a real job takes. It returns nil when no held model fits the class.
func (n *Node) selfTest(ctx context.Context, cl *universal.Class) (*estimate, error) {
	var m *model.Model
	var job *jobs.GenJob
	var held heldModel
	for _, hm := range n.models {
		root, err := hm.m.Root()
		if err != nil {
			return nil, err
		}
		for new := cl.MaxRows(); new >= 1; new /= 2 {
			j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{0}, New: new}
			if _, err := j.Check(hm.m); err != nil {
				continue
			}
			if cl.Fits(hm.m, j.Rows(), j) == nil {
				m, job, held = hm.m, j, hm
				break
			}
		}
		if m != nil {
			break
		}
	}
	if m == nil {
		return nil, nil
	}
	keys, err := n.keysFor(cl)
	if err != nil {
		return nil, err
	}
	checked, err := job.Check(m)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	tr, tokens, err := n.selfTestGenerate(ctx, checked, held, job)
	if err != nil {
		return nil, err
	}
	exec := time.Since(t0)
	var seed [32]byte
	seed[31] = 7
	seedFr, err := commit.FromBig(new(big.Int).SetBytes(seed[:]))
	if err != nil {
		return nil, err
	}
	var p *universal.Proof
	t1 := time.Now()
	err = n.heavy(ctx, 0, func() (err error) {
		p, err = universal.Prove(keys, &universal.Statement{Model: m, Job: job, Trace: tr, Tokens: tokens, Seed: seedFr})
		return err
	})
	if err != nil {
		return nil, err
	}
	prove := time.Since(t1)
	if err := universal.Verify(keys.VK, p.Groth16, p.Public); err != nil {
		return nil, fmt.Errorf("the node's own proof does not verify: %w", err)
	}
	n.metrics.ProveSeconds.WithLabelValues(cl.Name).Observe(prove.Seconds())
	return &estimate{At: time.Now().UTC(), ExecPerRow: exec / time.Duration(max(job.Rows(), 1)), Prove: prove}, nil
}

// blockTime is Safety.BlockTime, else the mean of the last 32 blocks (at least a second).
func (n *Node) blockTime(ctx context.Context) (time.Duration, error) {
	if bt := n.cfg.Safety.BlockTime.D(); bt > 0 {
		return bt, nil
	}
	head, err := n.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, err
	}
	if head.Number.Uint64() < 32 {
		return 12 * time.Second, nil
	}
	old, err := n.backend.HeaderByNumber(ctx, new(big.Int).Sub(head.Number, big.NewInt(32)))
	if err != nil {
		return 0, err
	}
	return max(time.Duration(head.Time-old.Time)*time.Second/32, time.Second), nil
}

// need is the time a step needs: the measured work times the safety factor, plus the
// transactions' blocks and the margin.
func (n *Node) need(work, blockTime time.Duration, blocks int) time.Duration {
	return time.Duration(float64(work)*n.cfg.Safety.WindowFactor) + time.Duration(blocks)*blockTime + n.cfg.Safety.WindowMargin.D()
}

func seconds(d time.Duration) uint64 { return uint64((d + time.Second - 1) / time.Second) }

// checkWindows refuses a job whose windows do not hold the node's measured times: an offer
// is executed before its lock, so its lock deadline must leave room for the execution; a
// posted job's execution window must. The prove window must hold the proof, the batch wait,
// the two blocks to the seed, its confirmations and the submission. A job that fits alone
// but not behind the heavy work the node's unproved jobs still need (the backlog, over
// Concurrency slots) is errBusy: considered again later, when the backlog has shrunk.
func (n *Node) checkWindows(ctx context.Context, req chain.Request, cl *universal.Class, rows int, now uint64, src Source) (work, error) {
	return n.checkWindowsLoad(ctx, req, cl, rows, now, src, n.backlog())
}

func (n *Node) checkWindowsLoad(ctx context.Context, req chain.Request, cl *universal.Class, rows int, now uint64, src Source, backlog time.Duration) (work, error) {
	w, err := n.checkWindowsAlone(ctx, req, cl, rows, now, src, 0)
	if err != nil || backlog == 0 {
		return w, err
	}
	if _, err := n.checkWindowsAlone(ctx, req, cl, rows, now, src, backlog); err != nil {
		var rf *Refusal
		if errors.As(err, &rf) {
			return w, fmt.Errorf("%w (%v behind a backlog of %v)", errBusy, rf.Err, backlog)
		}
		return w, err
	}
	return w, nil
}

// checkWindowsAlone is checkWindows for a job that waits wait before each heavy step.
func (n *Node) checkWindowsAlone(ctx context.Context, req chain.Request, cl *universal.Class, rows int, now uint64, src Source, wait time.Duration) (work, error) {
	n.mu.Lock()
	e := n.est[cl.ID()]
	n.mu.Unlock()
	if e == nil {
		return work{}, refuse("windows", "no measured time for class %s (no held model fits it)", cl.Name)
	}
	bt, err := n.blockTime(ctx)
	if err != nil {
		return work{}, err
	}
	exec := n.need(e.ExecPerRow*time.Duration(rows), bt, n.cfg.Safety.TxBlocks) + wait
	if src == FromOffer {
		if now+seconds(exec) > req.LockBy {
			return work{}, refuse("windows", "the lock deadline is %d s away, executing and locking needs %d s", req.LockBy-now, seconds(exec))
		}
	} else if uint64(req.ExecWindow) < seconds(exec) {
		return work{}, refuse("windows", "execution window %d s, executing and committing needs %d s", req.ExecWindow, seconds(exec))
	}
	prove := n.need(e.Prove, bt, n.cfg.Safety.TxBlocks+2+n.cfg.SeedConfirmations) + n.batchWait() + wait
	if uint64(req.ProveWindow) < seconds(prove) {
		return work{}, refuse("windows", "prove window %d s, proving and submitting needs %d s", req.ProveWindow, seconds(prove))
	}
	return n.workOf(e, rows), nil
}

// selfTestGenerate runs the self-test job on the node's executor (marked as a self-test),
// through the same checked generation as a job, or in process without one.
func (n *Node) selfTestGenerate(ctx context.Context, c *jobs.Checked, hm heldModel, job *jobs.GenJob) (*model.Trace, []int32, error) {
	if n.exec == nil {
		return c.Generate()
	}
	dir := filepath.Join(n.cfg.DataDir, "selftest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	b, err := jobs.EncodeJob(job)
	if err != nil {
		return nil, nil, err
	}
	jobPath := filepath.Join(dir, jobs.JobFile)
	if err := atomicfile.Write(jobPath, b); err != nil {
		return nil, nil, err
	}
	g, err := Generate(ctx, selfTestExecutor{n.exec}, hm.path, jobPath, filepath.Join(dir, "out"))
	if err != nil {
		return nil, nil, fmt.Errorf("the executor failed the self-test: %w", err)
	}
	return g.Trace, g.Tokens, nil
}

// selfTestExecutor marks its requests as the node's self-test.
type selfTestExecutor struct{ Executor }

func (s selfTestExecutor) Execute(ctx context.Context, req ExecRequest) error {
	req.SelfTest = true
	return s.Executor.Execute(ctx, req)
}
