package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/sdk"
)

// The `job` subcommands and `slash`.

const jobSynopsisTail = " [--buyer-dir DIR] [--from-block N] [--rpc URL] [--deployment FILE]"

// statusReport is `job status --json`: the manager's record and what the job's events add.
type statusReport struct {
	ID       string          `json:"id"`
	State    string          `json:"state"`
	Buyer    *common.Address `json:"buyer,omitempty"`
	Provider *common.Address `json:"provider,omitempty"`
	Price    string          `json:"price,omitempty"`
	Stake    string          `json:"stake,omitempty"`
	// Deadline is the state's deadline (lock, commit or proof; chain time), SeedBlock the
	// block whose hash the seed comes from.
	Deadline  uint64 `json:"deadline,omitempty"`
	SeedBlock uint64 `json:"seedBlock,omitempty"`
	Seed      string `json:"seed,omitempty"`
	Revealed  *bool  `json:"seedRevealed,omitempty"`
	TraceRoot string `json:"traceRoot,omitempty"`
	JobURI    string `json:"jobUri,omitempty"`
	// Offered: a signed offer in Book that nobody has locked yet (the chain knows nothing).
	Offered       bool     `json:"offered,omitempty"`
	Book          string   `json:"book,omitempty"`
	Tokens        []uint32 `json:"tokens,omitempty"`
	ReceiptDigest string   `json:"receiptDigest,omitempty"`
	PayableAt     uint64   `json:"payableAt,omitempty"`
	Slashed       *slashed `json:"slashed,omitempty"`
}

type slashed struct {
	Stake  string         `json:"stake"`
	Bounty string         `json:"bounty"`
	Caller common.Address `json:"caller"`
}

func runJobStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	j, err := parseJobCommand("job status", "job status ID [--json]"+jobSynopsisTail+"\n\n"+
		"Prints the job's state, buyer, provider and stake, the current deadline (chain time), the\n"+
		"seed, the committed trace root, and once proved the tokens' count and the receipt digest.\n"+
		"A signed offer nobody has locked is shown from the buyer directory. Exit 1: no such job.", args, stderr,
		nil)
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, false)
	if err != nil {
		return err
	}
	job, err := loadJob(ctx, c, *j.f.buyerDir, j.id)
	if err != nil {
		return err
	}
	st, err := c.Market().GetJob(ctx, j.id)
	if err != nil {
		return fromChain(err)
	}
	r := statusReport{ID: j.id.String(), State: chain.JobState(st.State).String(), Buyer: &job.Request.Buyer,
		Price: formatAmount(job.Request.Price), JobURI: job.JobURI}
	if chain.JobState(st.State) == chain.StateNone {
		r.Offered, r.Book, r.Deadline = true, job.Book, job.Request.LockBy
	} else {
		r.Deadline = st.Deadline.Uint64()
		if st.SeedBlock != nil && st.SeedBlock.Sign() > 0 {
			r.SeedBlock = st.SeedBlock.Uint64()
		}
		if p, stake, ok := chain.JobHolder(st); ok {
			r.Provider, r.Stake = &p, formatAmount(stake)
		}
		evs, err := c.Events(ctx, j.id)
		if err != nil {
			return fromChain(err)
		}
		for _, ev := range evs {
			switch e := ev.(type) {
			case sdk.Locked:
				if r.Provider == nil {
					r.Provider, r.Stake = &e.Provider, formatAmount(e.Stake)
				}
			case sdk.Committed:
				// Once committed the job holds the commitment's hash, not the provider: the
				// event names both.
				r.TraceRoot = fmt.Sprintf("0x%064x", e.Commitment.TraceRoot)
				r.Provider, r.Stake = &e.Commitment.Provider, formatAmount(e.Commitment.Stake)
			case sdk.SeedFixed:
				r.Seed, r.Revealed = e.Seed.String(), &e.Revealed
			case sdk.Proved:
				r.Tokens, r.ReceiptDigest, r.PayableAt = e.Tokens, common.Hash(e.ReceiptDigest).Hex(), e.PayableAt
				if r.Seed == "" {
					r.Seed = e.Seed.String()
				}
			case sdk.Slashed:
				r.Slashed = &slashed{Stake: formatAmount(e.Stake), Bounty: formatAmount(e.Bounty), Caller: e.Caller}
			}
		}
	}
	if *j.json {
		return writeJSON(stdout, r)
	}
	row := func(k, v string) { fmt.Fprintf(stdout, "%-14s %s\n", k, v) }
	row("job", r.ID)
	if r.Offered {
		row("state", "offered (signed, not locked yet)")
		row("book", r.Book)
	} else {
		row("state", r.State)
	}
	row("buyer", r.Buyer.Hex())
	if r.Provider != nil {
		row("provider", r.Provider.Hex())
		row("stake", r.Stake)
	}
	row("price", r.Price)
	row("tokens asked", fmt.Sprint(job.Request.NewTokens))
	row("deadline", unixTime(r.Deadline))
	if r.SeedBlock != 0 {
		row("seed block", fmt.Sprint(r.SeedBlock))
	}
	if r.TraceRoot != "" {
		row("trace root", r.TraceRoot)
	}
	if r.Seed != "" {
		how := "fixed"
		if r.Revealed != nil && *r.Revealed {
			how = "revealed by the buyer"
		} else if r.Revealed != nil {
			how = "fixed without the buyer's secret"
		}
		row("seed", r.Seed+" ("+how+")")
	}
	if r.JobURI != "" {
		row("job uri", r.JobURI)
	}
	if r.ReceiptDigest != "" {
		row("proved", fmt.Sprintf("%d tokens (`probity job result %s`), receipt %s, payable at %s", len(r.Tokens), r.ID, r.ReceiptDigest, unixTime(r.PayableAt)))
	}
	if s := r.Slashed; s != nil {
		row("slashed", fmt.Sprintf("stake %s to the buyer, bounty %s to %s", s.Stake, s.Bounty, s.Caller.Hex()))
	}
	return nil
}

// resultReport is `job result --json` and `job wait --json`.
type resultReport struct {
	ID       string         `json:"id"`
	Provider common.Address `json:"provider"`
	Tokens   []uint32       `json:"tokens"`
	Text     *string        `json:"text,omitempty"` // when every token is a byte
	Seed     string         `json:"seed"`
	Receipt  string         `json:"receiptDigest"`
	Block    uint64         `json:"block"`
}

func printResult(w io.Writer, asJSON bool, id string, p sdk.Proved) error {
	r := resultReport{ID: id, Provider: p.Provider, Tokens: p.Tokens, Seed: p.Seed.String(), Receipt: common.Hash(p.ReceiptDigest).Hex(), Block: p.BlockNumber}
	text, ok := textOf(p.Tokens)
	if ok {
		r.Text = &text
	}
	if asJSON {
		return writeJSON(w, r)
	}
	if ok {
		fmt.Fprintln(w, text)
		return nil
	}
	ids := make([]string, len(p.Tokens))
	for i, t := range p.Tokens {
		ids[i] = fmt.Sprint(t)
	}
	fmt.Fprintln(w, strings.Join(ids, ","))
	return nil
}

func runJobResult(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	j, err := parseJobCommand("job result", "job result ID [--json]"+jobSynopsisTail+"\n\n"+
		"Prints the generated text (token ids, comma-separated, for a model that is not\n"+
		"byte-level) read from the job's JobProved event: the manager emits it only with a valid\n"+
		"proof of exactly these tokens, so no document from the provider is needed to trust it.\n"+
		"Exit 1 when the job is not proved (yet, or ever: slashed, cancelled).", args, stderr,
		nil)
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, false)
	if err != nil {
		return err
	}
	evs, err := c.Events(ctx, j.id)
	if err != nil {
		return fromChain(err)
	}
	for _, ev := range evs {
		switch e := ev.(type) {
		case sdk.Proved:
			return printResult(stdout, *j.json, j.id.String(), e)
		case sdk.Slashed:
			return failedError{fmt.Errorf("job %s was slashed without a result", j.id)}
		case sdk.Cancelled:
			return failedError{fmt.Errorf("job %s was cancelled", j.id)}
		}
	}
	st, err := c.Market().JobState(ctx, j.id)
	if err != nil {
		return fromChain(err)
	}
	return failedError{withHint(fmt.Errorf("job %s has no result yet (state %s)", j.id, st), "`probity job wait "+j.id.String()+"` waits for it (and reveals the seed)")}
}

func runJobWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var timeout *time.Duration
	j, err := parseJobCommand("job wait", "job wait ID [--timeout D] [--json] --key FILE"+jobSynopsisTail+"\n\n"+
		"Follows the job's events (printed to stderr) until its proof is on chain, revealing the\n"+
		"buyer's seed secret from the buyer directory as soon as the job is committed and its seed\n"+
		"block mined, then prints the text as `job result` does. Exit 1 when the job ends slashed\n"+
		"or cancelled (the buyer is credited: `probity withdraw`).", args, stderr,
		func(j *jobCmd) {
			timeout = j.fs.Duration("timeout", 0, "give up after this long (0: wait until interrupted)")
		})
	if j == nil || err != nil {
		return err
	}
	if *timeout < 0 {
		return usageError{"--timeout must not be negative"}
	}
	c, err := j.client(ctx, true)
	if err != nil {
		return err
	}
	job, err := loadJob(ctx, c, *j.f.buyerDir, j.id)
	if err != nil {
		return err
	}
	if err := requireSecret(job, *j.f.buyerDir); err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ev, err := range c.Watch(ctx, j.id) {
			if err != nil {
				if ctx.Err() == nil { // not the end of the wait itself
					fmt.Fprintf(stderr, "probity: job %s: cannot follow its events: %v\n", j.id, err)
				}
				return
			}
			fmt.Fprintf(stderr, "probity: job %s: %s\n", j.id, describe(ev))
		}
	}()
	res, err := c.Result(ctx, job)
	cancel()
	<-watched
	if err != nil {
		return jobEnd(j.id, err)
	}
	return printResult(stdout, *j.json, j.id.String(), res.Proved)
}

// describe is one line about an event.
func describe(ev sdk.Event) string {
	b := ev.Info().BlockNumber
	switch e := ev.(type) {
	case sdk.Posted:
		if e.JobURI == "" {
			return fmt.Sprintf("created from the signed offer (block %d)", b)
		}
		return fmt.Sprintf("posted (block %d)", b)
	case sdk.Locked:
		return fmt.Sprintf("locked by %s with stake %s, commit by %s (block %d)", e.Provider.Hex(), formatAmount(e.Stake), unixTime(e.CommitBy), b)
	case sdk.Committed:
		return fmt.Sprintf("committed trace root 0x%x, seed from block %d (block %d)", e.Commitment.TraceRoot, e.SeedBlock, b)
	case sdk.SeedFixed:
		how := "fixed without the buyer's secret"
		if e.Revealed {
			how = "revealed"
		}
		return fmt.Sprintf("seed %s, prove by %s (block %d)", how, unixTime(e.ProveBy), b)
	case sdk.Proved:
		return fmt.Sprintf("proved: %d tokens, payable at %s (block %d)", len(e.Tokens), unixTime(e.PayableAt), b)
	case sdk.Settled:
		return fmt.Sprintf("settled: %s paid %s (block %d)", e.Provider.Hex(), formatAmount(e.Price), b)
	case sdk.Slashed:
		return fmt.Sprintf("slashed: stake %s to the buyer, bounty %s to %s (block %d)", formatAmount(e.Stake), formatAmount(e.Bounty), e.Caller.Hex(), b)
	case sdk.Rejected:
		return fmt.Sprintf("proof rejected (block %d)", b)
	case sdk.Abandoned:
		return fmt.Sprintf("abandoned by %s (fee %s; reopened %v) (block %d)", e.Provider.Hex(), formatAmount(e.Fee), e.Reopened, b)
	case sdk.Cancelled:
		return fmt.Sprintf("cancelled (block %d)", b)
	}
	return fmt.Sprintf("%T (block %d)", ev, b)
}

func runJobReveal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var timeout *time.Duration
	j, err := parseJobCommand("job reveal", "job reveal ID [--timeout D] --key FILE"+jobSynopsisTail+"\n\n"+
		"Reveals the job's seed secret from the buyer directory (anyone holding it may): waits\n"+
		"until the job is committed and its seed block mined, then fixes the seed with it. Until\n"+
		fmt.Sprint(sdk.RevealBlocks)+" blocks after the seed block only the secret can fix the seed. Exit 1 when the window\n"+
		"closed first or the job ended.", args, stderr,
		func(j *jobCmd) {
			timeout = j.fs.Duration("timeout", 0, "give up after this long (0: wait until interrupted)")
		})
	if j == nil || err != nil {
		return err
	}
	if *timeout < 0 {
		return usageError{"--timeout must not be negative"}
	}
	c, err := j.client(ctx, true)
	if err != nil {
		return err
	}
	job, err := loadJob(ctx, c, *j.f.buyerDir, j.id)
	if err != nil {
		return err
	}
	if job.Request.SeedCommitment == ([32]byte{}) {
		return failedError{fmt.Errorf("job %s has no seed commitment: there is nothing to reveal", j.id)}
	}
	if err := requireSecret(job, *j.f.buyerDir); err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx, *timeout)
	defer cancel()
	ev, err := c.RevealWhenReady(ctx, job)
	if err != nil {
		return jobEnd(j.id, err)
	}
	if !ev.Revealed {
		return failedError{fmt.Errorf("the seed of job %s was fixed without the secret at block %d", j.id, ev.BlockNumber)}
	}
	r := struct {
		JobID   string `json:"jobId"`
		Block   uint64 `json:"block"`
		Seed    string `json:"seed"`
		ProveBy uint64 `json:"proveBy"`
	}{j.id.String(), ev.BlockNumber, ev.Seed.String(), ev.ProveBy}
	return emit(stdout, *j.json, r, "seed of job %s revealed at block %d: %s; proof due by %s", r.JobID, r.Block, r.Seed, unixTime(r.ProveBy))
}

func runJobCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	j, err := parseJobCommand("job cancel", "job cancel ID --key FILE"+jobSynopsisTail+"\n\n"+
		"Cancels the buyer's job while nobody has locked it: a posted job's escrow is credited back\n"+
		"(`probity withdraw`); a signed offer is revoked on chain, so no provider can lock it any\n"+
		"more, and removed from its book. Exit 1 once it is locked (WrongState).", args, stderr, nil)
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, true)
	if err != nil {
		return err
	}
	job, err := loadJob(ctx, c, *j.f.buyerDir, j.id)
	if err != nil {
		return err
	}
	ev, err := c.Cancel(ctx, job)
	if err != nil {
		return fromChain(err)
	}
	r := struct {
		JobID string `json:"jobId"`
		Block uint64 `json:"block"`
	}{j.id.String(), ev.BlockNumber}
	return emit(stdout, *j.json, r, "cancelled job %s at block %d", r.JobID, r.Block)
}

func runJobReceipt(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out *string
	var wait *time.Duration
	j, err := parseJobCommand("job receipt", "job receipt ID [--out FILE] [--wait D]"+jobSynopsisTail+"\n\n"+
		"Fetches the provider's receipt (receipts/<jobId>.json next to the job file) and accepts\n"+
		"it only when its EIP-712 digest is the one JobProved emitted and it names this job's\n"+
		"request and tokens; writes it to --out (default stdout). Audit it further with\n"+
		"`probity verify`. Exit 1 when the receipt does not match.", args, stderr,
		func(j *jobCmd) {
			out = j.fs.String("out", "", "`file` to write the receipt to (refuses to replace one)")
			wait = j.fs.Duration("wait", 0, "wait up to this long for the provider to publish it")
		})
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, false)
	if err != nil {
		return err
	}
	job, err := loadJob(ctx, c, *j.f.buyerDir, j.id)
	if err != nil {
		return err
	}
	if job.JobURI == "" {
		return usageError{fmt.Sprintf("job %s was created from a signed offer that is not in %s: its job URI is unknown (pass the buyer's --buyer-dir)", j.id, *j.f.buyerDir)}
	}
	if *wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, *wait)
		defer cancel()
		_, err = c.WaitReceipt(wctx, job)
	} else {
		_, err = c.Receipt(ctx, job)
	}
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrNoReceipt), errors.Is(err, context.DeadlineExceeded):
		return failedError{withHint(fmt.Errorf("job %s: the provider has not published its receipt", j.id), "it is published after the proof; --wait D waits for it")}
	case errors.Is(err, sdk.ErrReceiptDigest):
		return failedError{err}
	default:
		return fromChain(err)
	}
	b, err := c.FetchReceipt(ctx, job.JobURI, j.id)
	if err != nil {
		return err
	}
	if *out == "" { // the receipt itself, a JSON document, with or without --json
		_, err = stdout.Write(b)
		return err
	}
	if _, err := writeNew(*out, true, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	r := struct {
		JobID string `json:"jobId"`
		File  string `json:"file"`
	}{j.id.String(), *out}
	return emit(stdout, *j.json, r, "wrote the receipt of job %s to %s (authenticated against JobProved)", r.JobID, r.File)
}

func runJobFinalize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	j, err := parseJobCommand("job finalize", "job finalize ID --key FILE"+jobSynopsisTail+"\n\n"+
		"Settles a proved job whose challenge window ended (anyone may): the provider is credited\n"+
		"the price (`probity withdraw`). A job with no challenge window is paid with its proof.", args, stderr, nil)
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, true)
	if err != nil {
		return err
	}
	evs, err := c.Finalize(ctx, j.id)
	if err != nil {
		return fromChain(err)
	}
	if len(evs) == 0 {
		st, err := c.Market().JobState(ctx, j.id)
		if err != nil {
			return fromChain(err)
		}
		return failedError{fmt.Errorf("job %s is not payable now (state %s)", j.id, st)}
	}
	r := struct {
		JobID    string         `json:"jobId"`
		Provider common.Address `json:"provider"`
		Price    string         `json:"price"`
	}{j.id.String(), evs[0].Provider, formatAmount(evs[0].Price)}
	return emit(stdout, *j.json, r, "settled job %s: %s credited %s", r.JobID, r.Provider.Hex(), r.Price)
}

func runSlash(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	j, err := parseJobCommand("slash", "slash ID --key FILE"+jobSynopsisTail+"\n\n"+
		"Slashes a job whose provider missed its deadline (anyone may): locked and not committed\n"+
		"by the commit deadline, or committed and not proved by the proof deadline. The buyer is\n"+
		"credited the price and the stake less the bounty, which goes to the --key account.\n"+
		"Exit 1 while the deadline holds (DeadlineNotPassed) or the job is not slashable.", args, stderr, nil)
	if j == nil || err != nil {
		return err
	}
	c, err := j.client(ctx, true)
	if err != nil {
		return err
	}
	ev, err := c.Slash(ctx, j.id)
	if err != nil {
		return fromChain(err)
	}
	r := struct {
		JobID    string         `json:"jobId"`
		Provider common.Address `json:"provider"`
		Stake    string         `json:"stake"`
		Bounty   string         `json:"bounty"`
		Caller   common.Address `json:"caller"`
	}{j.id.String(), ev.Provider, formatAmount(ev.Stake), formatAmount(ev.Bounty), ev.Caller}
	return emit(stdout, *j.json, r, "slashed job %s (provider %s): stake %s to the buyer, bounty %s to %s", r.JobID,
		r.Provider.Hex(), r.Stake, r.Bounty, r.Caller.Hex())
}
