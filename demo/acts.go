package demo

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
)

// estimatesCache keeps the nodes' self-test measurement (execution and proving time of the
// class, which an honest node checks every job's windows against) next to the key cache, so
// that only the first run pays for it, as for the keys.
func (r *run) estimatesCache() string {
	return filepath.Join(filepath.Dir(r.cache.Dir), "demo", "estimates.json")
}

// node assembles role's prover node: the shipped model, the small class with the demo's keys,
// the provider's own order book, no GPU.
func (r *run) node(ctx context.Context, p *provider, falsify string) (*prover.Node, error) {
	cfg := prover.DefaultConfig()
	cfg.Deployment = r.sim.Addresses
	cfg.DataDir = filepath.Join(r.dir, "nodes", p.role)
	cfg.KeysDir = r.cache.Dir
	cfg.OrderBooks = []string{p.book}
	cfg.PollInterval = prover.Duration(20 * time.Millisecond)
	cfg.Fetch.AllowFile = true
	cfg.GPU.Mode = "none"
	cfg.MinPrice = "1"
	cfg.Falsify = falsify
	cfg.Safety.SelfTestEvery = prover.Duration(30 * 24 * time.Hour)
	if b, err := os.ReadFile(r.estimatesCache()); err == nil {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "estimates.json"), b, 0o644); err != nil {
			return nil, err
		}
	}
	keys := func(t circuits.Target) (*circuits.Keys, error) {
		if t.ID() == r.class.ID() {
			return r.keys, nil
		}
		return r.cache.Setup(t)
	}
	return prover.New(ctx, prover.Options{Config: cfg, Backend: r.sim.Chain.Client(), ProviderKey: p.key,
		NodeKey: p.nodeKey, Models: []*model.Model{r.model}, Keys: keys, Logger: r.logger.With("node", p.role)})
}

// keepEstimates stores the node's self-test measurement for later runs.
func (r *run) keepEstimates(p *provider) {
	b, err := os.ReadFile(filepath.Join(r.dir, "nodes", p.role, "estimates.json"))
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(r.estimatesCache()), 0o755) == nil {
		_ = atomicfile.Write(r.estimatesCache(), b)
	}
}

// prepare writes the buyer's job file and offer for role's provider.
func (r *run) prepare(ctx context.Context, role string, n int) (*sdk.Job, error) {
	job, err := r.buyer.Prepare(ctx, sdk.Generation{Model: r.model, Text: r.o.Prompt, NewTokens: n, Price: r.o.Price,
		ClassID: r.classID, Class: r.class, ExecWindow: window, ProveWindow: window,
		JobDir: filepath.Join(r.dir, "jobs", role)})
	if err != nil {
		return nil, fmt.Errorf("demo: preparing the %s job: %w", role, err)
	}
	if _, err := r.buyer.Offer(ctx, job, r.provs[role].book); err != nil {
		return nil, fmt.Errorf("demo: offering the %s job: %w", role, err)
	}
	return job, nil
}

// runNode runs the node until the job is final while fn plays the buyer's side, and returns
// the node's record of the job. A node that ends the job early (it refused it, say) leaves fn
// a few seconds and then cancels it, so that the record says what went wrong.
func (r *run) runNode(ctx context.Context, n *prover.Node, job *sdk.Job, fn func(context.Context) error) (*prover.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	bctx, bcancel := context.WithCancel(ctx)
	defer bcancel()
	buyer := make(chan error, 1)
	go func() { buyer <- fn(bctx) }()
	recs, err := n.RunUntil(ctx, job.ID)
	if err != nil {
		bcancel()
		<-buyer
		return nil, fmt.Errorf("demo: node: %w", err)
	}
	if len(recs) != 1 {
		bcancel()
		<-buyer
		return nil, fmt.Errorf("demo: node returned %d records for one job", len(recs))
	}
	select {
	case err = <-buyer:
	case <-time.After(5 * time.Second):
		bcancel()
		err = <-buyer
	}
	if err != nil {
		return recs[0], fmt.Errorf("%w (the node left the job at %s: %s)", err, recs[0].Step, recs[0].Reason)
	}
	return recs[0], nil
}

func (r *run) addJob(role string, job *sdk.Job, p *provider) *Job {
	r.sum.Jobs = append(r.sum.Jobs, Job{ID: job.ID.String(), Role: role, Provider: p.market.Address(), Price: r.o.Price.String()})
	return &r.sum.Jobs[len(r.sum.Jobs)-1]
}

// honestAct: a buyer asks the shipped model for text; the honest node generates it, locks
// and commits in one transaction, proves, and is paid; the buyer reads the text from the chain.
func (r *run) honestAct(ctx context.Context) (*sdk.Job, error) {
	p := r.provs[RoleHonest]
	r.printf("\nAct 1: a buyer asks the shipped model for text; an honest provider (%s) generates and proves it\n", short(p.market.Address()))
	job, err := r.prepare(ctx, RoleHonest, r.o.NewTokens)
	if err != nil {
		return nil, err
	}
	r.printf("  buyer: prompt %q, %d new tokens (argmax), price %s; a signed offer in the provider's order book (no transaction)\n",
		r.o.Prompt, r.o.NewTokens, amount(r.o.Price))
	n, err := r.node(ctx, p, "")
	if err != nil {
		return nil, fmt.Errorf("demo: honest node: %w", err)
	}
	var res *sdk.Result
	rec, err := r.runNode(ctx, n, job, func(ctx context.Context) error {
		var err error
		res, err = r.buyer.Result(ctx, job) // reveals the seed secret once the job is committed
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: the honest job: %w", ErrUnexpected, err)
	}
	r.keepEstimates(p)
	j := r.addJob(RoleHonest, job, p)
	j.NodeStep, j.NodeReason = string(rec.Step), rec.Reason
	rep := rec.Report()
	j.ExecuteMs, j.ProveMs = uint64(rep.Execute.Milliseconds()), uint64(rep.Prove.Milliseconds())
	r.printf("  node: generated in %v, lockAndCommit (gas %d), seed revealed by the buyer, proved in %.1f s, submit (gas %d)\n",
		rep.Execute.Round(time.Millisecond), rep.Gas["lockAndCommit"], rep.Prove.Seconds(), rep.Gas["submit"])

	// A self-check, not something the buyer needs: the chain's tokens are the model's.
	_, want, err := jobs.Generate(r.model, job.Gen)
	if err != nil {
		return nil, err
	}
	got := make([]int32, len(res.Tokens))
	for i, t := range res.Tokens {
		got[i] = int32(t)
	}
	if !slices.Equal(got, want) || !res.TextOK {
		return nil, fmt.Errorf("%w: the tokens on chain are not the model's", ErrUnexpected)
	}
	r.sum.Text = res.Text
	r.printf("  proof verified on chain; the buyer reads the answer from JobProved:\n    %q\n", r.o.Prompt+res.Text)
	settled, err := r.buyer.WaitSettled(ctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: the honest job did not settle: %w", ErrUnexpected, err)
	}
	j.Outcome = "Settled"
	evs, err := r.buyer.Events(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		switch e := ev.(type) {
		case sdk.Locked:
			j.Stake = e.Stake.String()
		case sdk.Committed: // lockAndCommit: the stake is in the commitment
			if e.Commitment.Stake != nil {
				j.Stake = e.Commitment.Stake.String()
			}
		}
	}
	rc, err := r.buyer.Receipt(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("%w: the honest receipt: %w", ErrUnexpected, err)
	}
	j.Receipt = r.receiptPath(job)
	bounds := ""
	for _, b := range rc.Detection {
		if b.Family == "linear" {
			bounds = fmt.Sprintf("; a wholly falsified linear op is caught with %s", pct(b.Instance))
		}
	}
	r.printf("  settled at once (no challenge window): provider paid %s; the buyer fetched the receipt and matched it to JobProved%s\n",
		amount(settled.Price), bounds)
	return job, nil
}

// receiptPath is where the node published a job's receipt: receipts/<jobId>.json next to the
// job file.
func (r *run) receiptPath(job *sdk.Job) string {
	return filepath.Join(r.dir, "jobs", RoleHonest, "receipts", job.ID.String()+".json")
}

// lazyAct: a node that does not run the model commits a made-up trace; the sampled checks
// fail, so no proof exists and the node gives up.
func (r *run) lazyAct(ctx context.Context) (*sdk.Job, error) {
	p := r.provs[RoleLazy]
	r.printf("\nAct 2: a lazy provider (%s) commits a trace it did not compute\n", short(p.market.Address()))
	job, err := r.prepare(ctx, RoleLazy, r.o.NewTokens)
	if err != nil {
		return nil, err
	}
	n, err := r.node(ctx, p, prover.FalsifyLazy)
	if err != nil {
		return nil, fmt.Errorf("demo: lazy node: %w", err)
	}
	rec, err := r.runNode(ctx, n, job, func(ctx context.Context) error {
		_, err := r.buyer.RevealWhenReady(ctx, job)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: the lazy job: %w", ErrUnexpected, err)
	}
	j := r.addJob(RoleLazy, job, p)
	j.NodeStep, j.NodeReason = string(rec.Step), rec.Reason
	if rec.Step != prover.StepFailed {
		return nil, fmt.Errorf("%w: the lazy node ended at %s (%s), not unable to prove", ErrUnexpected, rec.Step, rec.Reason)
	}
	r.printf("  node: lockAndCommit of the falsified trace root; the buyer revealed its secret and the seed picked the samples\n")
	r.printf("  no proof exists for a falsified sample, so the node gave up: %s\n", firstLine(rec.Reason, 110))
	return job, nil
}

// silentAct: a provider takes an offer from its book, locks it and never commits.
func (r *run) silentAct(ctx context.Context) (*sdk.Job, error) {
	p := r.provs[RoleSilent]
	r.printf("\nAct 3: a provider (%s) locks a job and goes silent\n", short(p.market.Address()))
	job, err := r.prepare(ctx, RoleSilent, r.o.NewTokens)
	if err != nil {
		return nil, err
	}
	var br jobs.BookReader
	offer, err := br.Read(ctx, p.book, job.ID.String()+".json")
	if err != nil {
		return nil, fmt.Errorf("demo: reading the silent provider's book: %w", err)
	}
	locked, err := p.market.LockRequest(ctx, sdk.ChainRequest(offer.Request), offer.Signature, chain.AnyTerms)
	if err != nil {
		return nil, fmt.Errorf("%w: lockRequest: %w", ErrUnexpected, err)
	}
	j := r.addJob(RoleSilent, job, p)
	if locked.Locked != nil {
		j.Stake = locked.Locked.Stake.String()
	}
	r.printf("  lockRequest (gas %d, stake %s) and then nothing: no commit within the %d s execution window\n",
		locked.GasUsed, amount(bigOf(j.Stake)), window)
	return job, nil
}

// slashAct moves the chain clock past both deadlines and has a watcher slash both jobs.
func (r *run) slashAct(ctx context.Context, lazy, silent *sdk.Job) error {
	r.printf("\nAct 5: deadlines pass; a watcher slashes\n")
	dt := 2*window*time.Second + time.Minute
	if err := r.sim.Chain.AdjustTime(dt); err != nil {
		return err
	}
	r.printf("  chain clock moved forward %v, past the proof and commit deadlines\n", dt)
	for _, x := range []struct {
		job  *sdk.Job
		role string
	}{{lazy, RoleLazy}, {silent, RoleSilent}} {
		ev, err := r.watcher.Slash(ctx, x.job.ID)
		if err != nil {
			return fmt.Errorf("%w: slashing the %s job: %w", ErrUnexpected, x.role, err)
		}
		j := r.sum.Job(x.role)
		j.Outcome, j.Stake, j.Bounty = "Slashed", ev.Stake.String(), ev.Bounty.String()
		r.printf("  slash(%s job): stake %s -> buyer %s + watcher bounty %s\n", x.role, amount(ev.Stake),
			tokens(new(big.Int).Sub(ev.Stake, ev.Bounty)), tokens(ev.Bounty))
	}
	return nil
}

// gasAct reads every job's transactions from its events and names each by the manager
// function it called.
func (r *run) gasAct(ctx context.Context, all []*sdk.Job) error {
	r.printf("\nGas per job (each transaction of the job's life, from its events)\n")
	for _, job := range all {
		j := r.sum.jobByID(job.ID)
		gas, err := r.jobGas(ctx, job.ID)
		if err != nil {
			return err
		}
		j.Gas = gas
		line := ""
		for _, name := range sortedKeys(gas) {
			line += fmt.Sprintf(", %s %d", name, gas[name])
			j.GasTotal += gas[name]
		}
		r.printf("  %s job: %s; total %d\n", j.Role, line[2:], j.GasTotal)
	}
	if h := r.sum.Job(RoleHonest); h != nil {
		r.printf("  the honest job end to end (locked and committed, seeded, proved and paid): %d gas (target 500,000; the buyer's reveal is %d of it)\n",
			h.GasTotal, h.Gas["revealSeed"])
	}
	return nil
}

func (s *Summary) jobByID(id *big.Int) *Job {
	for i := range s.Jobs {
		if s.Jobs[i].ID == id.String() {
			return &s.Jobs[i]
		}
	}
	return nil
}

// auditAct verifies the honest receipt offline, as a third party would.
func (r *run) auditAct(ctx context.Context, honest *sdk.Job) error {
	r.printf("\nAct 7: an auditor verifies the honest receipt offline, then against the chain\n")
	rep, err := r.audit(ctx, r.receiptPath(honest), false)
	if err != nil {
		return err
	}
	r.sum.Audit = Audit{OK: rep.OK(), Checks: rep.Checks, Elapsed: rep.Elapsed}
	passed := 0
	for _, c := range rep.Checks {
		if c.Status == "pass" {
			passed++
		}
	}
	if !rep.OK() {
		return fmt.Errorf("%w: the honest receipt failed its audit: %w", ErrUnexpected, rep.Err())
	}
	r.printf("  offline: %d checks passed in %v (job id, job file, class, seed, result, Groth16 proof, detection, attestation, signature); the seed block's hash is unconfirmed without the chain\n",
		passed, rep.Elapsed.Round(time.Millisecond))
	onChain, err := r.audit(ctx, r.receiptPath(honest), true)
	if err != nil {
		return err
	}
	if !onChain.OK() {
		return fmt.Errorf("%w: the honest receipt failed its on-chain audit: %w", ErrUnexpected, onChain.Err())
	}
	r.sum.Audit.OnChain = true
	r.printf("  with the chain: confirmed (the seed block's hash, JobProved's receipt digest, the commitment, the node key)\n")
	return nil
}
