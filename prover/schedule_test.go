package prover

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestSchedulerEarliestDeadlineFirst (review H2): a freed slot goes to the waiting job with the
// earliest deadline, whatever the order they queued in; a waiter that gives up leaves the queue.
func TestSchedulerEarliestDeadlineFirst(t *testing.T) {
	s := newScheduler(1)
	ctx := context.Background()
	if err := s.acquire(ctx, 100); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []uint64
	var wg sync.WaitGroup
	gone, giveUp := context.WithCancel(ctx)
	for _, d := range []uint64{30, 10, 5, 20} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx
			if d == 5 {
				c = gone
			}
			if err := s.acquire(c, d); err != nil {
				return
			}
			mu.Lock()
			order = append(order, d)
			mu.Unlock()
			s.release()
		}()
	}
	for {
		s.mu.Lock()
		queued := len(s.q)
		s.mu.Unlock()
		if queued == 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	giveUp()
	for {
		s.mu.Lock()
		queued := len(s.q)
		s.mu.Unlock()
		if queued == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.release()
	wg.Wait()
	if len(order) != 3 || order[0] != 10 || order[1] != 20 || order[2] != 30 {
		t.Errorf("slots went to deadlines %v, want [10 20 30]", order)
	}
	if s.free != 1 || len(s.q) != 0 {
		t.Errorf("after all released: %d free, %d queued; want 1 and 0", s.free, len(s.q))
	}
}
