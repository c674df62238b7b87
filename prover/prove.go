package prover

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/tensor"
)

func commitActivations(y *tensor.Int8, depth int) (*big.Int, error) {
	t, err := commit.CommitActivations(y, depth)
	if err != nil {
		return nil, err
	}
	return commit.ToBig(t.Root()), nil
}

func outputsDigest(roots []*big.Int, att common.Hash) common.Hash {
	return protocol.OutputsDigest(roots, att)
}

// seedOf is the seed of a job posted without a seed commitment, which submitProof fixes
// with a zero secret (spec §6.2).
func seedOf(chainID *big.Int, manager common.Address, id *big.Int, outputsDigest, blockHash common.Hash) *big.Int {
	return protocol.Seed(chainID, manager, id, outputsDigest, blockHash, [32]byte{})
}

// proofDeadlinePassed reports whether the job can no longer be proved: past proveBy once the
// seed is fixed on chain, or past the seed horizon while the node derived the seed itself
// (then submitProof fixes it, and the proof clock starts with the submission).
func (n *Node) proofDeadlinePassed(ctx context.Context, r *Record) bool {
	if r.ProveBy != 0 {
		now, err := n.chainTime(ctx)
		return err == nil && now > r.ProveBy
	}
	head, err := n.backend.BlockNumber(ctx)
	return err == nil && head > r.SeedBlock+protocol.SeedHorizon
}

// keysFor returns a shape's keys, loading or building them once per node.
func (n *Node) keysFor(s circuits.Shape) (*circuits.Keys, error) {
	n.keyMu.Lock()
	defer n.keyMu.Unlock()
	if k := n.keyCache[s.ID()]; k != nil {
		return k, nil
	}
	k, err := n.keys.Setup(s)
	if err != nil {
		return nil, fmt.Errorf("keys for %s: %w", s.Name, err)
	}
	n.keyCache[s.ID()] = k
	return k, nil
}

// WarmKeys loads (or builds) the keys of every served shape, so the first job does not
// pay for a setup inside its deadlines.
func (n *Node) WarmKeys() error {
	for _, s := range n.servedShapes() {
		_, err := n.keysFor(s)
		if errors.Is(err, ErrNoKeys) {
			// Checked against the chain at start (CheckKeys) and before a job of the shape.
			n.log.Warn("no keys installed for a served shape; its jobs are refused until they are", "shape", s.Name, "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// progressLine shows one live line on a terminal while a layer is proved.
type progressLine struct {
	w    io.Writer
	stop chan struct{}
	done sync.WaitGroup
}

func startProgress(w io.Writer, label string, expect time.Duration) *progressLine {
	p := &progressLine{w: w, stop: make(chan struct{})}
	if w == nil {
		return p
	}
	t0 := time.Now()
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		spin := `|/-\`
		for i := 0; ; i++ {
			el := time.Since(t0).Round(100 * time.Millisecond)
			eta := ""
			if expect > 0 {
				frac := min(float64(time.Since(t0))/float64(expect), 0.99)
				eta = fmt.Sprintf(" ~%d%% of %v", int(frac*100), expect.Round(time.Second))
			}
			fmt.Fprintf(w, "\r\033[K%c %s %v%s", spin[i%4], label, el, eta)
			select {
			case <-p.stop:
				fmt.Fprintf(w, "\r\033[K%s done in %v\n", label, time.Since(t0).Round(time.Millisecond))
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *progressLine) end() {
	close(p.stop)
	p.done.Wait()
}

func (n *Node) prove(ctx context.Context, r *Record, resumed bool, log *slog.Logger) (Step, error) {
	if n.proofDeadlinePassed(ctx, r) {
		r.Reason = "prove deadline passed before proving"
		return StepExpired, nil
	}
	var files *JobFiles
	var err error
	if resumed {
		files, err = n.verifyOutputs(r)
	} else {
		files, err = CheckJobFiles(r.Spec(), r.InputPath, r.ModelPath)
	}
	if err != nil {
		return r.Step, permanent{fmt.Errorf("committed outputs unusable: %w", err)}
	}
	if err := n.fixSeedIfHorizonNear(ctx, r, files); err != nil {
		return r.Step, err
	}
	seed := hexBig(r.Seed)
	x := files.Input
	proofs := make([]receipt.Proof, len(r.Layers))
	r.Proofs = nil
	t0 := time.Now()
	kmin := uint16(0)
	for l, s := range files.Shapes {
		if err := ctx.Err(); err != nil {
			return r.Step, err
		}
		if kmin == 0 || s.Kn < kmin {
			kmin = s.Kn
		}
		keys, err := n.keysFor(s)
		if err != nil {
			return r.Step, err
		}
		y, err := jobs.LoadOutput(r.OutputPaths[l])
		if err != nil {
			return r.Step, permanent{err}
		}
		seedL := protocol.LayerSeed(seed, uint32(l))
		label := fmt.Sprintf("job %s: proving layer %d/%d (%s)", r.JobID, l+1, len(files.Shapes), s.Name)
		var expect time.Duration
		if ms, ok := r.Timings[fmt.Sprintf("prove.%s", s.Name)]; ok {
			expect = time.Duration(ms) * time.Millisecond
		}
		pl := startProgress(n.progress, label, expect)
		tl := time.Now()
		pf, err := circuits.Prove(keys, circuits.Inputs{Shape: s, Input: x, Layer: files.Model.Layers[l], Output: y, Seed: seedL})
		pl.end()
		if err != nil {
			var se *circuits.SampleError
			if errors.As(err, &se) {
				// Our own committed outputs are wrong at a sampled element: no proof exists.
				return r.Step, permanent{fmt.Errorf("layer %d: committed output fails its sample: %w", l, err)}
			}
			return r.Step, fmt.Errorf("proving layer %d: %w", l, err)
		}
		n.metrics.ProveSeconds.WithLabelValues(s.Name).Observe(time.Since(tl).Seconds())
		n.noteProveTime(s, time.Since(tl))
		var pi [receipt.NumPublicInputs]receipt.Word
		for i, v := range pf.PublicInputs {
			pi[i] = receipt.MustWord(v)
		}
		proofs[l] = receipt.Proof{Layer: uint32(l), ShapeID: s.ID(), Proof: append([]byte(nil), pf.Solidity[:]...), PublicInputs: pi}
		r.Proofs = append(r.Proofs, "0x"+hex.EncodeToString(pf.Solidity[:]))
		x = y
	}
	proveDur := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("prove").Observe(proveDur.Seconds())
	r.timing("proveMs", proveDur)

	rc, err := n.buildReceipt(r, kmin, seed, proofs)
	if err != nil {
		return r.Step, permanent{err}
	}
	if err := rc.Sign(n.nodeKey); err != nil {
		return r.Step, permanent{err}
	}
	r.ReceiptPath = filepath.Join(n.cfg.receiptsDir(), r.JobID+".json")
	if err := writeReceipt(r.ReceiptPath, rc); err != nil {
		return r.Step, err
	}
	log.Info("proved", "layers", len(proofs), "ms", proveDur.Milliseconds(), "receipt", r.ReceiptPath)
	return StepProved, nil
}

func (n *Node) buildReceipt(r *Record, kmin uint16, seed *big.Int, proofs []receipt.Proof) (*receipt.Receipt, error) {
	det, err := protocol.DetectionFixed(kmin, n.cfg.DetectionFloorBps)
	if err != nil {
		return nil, err
	}
	spec := r.Spec()
	job := receipt.Job{InputRoot: receipt.MustWord(spec.InputRoot), Rows: spec.Rows}
	for _, l := range spec.Layers {
		job.Layers = append(job.Layers, receipt.Layer{ShapeID: l.ShapeId, WeightsRoot: receipt.MustWord(l.WeightsRoot), Epilogue: receipt.MustWord(l.Epilogue)})
	}
	roots := make([]receipt.Word, len(r.OutputRoots))
	for i, v := range r.Roots() {
		roots[i] = receipt.MustWord(v)
	}
	ms := func(k string) uint64 { return r.Timings[k] }
	rc := &receipt.Receipt{
		Version: receipt.Version, ChainID: receipt.NewUint(n.chainID), Contract: n.cfg.Deployment.Manager,
		JobID: receipt.NewUint(r.ID()), Provider: n.c.Address(), Job: job, SpecHash: receipt.Word(r.SpecHash),
		OutputRoots: roots, AttestationDigest: receipt.Word(r.AttestationDigest), SeedBlock: r.SeedBlock,
		Seed: receipt.MustWord(seed), K: kmin,
		Detection: receipt.Detection{FloorBps: n.cfg.DetectionFloorBps,
			ProbabilityBps: uint32(new(big.Int).Quo(det, big.NewInt(1e14)).Uint64())},
		Proofs:      proofs,
		Attestation: append([]byte(nil), r.Attestation...),
		Timings:     receipt.Timings{ExecuteMs: ms("executeMs"), CommitMs: ms("commitMs"), ProveMs: ms("proveMs")},
	}
	if err := rc.CheckSpecHash(); err != nil {
		return nil, err
	}
	return rc, nil
}

func writeReceipt(path string, rc *receipt.Receipt) error {
	b, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func loadReceipt(path string) (*receipt.Receipt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return receipt.Parse(b)
}
