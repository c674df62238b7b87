package prover

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// scheduler hands the node's Concurrency slots for heavy work (execution, proving) to the
// waiting job with the earliest deadline first: a job admitted later with a tighter window
// must not wait behind one that can afford to. Ties go in arrival order.
type scheduler struct {
	mu   sync.Mutex
	free int
	seq  uint64
	q    waiters
}

type waiter struct {
	deadline uint64 // chain seconds; 0 first (the self-test)
	seq      uint64
	ready    chan struct{}
	index    int // in q; -1 once granted
}

type waiters []*waiter

func (q waiters) Len() int { return len(q) }
func (q waiters) Less(i, j int) bool {
	if q[i].deadline != q[j].deadline {
		return q[i].deadline < q[j].deadline
	}
	return q[i].seq < q[j].seq
}
func (q waiters) Swap(i, j int) { q[i], q[j] = q[j], q[i]; q[i].index, q[j].index = i, j }
func (q *waiters) Push(x any)   { w := x.(*waiter); w.index = len(*q); *q = append(*q, w) }
func (q *waiters) Pop() any {
	old := *q
	w := old[len(old)-1]
	*q, w.index = old[:len(old)-1], -1
	return w
}

func newScheduler(slots int) *scheduler { return &scheduler{free: slots} }

// acquire waits for a slot, served by deadline.
func (s *scheduler) acquire(ctx context.Context, deadline uint64) error {
	s.mu.Lock()
	if s.free > 0 && len(s.q) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{deadline: deadline, seq: s.seq, ready: make(chan struct{})}
	heap.Push(&s.q, w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		granted := w.index < 0
		if !granted {
			heap.Remove(&s.q, w.index)
		}
		s.mu.Unlock()
		if granted {
			s.release()
		}
		return ctx.Err()
	}
}

// release hands the slot to the earliest deadline waiting, or frees it.
func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) > 0 {
		close(heap.Pop(&s.q).(*waiter).ready)
		return
	}
	s.free++
}

// work is the heavy work a job still needs, as measured by the self-test and scaled by
// Safety.WindowFactor: what the jobs admitted after it wait for.
type work struct{ exec, prove time.Duration }

// backlog is the heavy work the node's unproved jobs still need, spread over its slots: about
// how long a job admitted now waits before its own execution or proof starts.
func (n *Node) backlog() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	var sum time.Duration
	for _, w := range n.work {
		sum += w.exec + w.prove
	}
	return sum / time.Duration(n.cfg.Concurrency)
}

// trackWork keeps r's entry of the backlog (with n.mu held): the execution is done once
// executed, the proof once proved. A resumed job whose size the node did not keep counts
// as the largest job of its class.
func (n *Node) trackWork(r *Record) {
	if r.Step.Terminal() || !r.Step.Before(StepProved) {
		delete(n.work, r.JobID)
		return
	}
	w, ok := n.work[r.JobID]
	if !ok {
		cl := n.classes[r.Request.ClassId]
		e := n.est[r.Request.ClassId]
		if cl == nil || e == nil {
			return
		}
		w = n.workOf(e, cl.MaxRows())
	}
	if !r.Step.Before(StepExecuted) {
		w.exec = 0
	}
	n.work[r.JobID] = w
}

// workOf is a job's heavy work of rows trace rows, scaled by the safety factor.
func (n *Node) workOf(e *estimate, rows int) work {
	f := n.cfg.Safety.WindowFactor
	return work{exec: time.Duration(float64(e.ExecPerRow*time.Duration(rows)) * f), prove: time.Duration(float64(e.Prove) * f)}
}
