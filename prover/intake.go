package prover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/internal/fetch"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
)

// Consider hands the node a signed offer as if it had read it from an order book: it is
// checked and, if it passes, executed, locked and committed by the running node.
func (n *Node) Consider(o *jobs.Offer) {
	n.mu.Lock()
	n.offered = append(n.offered, o)
	n.mu.Unlock()
}

// Refusal is why a job was not taken: Reason is a short metric label (class, model, price,
// windows, ...), Err the detail.
type Refusal struct {
	Reason string
	Err    error
}

func (r *Refusal) Error() string { return r.Reason + ": " + r.Err.Error() }

func refuse(reason string, format string, a ...any) *Refusal {
	return &Refusal{Reason: reason, Err: fmt.Errorf(format, a...)}
}

// admitted is what the checks before a lock established about a job.
type admitted struct {
	jobFile []byte
	stake   *big.Int
	work    work // the heavy work it adds to the backlog
}

// admit runs every check a job must pass before the node spends anything on it (settlement.md
// §8): the request's terms, the class (served, active on chain, with this node's keys), the
// model, the price, the GPU's revocation state (CC mode), the lock deadline, the job file
// (fetched within bounds, its digest, root and length the request's, its hardware requirement
// one the node's GPUs meet, valid for the model and inside the class), the windows against
// the node's measured times, and the free stake. A nil *Refusal with a nil error admits it.
func (n *Node) admit(ctx context.Context, req chain.Request, jobURI string, src Source) (*admitted, *Refusal, error) {
	if err := chain.ProtocolRequest(req).Validate(); err != nil {
		return nil, refuse("terms", "%v", err), nil
	}
	cl, ok := n.classes[req.ClassId]
	if !ok {
		return nil, refuse("class", "class %x is not served", req.ClassId), nil
	}
	onChain, err := n.market.ClassOf(ctx, req.ClassId)
	if err != nil {
		return nil, nil, err
	}
	if chain.ClassStatus(onChain.Status) != chain.ClassStatusActive || onChain.Verifier == zeroAddr {
		return nil, refuse("class", "class %s is %v on chain", cl.Name, chain.ClassStatus(onChain.Status)), nil
	}
	if err := n.checkKeys(ctx, cl); err != nil {
		if errors.Is(err, ErrKeyMismatch) {
			return nil, refuse("keys", "%v", err), nil
		}
		return nil, nil, err
	}
	hm, ok := n.models[word(req.ModelRoot)]
	if !ok {
		return nil, refuse("model", "model %s is not held", word(req.ModelRoot)), nil
	}
	if req.Price.Cmp(n.minPrice) < 0 {
		return nil, refuse("price", "price %v is below the minimum %v", req.Price, n.minPrice), nil
	}
	// A GPU whose chain a responder says revoked or on hold would fail every audit of the
	// job's receipt: refused before the job costs a download (the answer is cached for the
	// record, so this is one request per certificate until its nextUpdate).
	if rf, err := n.checkGPURevocation(ctx); rf != nil || err != nil {
		return nil, rf, err
	}
	now, err := n.chainTime(ctx)
	if err != nil {
		return nil, nil, err
	}
	if now > req.LockBy {
		return nil, refuse("expired", "lock deadline %d passed (chain time %d)", req.LockBy, now), nil
	}
	// Before the fetch, the windows for the shortest job of the request (its prompt is in
	// the job file): a job that cannot fit, or not behind the backlog, costs no download.
	if _, err := n.checkWindows(ctx, req, cl, int(req.NewTokens), now, src); err != nil {
		var rf *Refusal
		if errors.As(err, &rf) {
			return nil, rf, nil
		}
		return nil, nil, err
	}
	b, err := n.prefetch.get(jobURI, n.fetch.MaxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if errors.Is(err, errFetching) {
			return nil, nil, fmt.Errorf("%w: %w", errBusy, err)
		}
		return nil, refuse("fetch", "%v", err), nil
	}
	j, err := jobs.CheckJobFile(chain.ProtocolRequest(req), b)
	if errors.Is(err, jobs.ErrJobFileMismatch) {
		return nil, refuse("job-mismatch", "%v", err), nil
	}
	if err != nil {
		return nil, refuse("job-file", "%v", err), nil
	}
	if rf, err := n.checkHardware(j.Hardware); rf != nil || err != nil {
		return nil, rf, err
	}
	if _, err := j.Check(hm.m); err != nil {
		return nil, refuse("fit", "%v", err), nil
	}
	if size, err := j.TraceBytes(hm.m); err != nil || size > MaxTraceBytes {
		return nil, refuse("fit", "trace of %d bytes, at most %d (%v)", size, MaxTraceBytes, err), nil
	}
	if err := cl.Fits(hm.m, j.Rows(), j); err != nil {
		return nil, refuse("fit", "%v", err), nil
	}
	w, err := n.checkWindows(ctx, req, cl, j.Rows(), now, src)
	if err != nil {
		var rf *Refusal
		if errors.As(err, &rf) {
			return nil, rf, nil
		}
		return nil, nil, err
	}
	need, err := n.market.RequiredStake(ctx, req.Price, onChain.MinSlots)
	if err != nil {
		return nil, nil, err
	}
	p, err := n.market.ProviderOf(ctx, n.Address())
	if err != nil {
		return nil, nil, err
	}
	if p.Free.Cmp(need) < 0 {
		return nil, refuse("stake", "the lock needs stake %v, %v is free", need, p.Free), nil
	}
	return &admitted{jobFile: b, stake: need, work: w}, nil, nil
}

func (n *Node) refused(id *big.Int, rf *Refusal) {
	n.metrics.Refused.WithLabelValues(rf.Reason).Inc()
	n.log.Info("refusing job", "job", id, "reason", rf.Reason, "err", rf.Err)
}

// refuseJob counts and logs a refusal and journals the job as refused, so it is not
// considered again (after a restart too) and RunUntil sees it final. Nothing was spent.
func (n *Node) refuseJob(id *big.Int, src Source, req chain.Request, jobURI string, rf *Refusal) {
	n.remember(id)
	n.refused(id, rf)
	r := &Record{JobID: id.String(), Step: StepRefused, Reason: rf.Error(), Source: src, Request: Request{req}, JobURI: jobURI}
	if err := n.save(r); err != nil {
		n.log.Error("journal", "job", id, "err", err)
		return
	}
	n.metrics.Jobs.WithLabelValues(string(StepRefused)).Inc()
}

// accept journals an admitted job (its job file on disk first) and starts it.
func (n *Node) accept(ctx, jobCtx context.Context, id *big.Int, src Source, req chain.Request, sig []byte, jobURI string, a *admitted) {
	head, err := n.backend.BlockNumber(ctx)
	if err != nil {
		n.log.Warn("reading head", "err", err)
		return
	}
	r := &Record{JobID: id.String(), Step: StepAccepted, Source: src, Request: Request{req}, Signature: sig, JobURI: jobURI,
		FromBlock: head, JobPath: filepath.Join(n.workDir(&Record{JobID: id.String()}), jobs.JobFile), AdmittedStake: a.stake.String()}
	if err := os.MkdirAll(filepath.Dir(r.JobPath), 0o755); err != nil {
		n.log.Error("work dir", "job", id, "err", err)
		return
	}
	if err := atomicfile.Write(r.JobPath, a.jobFile); err != nil {
		n.log.Error("writing job file", "job", id, "err", err)
		return
	}
	if err := n.save(r); err != nil {
		n.log.Error("journal", "job", id, "err", err)
		return
	}
	n.mu.Lock()
	n.work[r.JobID] = a.work
	n.mu.Unlock()
	n.trackStake(r)
	n.metrics.Jobs.WithLabelValues(string(StepAccepted)).Inc()
	n.metrics.Transitions.WithLabelValues(string(StepAccepted)).Inc()
	n.log.Info("accepted job", "job", id, "source", src, "price", req.Price, "tokens", req.NewTokens, "stake", a.stake)
	n.start(ctx, jobCtx, r)
}

// known reports whether the journal already has the job (taken, refused or done).
func (n *Node) known(id *big.Int) bool {
	_, err := n.journal.Load(id.String())
	return err == nil
}

// considerPosted decides whether to take a posted job.
func (n *Node) considerPosted(ctx, jobCtx context.Context, ev *chain.JobPosted) error {
	if n.known(ev.JobId) || n.seen(ev.JobId) {
		return nil
	}
	st, err := n.market.JobState(ctx, ev.JobId)
	if err != nil {
		return err
	}
	if st != chain.StateOpen {
		return nil // created by lockRequest, or taken already
	}
	a, rf, err := n.admit(ctx, ev.Request, ev.InputURI, FromPosted)
	if err != nil {
		return err
	}
	if rf != nil {
		n.refuseJob(ev.JobId, FromPosted, ev.Request, ev.InputURI, rf)
		return nil
	}
	n.accept(ctx, jobCtx, ev.JobId, FromPosted, ev.Request, nil, ev.InputURI, a)
	return nil
}

// fromProtocol is a protocol request as the chain client takes it.
func fromProtocol(q protocol.Request) chain.Request {
	return chain.Request{Buyer: q.Buyer, ClassId: q.ClassID, ModelRoot: q.ModelRoot, JobDigest: q.JobDigest,
		NewTokens: q.NewTokens, Price: q.Price, LockBy: q.LockBy, ExecWindow: q.ExecWindow, ProveWindow: q.ProveWindow,
		ChallengeWindow: q.ChallengeWindow, SeedCommitment: q.SeedCommitment, Salt: q.Salt}
}

// considerOffer decides whether to take an offer: it must name this node's chain and manager,
// pass its terms, not be past its lock deadline and carry the buyer's signature (a contract
// buyer's is left to the manager), and then pass admit.
func (n *Node) considerOffer(ctx, jobCtx context.Context, o *jobs.Offer) error {
	id, err := o.JobID()
	if err != nil {
		n.refused(big.NewInt(0), refuse("offer", "%v", err))
		return nil
	}
	if n.known(id) || n.seen(id) {
		return nil
	}
	st, err := n.market.JobState(ctx, id)
	if err != nil {
		return err
	}
	if st != chain.StateNone {
		n.remember(id) // locked by someone, or revoked
		return nil
	}
	now, err := n.chainTime(ctx)
	if err != nil {
		return err
	}
	if _, err := o.Check(n.chainID, n.cfg.Deployment.Manager, now); err != nil {
		contract := false
		if errors.Is(err, jobs.ErrOfferSignature) {
			code, cerr := n.backend.CodeAt(ctx, o.Request.Buyer, nil)
			if cerr != nil {
				return cerr
			}
			contract = len(code) > 0 // ERC-1271: the manager checks it at lock
		}
		if !contract {
			n.refuseJob(id, FromOffer, fromProtocol(o.Request), o.JobURI, refuse("offer", "%v", err))
			return nil
		}
	}
	req := fromProtocol(o.Request)
	if n.offersFull(req.Buyer) {
		return errBusy
	}
	a, rf, err := n.admit(ctx, req, o.JobURI, FromOffer)
	if err != nil {
		return err
	}
	if rf == nil {
		// The manager's own checks, before any compute: an offer it would not let this node
		// lock (an unfunded buyer, a bad or ERC-1271-refused signature) is not executed.
		if rf, err = n.simulateLock(ctx, req, o.Signature); err != nil {
			return err
		}
	}
	if rf != nil {
		n.refuseJob(id, FromOffer, req, o.JobURI, rf)
		return nil
	}
	n.accept(ctx, jobCtx, id, FromOffer, req, o.Signature, o.JobURI, a)
	return nil
}

// errBusy: the node takes no more jobs of this kind for now; the job is considered again at
// a later poll (not refused: nothing is wrong with it).
var errBusy = errors.New("busy: considered again later")

// offersFull reports whether accepting another offer of buyer would pass the caps on offers
// executing before their lock (MaxUnlockedOffers overall, MaxUnlockedPerBuyer).
func (n *Node) offersFull(buyer common.Address) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	mine := 0
	for _, b := range n.unlocked {
		if b == buyer {
			mine++
		}
	}
	return len(n.unlocked) >= n.cfg.MaxUnlockedOffers || mine >= n.cfg.MaxUnlockedPerBuyer
}

// seen reports whether a job was refused or passed over before (in memory: a restarted node
// checks again), so order books read at every poll are not refused again and again.
func (n *Node) seen(id *big.Int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.passed[id.String()]
}

func (n *Node) remember(id *big.Int) {
	n.mu.Lock()
	n.passed[id.String()] = true
	n.mu.Unlock()
}

// readBooks reads every configured order book and considers its offers; an unreadable book or
// entry is logged and read again at the next poll.
func (n *Node) readBooks(ctx, jobCtx context.Context) error {
	br := &jobs.BookReader{Client: n.fetch.Client}
	for _, book := range n.cfg.OrderBooks {
		if strings.HasPrefix(book, "file:") && !n.cfg.Fetch.AllowFile {
			n.log.Warn("file:// order book ignored (fetch.allowFile is off)", "book", book)
			continue
		}
		bctx, cancel := fetch.WithTimeout(ctx, n.fetch.Timeout)
		entries, err := br.ReadAll(bctx, book)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			n.log.Warn("reading order book", "book", book, "err", err)
			continue
		}
		for _, e := range entries {
			if e.Err != nil {
				n.log.Debug("unreadable offer", "book", book, "entry", e.Name, "err", e.Err)
				continue
			}
			if err := n.considerOffer(ctx, jobCtx, e.Offer); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, errBusy) {
					continue // read again at the next poll
				}
				n.log.Warn("considering offer", "book", book, "entry", e.Name, "err", err)
			}
		}
	}
	return nil
}

// cursor is the last block scanned for JobPosted.
type cursor struct {
	Block uint64 `json:"block"`
}

func (n *Node) cursorPath() string { return filepath.Join(n.cfg.DataDir, "cursor.json") }

// intake polls JobPosted events from the cursor on and the offers handed to the node, until
// ctx ends. An error reading the chain is logged and retried at the next poll.
func (n *Node) intake(ctx, jobCtx context.Context) error {
	next := n.cfg.StartBlock
	if b, err := os.ReadFile(n.cursorPath()); err == nil {
		var c cursor
		if json.Unmarshal(b, &c) == nil {
			next = c.Block + 1
		}
	}
	t := time.NewTicker(n.cfg.PollInterval.D())
	defer t.Stop()
	// deferred are posted jobs the node could take but not now (errBusy), considered again
	// at every poll until taken, refused or gone.
	var deferred []*chain.JobPosted
	for {
		n.mu.Lock()
		offers := n.offered
		n.offered = nil
		n.mu.Unlock()
		var again []*jobs.Offer
		for i, o := range offers {
			if err := n.considerOffer(ctx, jobCtx, o); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errors.Is(err, errBusy) {
					again = append(again, o)
					continue
				}
				n.log.Warn("considering offer", "err", err)
				again = append(again, offers[i:]...) // retried at the next poll
				break
			}
		}
		if len(again) > 0 {
			n.mu.Lock()
			n.offered = append(again, n.offered...)
			n.mu.Unlock()
		}
		if err := n.readBooks(ctx, jobCtx); err != nil {
			return err
		}
		// Posted jobs deferred by the load first, in the order they were posted.
		var still []*chain.JobPosted
		for _, ev := range deferred {
			err := n.considerPosted(ctx, jobCtx, ev)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				if !errors.Is(err, errBusy) {
					n.log.Warn("considering posted job", "job", ev.JobId, "err", err)
				}
				still = append(still, ev)
			}
		}
		deferred = still
		head, err := n.backend.BlockNumber(ctx)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	scan:
		for err == nil && next <= head {
			end := min(head, next+chain.MaxLogRange-1)
			evs, ferr := n.market.FilterJobPosted(ctx, chain.EventRange{Start: next, End: &end})
			if ferr != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				n.log.Warn("scanning JobPosted", "from", next, "to", end, "err", ferr)
				break
			}
			for _, ev := range evs {
				if cerr := n.considerPosted(ctx, jobCtx, ev); cerr != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if errors.Is(cerr, errBusy) {
						n.log.Debug("posted job deferred", "job", ev.JobId, "why", cerr)
						if !slices.ContainsFunc(deferred, func(d *chain.JobPosted) bool { return d.JobId.Cmp(ev.JobId) == 0 }) {
							deferred = append(deferred, ev) // a range scanned again finds it again
						}
						continue
					}
					n.log.Warn("considering posted job", "job", ev.JobId, "err", cerr)
					break scan // the range is scanned again at the next poll
				}
			}
			if werr := atomicfile.Write(n.cursorPath(), fmt.Appendf(nil, `{"block":%d}`+"\n", end)); werr != nil {
				n.log.Error("writing cursor", "err", werr)
			}
			next = end + 1
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
