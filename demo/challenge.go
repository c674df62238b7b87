package demo

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"time"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/watcher"
)

// targetedAct: a provider changes one element of its trace, enough to change the answer;
// its sampled proof passes (sampling misses one element with probability close to 1), and
// the watcher, recomputing the trace the provider published, challenges that element. The
// provider cannot answer, and the challenge is upheld: it loses its stake.
func (r *run) targetedAct(ctx context.Context) (*sdk.Job, error) {
	p := r.provs[RoleTargeted]
	r.printf("\nAct 4: a provider (%s) changes one element of its trace to change the answer\n", short(p.market.Address()))
	job, err := r.buyer.Prepare(ctx, sdk.Generation{Model: r.model, Text: r.o.Prompt, NewTokens: r.o.NewTokens, Price: r.o.Price,
		ClassID: r.classID, Class: r.class, ExecWindow: window, ProveWindow: window, ChallengeWindow: window,
		JobDir: filepath.Join(r.dir, "jobs", RoleTargeted)})
	if err != nil {
		return nil, fmt.Errorf("demo: preparing the targeted job: %w", err)
	}
	if _, err := r.buyer.Offer(ctx, job, p.book); err != nil {
		return nil, fmt.Errorf("demo: offering the targeted job: %w", err)
	}
	n, err := r.node(ctx, p, prover.FalsifyAnswer)
	if err != nil {
		return nil, fmt.Errorf("demo: targeted node: %w", err)
	}
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- n.Run(nctx) }()
	defer func() { stop(); <-done }()
	res, err := r.buyer.Result(ctx, job) // reveals the seed secret; returns once JobProved
	if err != nil {
		return nil, fmt.Errorf("%w: the targeted job was not proved: %w", ErrUnexpected, err)
	}
	_, want, err := jobs.Generate(r.model, job.Gen)
	if err != nil {
		return nil, err
	}
	last := len(want) - 1
	if int32(res.Tokens[last]) == want[last] {
		return nil, fmt.Errorf("%w: the targeted provider's answer is the model's", ErrUnexpected)
	}
	r.printf("  node: one element of the last logits row raised; the last token is %d, the model gives %d\n", res.Tokens[last], want[last])
	r.printf("  the sampled proof passed and the answer is on chain; the window to challenge it is %d s\n", window)

	w, err := r.newWatcher(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := r.pollWatcher(ctx, w, job.ID, watcher.StatusChallenged)
	if err != nil {
		return nil, err
	}
	e, err := rec.Fault()
	if err != nil {
		return nil, err
	}
	r.printf("  watcher: fetched the published trace, recomputed its %d elements, found %s wrong; challenged it (bond %s)\n",
		rec.Elements, e, amount(bigOf(rec.Bond)))
	// The provider cannot prove the element; once its response window (the job's prove
	// window) has passed, the watcher enforces the challenge.
	dt := time.Duration(window+1) * time.Second
	if err := r.sim.Chain.AdjustTime(dt); err != nil {
		return nil, err
	}
	if _, err := r.pollWatcher(ctx, w, job.ID, watcher.StatusUpheld); err != nil {
		return nil, err
	}
	j := r.addJob(RoleTargeted, job, p)
	evs, err := r.buyer.Events(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if s, ok := ev.(sdk.Slashed); ok {
			j.Outcome, j.Stake, j.Bounty = "Slashed", s.Stake.String(), s.Bounty.String()
		}
	}
	if j.Outcome != "Slashed" {
		return nil, fmt.Errorf("%w: the upheld challenge did not slash the targeted job", ErrUnexpected)
	}
	r.printf("  chain clock moved %v: no answer (no proof exists for that element), the challenge was upheld:\n", dt)
	r.printf("    stake %s -> buyer %s + watcher bounty %s, and the watcher's bond back\n", amount(bigOf(j.Stake)),
		tokens(new(big.Int).Sub(bigOf(j.Stake), bigOf(j.Bounty))), tokens(bigOf(j.Bounty)))
	return job, nil
}

// newWatcher starts the watcher (the watcher account) on the demo chain, from block 0.
func (r *run) newWatcher(ctx context.Context) (*watcher.Watcher, error) {
	cfg := watcher.DefaultConfig()
	cfg.Deployment, cfg.DataDir = r.sim.Addresses, filepath.Join(r.dir, "watcher")
	cfg.AllowFile, cfg.ChallengeMargin = true, 0
	cfg.PollInterval = prover.Duration(20 * time.Millisecond)
	for _, role := range roles {
		cfg.OrderBooks = append(cfg.OrderBooks, r.provs[role].book)
	}
	w, err := watcher.New(ctx, watcher.Options{Config: cfg, Backend: r.sim.Chain.Client(), Key: r.sim.Accounts[5],
		Models: []*model.Model{r.model}, Logger: r.logger.With("node", "watcher")})
	if err != nil {
		return nil, fmt.Errorf("demo: watcher: %w", err)
	}
	return w, nil
}

// pollWatcher polls the watcher until its record of the job has the status.
func (r *run) pollWatcher(ctx context.Context, w *watcher.Watcher, id *big.Int, want watcher.Status) (*watcher.Record, error) {
	end := time.Now().Add(2 * time.Minute)
	for time.Now().Before(end) {
		var err error
		if r.watchFrom, err = w.Poll(ctx, r.watchFrom); err != nil {
			r.logger.Warn("watcher poll", "err", err)
		}
		rec, ok, err := w.Journal().Get(id)
		if err != nil {
			return nil, err
		}
		if ok && rec.Status == want {
			return rec, nil
		}
		if ok && rec.Status.Terminal() {
			return nil, fmt.Errorf("%w: the watcher concluded %s (%s), not %s", ErrUnexpected, rec.Status, rec.Reason, want)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("%w: the watcher did not reach %s", ErrUnexpected, want)
}
