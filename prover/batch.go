package prover

import (
	"context"
	"sync"
	"time"

	"github.com/probitylabs/probity/chain"
)

// batcher gathers proved jobs of one class into submitBatch transactions: a batch goes when
// it holds BatchSize jobs, when its first job has waited BatchMaxWait, or when the latest
// safe submission time of one of its jobs comes, whichever is first.
type batcher struct {
	n   *Node
	ctx context.Context // the node's work context, set by Run

	mu     sync.Mutex
	queues map[[32]byte][]*member
	wake   map[[32]byte]chan struct{}
}

type member struct {
	sub    chain.Submission
	since  time.Time
	latest time.Time
	done   chan batchResult // buffered: a member that stopped waiting never blocks the sender
}

// batchResult is one member's outcome and the transaction that carried it (Size members).
type batchResult struct {
	Outcome chain.JobOutcome
	Tx      *chain.Tx
	Size    int
	Err     error
	// Rejected: the manager's simulation of the submission says it would not verify (the
	// chain's seed is not the one proved, after a reorganisation), so it was not sent.
	Rejected bool
}

func newBatcher(n *Node) *batcher {
	return &batcher{n: n, ctx: context.Background(), queues: map[[32]byte][]*member{}, wake: map[[32]byte]chan struct{}{}}
}

// submit queues sub for its class and waits for its outcome. latest is the wall time after
// which waiting for more members would risk the job's deadline or seed horizon. When ctx ends
// first, a member still queued is withdrawn; one already sent concludes on chain, where the
// next reconcile finds it.
func (b *batcher) submit(ctx context.Context, class [32]byte, sub chain.Submission, latest time.Time) batchResult {
	m := &member{sub: sub, since: time.Now(), latest: latest, done: make(chan batchResult, 1)}
	b.mu.Lock()
	b.queues[class] = append(b.queues[class], m)
	if w, ok := b.wake[class]; ok {
		select {
		case w <- struct{}{}:
		default:
		}
	} else {
		w := make(chan struct{}, 1)
		b.wake[class] = w
		go b.flusher(class, w)
	}
	b.mu.Unlock()
	select {
	case res := <-m.done:
		return res
	case <-ctx.Done():
		b.mu.Lock()
		q := b.queues[class]
		for i, x := range q {
			if x == m {
				b.queues[class] = append(q[:i:i], q[i+1:]...)
				b.mu.Unlock()
				return batchResult{Err: ctx.Err()}
			}
		}
		b.mu.Unlock()
		select {
		case res := <-m.done: // sent: wait for the transaction rather than lose its outcome
			return res
		case <-b.ctx.Done():
			return batchResult{Err: ctx.Err()}
		}
	}
}

// flusher sends the batches of one class until its queue is empty.
func (b *batcher) flusher(class [32]byte, wake chan struct{}) {
	size, wait := b.n.cfg.BatchSize, b.n.cfg.BatchMaxWait.D()
	for {
		b.mu.Lock()
		q := b.queues[class]
		if len(q) == 0 {
			delete(b.queues, class)
			delete(b.wake, class)
			b.mu.Unlock()
			return
		}
		due := q[0].since.Add(wait)
		for _, m := range q {
			if m.latest.Before(due) {
				due = m.latest
			}
		}
		if len(q) < size && time.Now().Before(due) {
			b.mu.Unlock()
			t := time.NewTimer(time.Until(due))
			select {
			case <-t.C:
			case <-wake:
			case <-b.ctx.Done():
			}
			t.Stop()
			continue
		}
		take := q[:min(size, len(q))]
		b.queues[class] = append([]*member(nil), q[len(take):]...)
		b.mu.Unlock()
		b.send(take)
	}
}

// send submits members alone or as one batch, each simulated first (eth_call from the
// provider): a submission the manager would find invalid slashes the whole stake, so it is
// not sent but handed back (Rejected) to be proved again for the chain's seed. A batch that
// would slash a member, or that reverts as a whole (a calldata error of one member), is sent
// member by member, so one bad submission cannot hold the others back.
func (b *batcher) send(ms []*member) {
	ctx := b.ctx
	mk := b.n.market
	if len(ms) == 1 {
		valid, err := b.n.simulateSubmit(ctx, ms[0].sub)
		if err != nil {
			ms[0].done <- batchResult{Err: err}
			return
		}
		if !valid {
			ms[0].done <- batchResult{Rejected: true}
			return
		}
		res, err := mk.Submit(ctx, ms[0].sub)
		if err != nil {
			ms[0].done <- batchResult{Err: err}
			return
		}
		ms[0].done <- batchResult{Outcome: res.JobOutcome, Tx: &res.Tx, Size: 1}
		return
	}
	subs := make([]chain.Submission, len(ms))
	for i, m := range ms {
		subs[i] = m.sub
	}
	if slashed, err := b.n.simulateBatch(ctx, subs); err != nil || slashed.Sign() > 0 {
		b.n.log.Warn("batch would not verify as a whole; submitting its members alone", "size", len(ms), "slashed", slashed, "err", err)
		for _, m := range ms {
			b.send([]*member{m})
		}
		return
	}
	res, err := mk.SubmitBatch(ctx, subs)
	if err != nil {
		b.n.log.Warn("batch reverted; submitting its members alone", "size", len(ms), "err", err)
		for _, m := range ms {
			b.send([]*member{m})
		}
		return
	}
	b.n.log.Info("batch submitted", "size", len(ms), "proved", res.Proved, "slashed", res.Slashed, "skipped", res.Skipped, "gas", res.GasUsed)
	for i, m := range ms {
		m.done <- batchResult{Outcome: res.Jobs[i], Tx: &res.Tx, Size: len(ms)}
	}
}
