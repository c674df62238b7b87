package watcher

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/internal/fetch"
	"github.com/probitylabs/probity/internal/serve"
	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
)

// Options assemble a Watcher. Only Config is required when it names an endpoint, a key file
// and model files; the rest override what the config would build.
type Options struct {
	Config  Config
	Backend chain.Backend     // nil: dial Config.RPCURL
	Key     *ecdsa.PrivateKey // nil: Config.KeyFile
	// Models are held beside Config.Models.
	Models []*model.Model
	Logger *slog.Logger
	// HTTPClient fetches job files and traces (nil: fetch.SafeClient).
	HTTPClient *http.Client
}

// Watcher follows proved jobs and challenges the first wrong element of each.
type Watcher struct {
	cfg     Config
	market  *chain.Market
	backend chain.Backend
	check   *checker
	journal *Journal
	metrics *Metrics
	log     *slog.Logger
	maxBond *big.Int
	// offers are the job URIs of offers read from the order books, by job id.
	offers map[string]string
	// tried is when each pending job was last decided.
	tried map[string]time.Time
	// searches are the searches of withheld traces in progress, by job id (rebuilt by
	// deciding the job again after a restart).
	searches map[string]*searchJob
}

// New builds a watcher: it dials the endpoint (unless given a backend), loads its key and
// models and opens its journal.
func New(ctx context.Context, o Options) (*Watcher, error) {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg, log: o.Logger, metrics: NewMetrics(), offers: map[string]string{}, tried: map[string]time.Time{}, searches: map[string]*searchJob{}}
	if w.log == nil {
		w.log = settings.NewLogger(cfg.Log, os.Stderr)
	}
	w.maxBond, _ = cfg.maxBond()
	key := o.Key
	if key == nil {
		k, err := settings.ReadKeyFile(cfg.KeyFile)
		if err != nil {
			return nil, &settings.Error{Field: "keyFile", Err: err, Base: ErrConfig}
		}
		key = k
	}
	backend := o.Backend
	if backend == nil {
		c, err := ethclient.DialContext(ctx, cfg.RPCURL)
		if err != nil {
			return nil, fmt.Errorf("watcher: dialing %s: %w", cfg.RPCURL, err)
		}
		backend = c
	}
	w.backend = backend
	m, err := chain.NewMarket(ctx, backend, cfg.Deployment, key)
	if err != nil {
		return nil, err
	}
	w.market = m
	models := map[string]*model.Model{}
	add := func(md *model.Model, from string) error {
		root, err := md.Root()
		if err != nil {
			return &settings.Error{Field: "models", Err: fmt.Errorf("%s: %w", from, err), Base: ErrConfig}
		}
		models[commit.ToBig(root).String()] = md
		return nil
	}
	for _, p := range cfg.Models {
		md, err := model.ReadFile(p)
		if err != nil {
			return nil, &settings.Error{Field: "models", Err: err, Base: ErrConfig}
		}
		if err := add(md, p); err != nil {
			return nil, err
		}
	}
	for _, md := range o.Models {
		if err := add(md, "a given model"); err != nil {
			return nil, err
		}
	}
	if len(models) == 0 {
		return nil, &settings.Error{Field: "models", Err: errors.New("at least one model: the watcher recomputes jobs of the models it holds"), Base: ErrConfig}
	}
	w.check = &checker{models: models, maxTraceBytes: cfg.MaxTraceBytes, search: cfg.MaxDataChallenges > 0, fetch: &fetch.Fetcher{
		MaxBytes: cfg.MaxTraceBytes, Timeout: cfg.FetchTimeout.D(), AllowFile: cfg.AllowFile,
		Client: o.HTTPClient}}
	if w.check.fetch.Client == nil {
		w.check.fetch.Client = fetch.SafeClient(cfg.AllowPrivateAddresses)
	}
	if w.journal, err = OpenJournal(cfg.DataDir); err != nil {
		return nil, err
	}
	return w, nil
}

// Address is the watcher's account (bonds from it, bounties to it).
func (w *Watcher) Address() common.Address { return w.market.Address() }

// Metrics returns the watcher's metrics.
func (w *Watcher) Metrics() *Metrics { return w.metrics }

// DataDir is the watcher's data directory (journal and cursor).
func (w *Watcher) DataDir() string { return w.cfg.DataDir }

// Journal returns the watcher's journal.
func (w *Watcher) Journal() *Journal { return w.journal }

// Run follows the chain until ctx ends: every poll it scans the blocks since the cursor for
// JobProved, checks each new job, challenges the first wrong element it finds, and follows
// its open challenges (enforcing the unanswered ones after their deadline). A failed read or
// transaction is logged and retried at the next poll; the journal makes every step safe to
// repeat after a crash.
func (w *Watcher) Run(ctx context.Context) error {
	if w.cfg.MetricsAddr != "" {
		addr, err := serve.Metrics(ctx, w.cfg.MetricsAddr, w.metrics.Registry)
		if err != nil {
			return fmt.Errorf("watcher: metrics: %w", err)
		}
		w.log.Info("serving metrics", "addr", addr)
	}
	next := w.cfg.StartBlock
	if b, err := os.ReadFile(w.cursorPath()); err == nil {
		var c struct{ Block uint64 }
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("watcher: %s: %w", w.cursorPath(), err)
		}
		next = c.Block + 1
	}
	w.log.Info("watching", "account", w.Address(), "manager", w.market.Addresses().Manager, "from", next)
	t := time.NewTicker(w.cfg.PollInterval.D())
	defer t.Stop()
	// A step in progress (a transaction being mined) is journaled first, so stopping between
	// polls or inside one loses nothing: the next start asks the chain.
	defer w.log.Info("watch stopped")
	for {
		var err error
		if next, err = w.Poll(ctx, next); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.log.Warn("poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll scans blocks [next, head] for JobProved and decides each new job, then follows the
// open challenges; it returns the next block to scan. Tests drive the watcher with it.
func (w *Watcher) Poll(ctx context.Context, next uint64) (uint64, error) {
	head, err := w.backend.BlockNumber(ctx)
	if err != nil {
		return next, err
	}
	w.metrics.Head.Set(float64(head))
	for next <= head {
		end := min(head, next+chain.MaxLogRange-1)
		evs, err := w.market.FilterJobProved(ctx, chain.EventRange{Start: next, End: &end})
		if err != nil {
			return next, err
		}
		for _, ev := range evs {
			// Only the journal's own failures (or shutdown) stop the scan; the range is then
			// scanned again.
			if err := w.consider(ctx, ev); err != nil {
				return next, fmt.Errorf("job %s: %w", ev.JobId, err)
			}
		}
		if err := atomicfile.Write(w.cursorPath(), fmt.Appendf(nil, `{"block":%d}`+"\n", end)); err != nil {
			return next, err
		}
		w.metrics.Cursor.Set(float64(end))
		next = end + 1
	}
	open, err := w.journal.Open()
	if err != nil {
		return next, err
	}
	for _, r := range open {
		if err := w.follow(ctx, r); err != nil {
			if ctx.Err() != nil {
				return next, ctx.Err()
			}
			w.metrics.Errors.WithLabelValues("follow").Inc()
			w.log.Warn("following a challenge", "job", r.JobID, "err", err)
		}
	}
	return next, nil
}

func (w *Watcher) cursorPath() string { return filepath.Join(w.cfg.DataDir, "cursor.json") }

// consider journals a job the first time its JobProved is seen and decides it; a job already
// journaled is left to follow. Nothing about one job stops the scan: what cannot be decided
// now (the chain could not be read, a download failed) is journaled pending and decided again
// at a later poll.
func (w *Watcher) consider(ctx context.Context, ev *chain.JobProved) error {
	if _, ok, err := w.journal.Get(ev.JobId); err != nil || ok {
		return err
	}
	r := &Record{JobID: ev.JobId.String(), ProvedBlock: ev.Raw.BlockNumber, PayableAt: ev.PayableAt, Status: StatusPending}
	return w.decide(ctx, r, w.log.With("job", ev.JobId))
}

// closing reports whether the job's challenge window ends within ChallengeMargin: a challenge
// sent now may not be mined before it does.
func (w *Watcher) closing(ctx context.Context, r *Record) (bool, error) {
	now, err := w.chainTime(ctx)
	if err != nil {
		return false, err
	}
	return now+uint64(w.cfg.ChallengeMargin.D()/time.Second) > r.PayableAt, nil
}

// recheckEvery paces the decisions of pending jobs.
func (w *Watcher) recheckEvery() time.Duration { return max(w.cfg.PollInterval.D(), 5*time.Second) }

// decide reads the job's events, checks its published trace and challenges the first wrong
// element; a job it cannot decide yet stays pending (journaled with the reason) until its
// window's last moment.
func (w *Watcher) decide(ctx context.Context, r *Record, log *slog.Logger) error {
	w.tried[r.JobID] = time.Now()
	// retry journals the job pending for err, or concludes it as final once its window is
	// closing (nothing the watcher sends then is mined in time).
	retry := func(final Status, finalReason string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if closing, cerr := w.closing(ctx, r); cerr == nil && closing {
			return w.conclude(r, final, finalReason, log)
		}
		w.metrics.Errors.WithLabelValues("check").Inc()
		log.Warn("job not decided yet; trying again", "err", err)
		r.Status, r.Reason = StatusPending, err.Error()
		return w.journal.Put(r)
	}
	pending := func(err error) error {
		return retry(StatusSkipped, fmt.Sprintf("undecided when the window closed: %v", err), err)
	}
	evs, err := w.jobEvents(ctx, r.ID(), r.ProvedBlock)
	if err != nil {
		return pending(err)
	}
	if len(evs.Posted) == 0 || len(evs.Committed) == 0 || len(evs.Proved) == 0 {
		return pending(fmt.Errorf("no JobPosted, JobCommitted or JobProved event for a proved job (a reorganisation?)"))
	}
	posted, committed := evs.Posted[0], evs.Committed[len(evs.Committed)-1]
	req := posted.Request
	if req.ChallengeWindow == 0 {
		return w.conclude(r, StatusSkipped, "no challenge window: the job was paid with its proof", log)
	}
	p, err := proved(evs.Proved[len(evs.Proved)-1], posted, committed)
	if err != nil {
		return w.conclude(r, StatusSkipped, err.Error(), log)
	}
	if p.JobURI == "" {
		if p.JobURI, err = w.offerURI(ctx, r.ID()); err != nil {
			return pending(err)
		}
		if p.JobURI == "" {
			return pending(errors.New("a job from a signed offer in no order book the watcher reads: its job URI is unknown"))
		}
	}
	t0 := time.Now()
	v, err := w.check.check(ctx, p)
	if err != nil {
		return pending(err)
	}
	w.metrics.CheckSeconds.Observe(time.Since(t0).Seconds())
	w.metrics.Elements.Add(float64(v.Elements))
	r.Elements = v.Elements
	switch {
	case v.Retry:
		// A download failed or the trace does not open the commitment yet: the provider may
		// still publish it. Withheld only when the window closes without it.
		return retry(v.Status, v.Reason, errors.New(v.Reason))
	case v.Status == StatusSearching:
		sj := &searchJob{s: v.Search, req: req, p: p, next: r.ProvedBlock, seen: map[string]bool{}}
		w.searches[r.JobID] = sj
		if r.Status != StatusSearching {
			log.Warn("trace withheld and its root is not the job's: searching it with data challenges", "reason", v.Reason)
			r.Status, r.Reason = StatusSearching, v.Reason
			if err := w.journal.Put(r); err != nil {
				return err
			}
		}
		return w.searchStep(ctx, r, sj, log)
	case v.Status != StatusChallenging:
		return w.conclude(r, v.Status, v.Reason, log)
	}
	r.Element, r.Reason = v.Fault.Element.Word().String(), v.Reason
	log.Warn("fault found", "element", v.Fault.Element.String(), "reason", v.Reason)
	if err := w.challenge(ctx, r, req, p, log); err != nil {
		// Out of bond tokens, a transaction that failed: decided (and challenged) again at a
		// later poll, without stalling the scan.
		return pending(fmt.Errorf("challenging %s: %w", v.Fault.Element, err))
	}
	return nil
}

// proved assembles what the chain says about a proved job from its three events.
func proved(ev *chain.JobProved, posted *chain.JobPosted, committed *chain.JobCommitted) (*Proved, error) {
	req := posted.Request
	words, err := chain.ResultTokens(ev.Result, req.NewTokens)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	tokens := make([]int32, len(words))
	for i, t := range words {
		tokens[i] = int32(t) // token ids are below 2^24 (trace.md §4)
	}
	return &Proved{JobID: ev.JobId, ModelRoot: req.ModelRoot, JobDigest: req.JobDigest, NewTokens: req.NewTokens,
		JobURI: posted.InputURI, TraceRoot: committed.TraceRoot, ResultDigest: ev.ResultDigest, Tokens: tokens}, nil
}

func (r *Record) gas(kind string, used uint64) {
	if r.Gas == nil {
		r.Gas = map[string]uint64{}
	}
	r.Gas[kind] += used
}

// conclude journals a terminal verdict.
func (w *Watcher) conclude(r *Record, s Status, reason string, log *slog.Logger) error {
	r.Status, r.Reason = s, reason
	w.metrics.Jobs.WithLabelValues(string(s)).Inc()
	switch s {
	case StatusHonest:
		log.Info("every element holds")
	case StatusWithheld:
		log.Warn("trace withheld", "reason", reason)
	default:
		log.Info(string(s), "reason", reason)
	}
	return w.journal.Put(r)
}

// challenge posts the bond and challenges the record's element, if the window still allows.
func (w *Watcher) challenge(ctx context.Context, r *Record, req chain.Request, p *Proved, log *slog.Logger) error {
	if closing, err := w.closing(ctx, r); err != nil {
		return err
	} else if closing {
		return w.conclude(r, StatusLate, fmt.Sprintf("fault %s found within challengeMargin of the window's end (%d)", r.Element, r.PayableAt), log)
	}
	bond, err := w.market.Bond(ctx)
	if err != nil {
		return err
	}
	if bond.Cmp(w.maxBond) > 0 {
		return w.conclude(r, StatusSkipped, fmt.Sprintf("the bond %s exceeds maxBond %s", bond, w.maxBond), log)
	}
	element, _ := new(big.Int).SetString(r.Element, 10)
	if c, err := w.market.ChallengeOf(ctx, p.JobID, element); err != nil {
		return err
	} else if c.State != uint8(chain.ChallengeStateNone) {
		// Followed, not concluded: the watcher enforces it when it is due. Its own (a
		// transaction mined while its receipt was lost) is adopted.
		r.Status, r.Reason = StatusOthers, fmt.Sprintf("element already challenged by %s", c.Challenger)
		if c.Challenger == w.Address() {
			r.Status, r.RespondBy, r.Bond = StatusChallenged, c.RespondBy, c.Bond.String()
		}
		return w.journal.Put(r)
	}
	if err := w.fundBond(ctx, bond); err != nil {
		return err
	}
	// Journaled before the transaction: a restart asks the chain whether it was mined.
	r.Status, r.Bond = StatusChallenging, bond.String()
	if err := w.journal.Put(r); err != nil {
		return err
	}
	res, err := w.market.Challenge(ctx, req, p.TraceRoot, p.ResultDigest, element)
	if err != nil {
		return err
	}
	r.Status, r.RespondBy = StatusChallenged, res.Opened.RespondBy
	r.gas("challenge", res.GasUsed)
	w.metrics.Challenges.WithLabelValues("opened").Inc()
	log.Warn("challenged", "element", r.Element, "bond", bond, "respondBy", r.RespondBy, "tx", res.Receipt.TxHash)
	return w.journal.Put(r)
}

// fundBond makes the bond payable: from the watcher's balance at the ChallengeManager, else
// by an allowance the ChallengeManager pulls.
func (w *Watcher) fundBond(ctx context.Context, bond *big.Int) error {
	have, err := w.market.BondBalanceOf(ctx, w.Address())
	if err != nil || have.Cmp(bond) >= 0 {
		return err
	}
	spender := w.market.Addresses().Challenges
	allowed, err := w.market.Allowance(ctx, w.Address(), spender)
	if err != nil || allowed.Cmp(bond) >= 0 {
		return err
	}
	_, err = w.market.Approve(ctx, spender, bond)
	return err
}

// follow moves an open record on: a pending job is decided again (paced); a challenge being
// sent, or one a reorganisation dropped, is found on chain or sent again; an open one is
// enforced after its deadline, the watcher's or another's (anyone may, and the job's buyer
// and provider wait for it); a closed one is concluded.
func (w *Watcher) follow(ctx context.Context, r *Record) error {
	log := w.log.With("job", r.JobID, "element", r.Element)
	if r.Status == StatusPending {
		if time.Since(w.tried[r.JobID]) < w.recheckEvery() {
			return nil
		}
		return w.decide(ctx, r, w.log.With("job", r.JobID))
	}
	if r.Status == StatusSearching {
		sj := w.searches[r.JobID]
		if sj == nil { // a restart: the search is rebuilt from the job and the chain's logs
			return w.decide(ctx, r, w.log.With("job", r.JobID))
		}
		return w.searchStep(ctx, r, sj, w.log.With("job", r.JobID))
	}
	element, _ := new(big.Int).SetString(r.Element, 10)
	c, err := w.market.ChallengeOf(ctx, r.ID(), element)
	if err != nil {
		return err
	}
	mine := c.Challenger == w.Address()
	switch chain.ChallengeState(c.State) {
	case chain.ChallengeStateNone:
		// Never mined, or dropped by a reorganisation: decide again (the window may have
		// closed since, which decide concludes as late).
		log.Warn("the challenge is not on chain; deciding again", "status", r.Status)
		r.Status = StatusPending
		return w.decide(ctx, r, log)
	case chain.ChallengeStateOpen:
		switch {
		case !mine && r.Status != StatusOthers:
			r.Status, r.Reason = StatusOthers, fmt.Sprintf("element challenged by %s", c.Challenger)
			if err := w.journal.Put(r); err != nil {
				return err
			}
		case mine && r.Status == StatusChallenging:
			r.Status, r.RespondBy = StatusChallenged, c.RespondBy
			w.metrics.Challenges.WithLabelValues("opened").Inc()
			if err := w.journal.Put(r); err != nil {
				return err
			}
		}
		now, err := w.chainTime(ctx)
		if err != nil || now <= c.RespondBy {
			return err
		}
		req, err := w.request(ctx, r)
		if err != nil {
			return err
		}
		state, err := w.market.JobState(ctx, r.ID())
		if err != nil {
			return err
		}
		if state != chain.StateProved {
			res, err := w.market.Reclaim(ctx, req, element)
			if err != nil {
				return err
			}
			r.gas("reclaim", res.GasUsed)
			log.Info("job ended another way; bond reclaimed", "state", state, "tx", res.Receipt.TxHash)
			if !mine {
				return w.conclude(r, StatusClosed, "another's challenge, voided", log)
			}
			w.metrics.Challenges.WithLabelValues("voided").Inc()
			return w.withdrawAnd(ctx, r, StatusVoided, "the job ended before the challenge was enforced", log)
		}
		res, err := w.market.Enforce(ctx, req, element)
		if err != nil {
			return err
		}
		r.gas("enforce", res.GasUsed)
		if !mine {
			log.Warn("enforced another's unanswered challenge: the provider was slashed", "challenger", c.Challenger, "tx", res.Receipt.TxHash)
			return w.conclude(r, StatusClosed, fmt.Sprintf("%s's challenge, enforced", c.Challenger), log)
		}
		if res.Slashed != nil && res.Slashed.Bounty != nil {
			w.metrics.Bounties.Add(float64FromBig(res.Slashed.Bounty))
		}
		w.metrics.Challenges.WithLabelValues("upheld").Inc()
		log.Warn("challenge upheld: the provider did not answer and was slashed", "tx", res.Receipt.TxHash)
		return w.withdrawAnd(ctx, r, StatusUpheld, "unanswered by the deadline", log)
	case chain.ChallengeStateAnswered:
		if !mine {
			return w.conclude(r, StatusClosed, "another's challenge, answered", log)
		}
		w.metrics.Challenges.WithLabelValues("answered").Inc()
		log.Error("challenge answered: the provider proved the element the recomputation refused (report this)", "challenger", c.Challenger)
		return w.conclude(r, StatusAnswered, "the provider proved the element", log)
	case chain.ChallengeStateUpheld:
		if !mine {
			return w.conclude(r, StatusClosed, "another's challenge, upheld", log)
		}
		w.metrics.Challenges.WithLabelValues("upheld").Inc()
		return w.withdrawAnd(ctx, r, StatusUpheld, "upheld", log)
	case chain.ChallengeStateVoided:
		if !mine {
			return w.conclude(r, StatusClosed, "another's challenge, voided", log)
		}
		w.metrics.Challenges.WithLabelValues("voided").Inc()
		return w.withdrawAnd(ctx, r, StatusVoided, "voided", log)
	}
	return fmt.Errorf("challenge state %d", c.State)
}

// withdrawAnd pays out what the watcher was credited (bond, bounty) when configured, then
// concludes the record.
func (w *Watcher) withdrawAnd(ctx context.Context, r *Record, s Status, reason string, log *slog.Logger) error {
	if err := w.releaseData(ctx, r, log); err != nil {
		return err
	}
	if w.cfg.Withdraw {
		if bal, err := w.market.BondBalanceOf(ctx, w.Address()); err != nil {
			return err
		} else if bal.Sign() > 0 {
			if _, err := w.market.WithdrawBonds(ctx); err != nil {
				return err
			}
		}
		if _, err := w.market.Withdraw(ctx); err != nil && !chain.IsRevert(err, "NothingToWithdraw") {
			return err
		}
	}
	return w.conclude(r, s, reason, log)
}

// offerURI returns the job URI of a job created from a signed offer, reading the order books
// again when it is not known yet ("" when no book has the offer).
func (w *Watcher) offerURI(ctx context.Context, id *big.Int) (string, error) {
	if u, ok := w.offers[id.String()]; ok {
		return u, nil
	}
	br := &jobs.BookReader{Client: w.check.fetch.Client}
	for _, book := range w.cfg.OrderBooks {
		if strings.HasPrefix(book, "file:") && !w.cfg.AllowFile {
			continue
		}
		bctx, cancel := fetch.WithTimeout(ctx, w.check.fetch.Timeout)
		entries, err := br.ReadAll(bctx, book)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			w.log.Warn("reading order book", "book", book, "err", err)
			continue
		}
		for _, e := range entries {
			if e.Err != nil {
				continue
			}
			// The signature binds the request, not the URI; the job file the URI serves is
			// checked against the request's digest before it is used.
			if oid, err := e.Offer.JobID(); err == nil {
				w.offers[oid.String()] = e.Offer.JobURI
			}
		}
	}
	return w.offers[id.String()], nil
}

// jobEvents reads a proved job's events in ranges an RPC accepts: back from the proof's
// block until its JobPosted (its first event) is found, then the proof's block itself.
func (w *Watcher) jobEvents(ctx context.Context, id *big.Int, provedBlock uint64) (chain.Events, error) {
	var all chain.Events
	end := provedBlock
	for {
		start := end - min(end, chain.MaxLogRange-1)
		evs, err := w.market.FilterJobEvents(ctx, chain.EventRange{Start: start, End: &end}, id)
		if err != nil {
			return chain.Events{}, err
		}
		// Earlier ranges come later: keep each kind in chain order.
		all.Posted = append(evs.Posted, all.Posted...)
		all.Committed = append(evs.Committed, all.Committed...)
		all.Proved = append(evs.Proved, all.Proved...)
		if len(all.Posted) > 0 || start == 0 {
			return all, nil
		}
		end = start - 1
	}
}

func (w *Watcher) request(ctx context.Context, r *Record) (chain.Request, error) {
	evs, err := w.jobEvents(ctx, r.ID(), r.ProvedBlock)
	if err != nil {
		return chain.Request{}, err
	}
	if len(evs.Posted) == 0 {
		return chain.Request{}, fmt.Errorf("no JobPosted event")
	}
	return evs.Posted[0].Request, nil
}

func (w *Watcher) chainTime(ctx context.Context) (uint64, error) {
	h, err := w.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, err
	}
	return h.Time, nil
}

func float64FromBig(v *big.Int) float64 {
	f, _ := new(big.Float).SetInt(v).Float64()
	return f
}
