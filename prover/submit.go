package prover

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
)

// commitment is the job's commitment as the node committed it.
func (n *Node) commitment(r *Record) (chain.Commitment, error) {
	stake, ok := new(big.Int).SetString(r.Stake, 10)
	if !ok {
		return chain.Commitment{}, permanent{fmt.Errorf("journaled stake %q", r.Stake)}
	}
	root, err := unword(r.TraceRoot)
	if err != nil {
		return chain.Commitment{}, permanent{err}
	}
	return chain.Commitment{Provider: n.Address(), Stake: stake, TraceRoot: root, AttestationDigest: r.AttestationDigest}, nil
}

// submission builds the job's submission from the journal and the result file.
func (n *Node) submission(r *Record) (chain.Submission, []uint32, error) {
	c, err := n.commitment(r)
	if err != nil {
		return chain.Submission{}, nil, err
	}
	rb, err := os.ReadFile(r.ResultPath)
	if err != nil {
		return chain.Submission{}, nil, permanent{err}
	}
	toks, err := jobs.ParseResult(rb)
	if err != nil {
		return chain.Submission{}, nil, permanent{err}
	}
	tokens := make([]uint32, len(toks))
	for i, t := range toks {
		tokens[i] = uint32(t)
	}
	words, err := chain.PackResultTokens(tokens)
	if err != nil {
		return chain.Submission{}, nil, permanent{err}
	}
	if len(r.Proof) != circuits.ProofSize {
		return chain.Submission{}, nil, permanent{fmt.Errorf("journaled proof has %d bytes", len(r.Proof))}
	}
	return chain.Submission{Request: r.Request.Request, Commitment: c, Result: words, Proof: proofWords(r.Proof)}, tokens, nil
}

// proofWords splits a 256-byte Solidity proof encoding into the verifier's eight words.
func proofWords(b []byte) [8]*big.Int {
	var proof [8]*big.Int
	for i := range proof {
		proof[i] = new(big.Int).SetBytes(b[32*i : 32*i+32])
	}
	return proof
}

// submit hands the proof to the batcher and records the outcome: proved (tokens on chain,
// receipt signed), slashed, or skipped (reconciled and retried).
func (n *Node) submit(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	now, err := n.chainTime(ctx)
	if err != nil {
		return r.Step, err
	}
	if r.ProveBy != 0 && now > r.ProveBy {
		r.Reason = "prove deadline passed before the submission"
		return StepExpired, nil
	}
	if !r.SeedFixed {
		// The derived seed expires at seedBlock + 256: fix it while that is still possible.
		near, err := n.horizonNear(ctx, r)
		if err != nil {
			return r.Step, err
		}
		if near {
			proved := r.Seed
			if err := n.fixSeed(ctx, r, log); err != nil {
				return r.Step, err
			}
			if r.Seed != proved {
				// The block hash it stored is not the one proved (a reorganisation since):
				// prove the stored seed rather than submit a proof the manager would slash.
				log.Warn("the fixed seed is not the proved one; proving again", "proved", proved, "fixed", r.Seed)
				r.Proof = nil
				return StepSeeded, nil
			}
		}
	}
	n.publishTrace(ctx, r, log)
	sub, tokens, err := n.submission(r)
	if err != nil {
		return r.Step, err
	}
	latest, err := n.latestSubmit(ctx, r, now)
	if err != nil {
		return r.Step, err
	}
	t0 := time.Now()
	res := n.batch.submit(ctx, r.Request.ClassId, sub, latest)
	if res.Err != nil {
		return r.Step, res.Err
	}
	if res.Rejected {
		return n.rejected(ctx, r, log)
	}
	d := time.Since(t0)
	n.metrics.StepSeconds.WithLabelValues("submit").Observe(d.Seconds())
	r.timing("submitMs", d)
	kind := "submit"
	if res.Size > 1 {
		kind = "submitBatch"
	}
	if r.Txs == nil {
		r.Txs, r.Gas = map[string]common.Hash{}, map[string]uint64{}
	}
	if r.Gas == nil {
		r.Gas = map[string]uint64{}
	}
	r.Txs[kind] = res.Tx.Receipt.TxHash
	r.Gas[kind] = res.Tx.GasUsed / uint64(res.Size) // a batch's gas, shared by its members
	r.BatchSize = res.Size
	n.metrics.GasUsed.WithLabelValues(kind).Add(float64(res.Tx.GasUsed) / float64(res.Size))
	o := res.Outcome
	switch o.Outcome {
	case chain.OutcomeProved:
		if !slices.Equal(o.Tokens, tokens) {
			log.Error("the chain's tokens differ from the generated ones", "chain", o.Tokens, "ours", tokens)
		}
		if err := n.proved(ctx, r, o.Proved, log); err != nil {
			return r.Step, err
		}
		log.Info("proved on chain", "tokens", len(o.Tokens), "batch", res.Size, "gas", r.Gas[kind], "payableAt", r.PayableAt)
		return StepSubmitted, nil
	case chain.OutcomeSlashed:
		r.Reason = fmt.Sprintf("the verifier rejected the proof; stake %v slashed", o.Slashed.Stake)
		return StepSlashed, nil
	default:
		return r.Step, fmt.Errorf("submission skipped: %v", o.Skipped.Reason)
	}
}

// latestSubmit is the wall time after which a submission risks the prove deadline or, for a
// seed not stored, the seed horizon: what a batch may wait for.
func (n *Node) latestSubmit(ctx context.Context, r *Record, now uint64) (time.Time, error) {
	bt, err := n.blockTime(ctx)
	if err != nil {
		return time.Time{}, err
	}
	slack := time.Duration(1<<62 - 1)
	reserve := time.Duration(n.cfg.Safety.TxBlocks)*bt + n.cfg.Safety.WindowMargin.D()
	if r.ProveBy != 0 {
		slack = time.Duration(r.ProveBy-min(now, r.ProveBy))*time.Second - reserve
	}
	if !r.SeedFixed {
		head, err := n.backend.BlockNumber(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if end := r.SeedBlock + seedHorizon; end > head {
			slack = min(slack, time.Duration(end-head)*bt-reserve)
		} else {
			slack = 0
		}
	}
	return time.Now().Add(max(slack, 0)), nil
}

// proved records the JobProved event and signs the receipt (settlement.md §6) over what the
// manager verified, checking that its digest is the one the manager emitted.
func (n *Node) proved(ctx context.Context, r *Record, ev *chain.JobProved, log *slog.Logger) error {
	c, err := n.commitment(r)
	if err != nil {
		return err
	}
	resultDigest, err := unword(r.ResultDigest)
	if err != nil {
		return permanent{err}
	}
	rc := protocol.Receipt{JobID: r.ID(), Provider: n.Address(), ModelRoot: r.Request.ModelRoot, JobDigest: r.Request.JobDigest,
		TraceRoot: c.TraceRoot, AttestationDigest: r.AttestationDigest, Seed: ev.Seed, ResultDigest: resultDigest,
		ProofHash: crypto.Keccak256Hash(r.Proof)}
	digest := rc.Digest(protocol.Domain{ChainID: n.chainID, Contract: n.cfg.Deployment.Manager})
	if digest != ev.ReceiptDigest {
		return permanent{fmt.Errorf("the receipt digest %x is not the manager's %x", digest, ev.ReceiptDigest)}
	}
	sig, err := chain.SignDigest(n.nodeKey, digest)
	if err != nil {
		return err
	}
	tokens, err := chain.ResultTokens(ev.Result, r.Request.NewTokens)
	if err != nil {
		return permanent{err}
	}
	r.Tokens, r.Seed, r.ReceiptDigest, r.ReceiptSignature, r.PayableAt = tokens, word(ev.Seed), digest, sig, ev.PayableAt
	r.ProvedBlock = ev.Raw.BlockNumber
	if err := n.writeReceipt(ctx, r); err != nil {
		// The payment does not depend on the document; an auditor does.
		log.Error("no receipt document", "err", err)
	}
	return nil
}

// rejected handles a submission the manager's simulation found invalid: a proof that verified
// locally fails on chain only for another seed than the journaled one (a reorganisation of the
// seed block, or of the fixSeed transaction). The seed is read again and the job proved again;
// when the chain's seed is the journaled one the proof cannot land, and the job fails without
// sending what would be slashed at once.
func (n *Node) rejected(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	job, err := n.market.GetJob(ctx, r.ID())
	if err != nil {
		return r.Step, err
	}
	seed, serr := n.market.SeedOf(ctx, r.ID())
	if serr == nil && word(seed) == r.Seed {
		return r.Step, permanent{fmt.Errorf("the manager would reject the proof of the chain's seed %s; not submitted", r.Seed)}
	}
	log.Warn("the chain's seed is not the proved one (reorganised?); proving again", "journaled", r.Seed, "chain", seed, "err", serr)
	n.reseed(r, job)
	return StepCommitted, nil
}

// reseed forgets the journaled seed and proof, and takes the seed block, the seed's state and
// the deadline from the chain's job: the job goes back to waiting for its seed.
func (n *Node) reseed(r *Record, job chain.Job) {
	r.Seed, r.Proof, r.SeedFixed = "", nil, job.Flags&chain.JobFlagSeedFixed != 0
	if job.SeedBlock != nil && job.SeedBlock.Uint64() != 0 {
		r.SeedBlock = job.SeedBlock.Uint64()
	}
	if r.SeedFixed || job.Deadline != nil && job.Deadline.Uint64() != 0 {
		r.ProveBy = job.Deadline.Uint64()
	}
}
