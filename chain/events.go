package chain

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/event"
)

// EventRange bounds a log query; End nil means the latest block.
type EventRange struct {
	Start uint64
	End   *uint64
}

// FilterJobPosted returns the JobPosted events in r.
func (c *Client) FilterJobPosted(ctx context.Context, r EventRange) ([]*JobPosted, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobPostedEvent)
	return collect(it, err)
}

// FilterJobLocked returns the JobLocked events in r.
func (c *Client) FilterJobLocked(ctx context.Context, r EventRange) ([]*JobLocked, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobLockedEvent)
	return collect(it, err)
}

// FilterJobCommitted returns the JobCommitted events in r.
func (c *Client) FilterJobCommitted(ctx context.Context, r EventRange) ([]*JobCommitted, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobCommittedEvent)
	return collect(it, err)
}

// FilterSeedFixed returns the SeedFixed events in r.
func (c *Client) FilterSeedFixed(ctx context.Context, r EventRange) ([]*SeedFixed, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackSeedFixedEvent)
	return collect(it, err)
}

// FilterJobSettled returns the JobSettled events in r.
func (c *Client) FilterJobSettled(ctx context.Context, r EventRange) ([]*JobSettled, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobSettledEvent)
	return collect(it, err)
}

// FilterJobSlashed returns the JobSlashed events in r.
func (c *Client) FilterJobSlashed(ctx context.Context, r EventRange) ([]*JobSlashed, error) {
	it, err := bind.FilterEvents(c.d.Manager, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, c.manager.UnpackJobSlashedEvent)
	return collect(it, err)
}

// WatchJobPosted streams new JobPosted events into sink until the subscription
// is closed or ctx ends (needs a backend with log subscriptions).
func (c *Client) WatchJobPosted(ctx context.Context, sink chan<- *JobPosted) (event.Subscription, error) {
	return bind.WatchEvents(c.d.Manager, &bind.WatchOpts{Context: ctx}, c.manager.UnpackJobPostedEvent, sink)
}

// WatchJobCommitted streams new JobCommitted events into sink.
func (c *Client) WatchJobCommitted(ctx context.Context, sink chan<- *JobCommitted) (event.Subscription, error) {
	return bind.WatchEvents(c.d.Manager, &bind.WatchOpts{Context: ctx}, c.manager.UnpackJobCommittedEvent, sink)
}

// WatchJobSettled streams new JobSettled events into sink.
func (c *Client) WatchJobSettled(ctx context.Context, sink chan<- *JobSettled) (event.Subscription, error) {
	return bind.WatchEvents(c.d.Manager, &bind.WatchOpts{Context: ctx}, c.manager.UnpackJobSettledEvent, sink)
}

// WatchJobSlashed streams new JobSlashed events into sink.
func (c *Client) WatchJobSlashed(ctx context.Context, sink chan<- *JobSlashed) (event.Subscription, error) {
	return bind.WatchEvents(c.d.Manager, &bind.WatchOpts{Context: ctx}, c.manager.UnpackJobSlashedEvent, sink)
}

func collect[T any](it *bind.EventIterator[T], err error) ([]*T, error) {
	if err != nil {
		return nil, fmt.Errorf("chain: filtering logs: %w", err)
	}
	defer it.Close()
	var out []*T
	for it.Next() {
		out = append(out, it.Value())
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("chain: reading logs: %w", err)
	}
	return out, nil
}
