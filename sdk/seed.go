package sdk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/protocol"
)

// The buyer's side of the seed (spec §6.2): a job posted with a seed commitment gets its
// challenge seed from the seed block's hash mixed with a secret only the buyer knows until it
// reveals it, after the provider committed and the seed block was mined. Neither the provider
// nor the producer of the seed block can then choose the seed. If the buyer does not reveal
// within protocol.RevealBlocks blocks, anyone may fix the seed without the secret, so a buyer
// that goes away delays the job but never blocks it.

// NewSeedSecret draws a seed secret from crypto/rand.
func NewSeedSecret() ([32]byte, error) {
	var s [32]byte
	for s == ([32]byte{}) { // zero means "no secret" to the contract
		if _, err := rand.Read(s[:]); err != nil {
			return s, fmt.Errorf("sdk: drawing a seed secret: %w", err)
		}
	}
	return s, nil
}

// secretStore holds the seed secrets a client will reveal, by job id. It is shared by copies
// of a Client, so a copy made to change FromBlock reveals too.
type secretStore struct {
	mu sync.Mutex
	m  map[string][32]byte
}

// SetSeedSecret gives the client the seed secret of a job (one it posted in an earlier
// session, say), so that WaitReceipt reveals it.
func (c *Client) SetSeedSecret(jobID *big.Int, secret [32]byte) {
	if c.secrets == nil { // a Client not made by NewClient
		c.secrets = &secretStore{}
	}
	c.secrets.mu.Lock()
	defer c.secrets.mu.Unlock()
	if c.secrets.m == nil {
		c.secrets.m = map[string][32]byte{}
	}
	c.secrets.m[jobID.String()] = secret
}

// SeedSecret returns the seed secret the client holds for a job.
func (c *Client) SeedSecret(jobID *big.Int) ([32]byte, bool) {
	if c.secrets == nil {
		return [32]byte{}, false
	}
	c.secrets.mu.Lock()
	defer c.secrets.mu.Unlock()
	s, ok := c.secrets.m[jobID.String()]
	return s, ok
}

// RevealSeed fixes a committed job's seed with the buyer's secret. It needs the seed block
// mined and at most protocol.RevealBlocks blocks old; it fails with *SeedAlreadyFixedError
// when the seed is fixed already, *RevealClosedError after the window and *BadRevealError
// when secret is not the job's. Anyone holding the secret may call it.
func (c *Client) RevealSeed(ctx context.Context, jobID *big.Int, secret [32]byte) (*SeedFixed, error) {
	ev, _, err := c.chain.RevealSeed(ctx, jobID, secret)
	if err != nil {
		return nil, fmt.Errorf("sdk: revealing the seed of job %s: %w", jobID, decodeError(err))
	}
	return &SeedFixed{info(jobID, ev.Raw), ev.Seed, ev.ProveBy, ev.Revealed}, nil
}

// RevealSeedWhenReady waits until the job is committed and its seed block mined, then reveals
// secret. It returns the SeedFixed event either way the seed got fixed: by this reveal, or
// earlier by someone else (Revealed says whether with the secret). It fails with
// ErrJobSlashed or ErrJobCancelled when the job ends before its seed is fixed.
func (c *Client) RevealSeedWhenReady(ctx context.Context, jobID *big.Int, secret [32]byte) (*SeedFixed, error) {
	for {
		j, err := c.chain.GetJob(ctx, jobID)
		if err != nil {
			return nil, fmt.Errorf("sdk: job %s: %w", jobID, decodeError(err))
		}
		st := chain.JobState(j.State)
		switch {
		case j.SeedFixed:
			return c.seedFixed(ctx, jobID)
		case st == chain.StateSlashed:
			return nil, fmt.Errorf("%w: job %s, before its seed was fixed", ErrJobSlashed, jobID)
		case st == chain.StateCancelled:
			return nil, fmt.Errorf("%w: job %s", ErrJobCancelled, jobID)
		case st == chain.StateNone:
			return nil, fmt.Errorf("sdk: job %s does not exist", jobID)
		case st == chain.StateCommitted:
			ev, done, err := c.tryReveal(ctx, jobID, j.SeedBlock, secret)
			if err != nil || ev != nil {
				return ev, err
			}
			if done {
				continue // fixed or ended meanwhile: the record says which
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sdk: waiting to reveal the seed of job %s: %w", jobID, ctx.Err())
		case <-time.After(c.PollInterval):
		}
	}
}

// tryReveal reveals the seed of a job committed with seedBlock if that block is mined. done
// reports that there is nothing more to reveal: the seed was fixed (ev is this reveal's event,
// or nil when someone else fixed it first) or the job left Committed. Not done, no error: the
// seed block is still ahead.
func (c *Client) tryReveal(ctx context.Context, jobID *big.Int, seedBlock uint64, secret [32]byte) (ev *SeedFixed, done bool, err error) {
	head, err := c.BlockNumber(ctx)
	if err != nil {
		return nil, false, err
	}
	// revealSeed needs block.number > seedBlock, and gas is estimated on the head.
	if head <= seedBlock {
		return nil, false, nil
	}
	// Past the reveal window only the fallback fixes the seed: wait for it (not done).
	if head > seedBlock+protocol.RevealBlocks {
		return nil, false, nil
	}
	ev, err = c.RevealSeed(ctx, jobID, secret)
	var fixed *SeedAlreadyFixedError
	var ws *WrongStateError
	var closed *RevealClosedError
	switch {
	case err == nil:
		return ev, true, nil
	case errors.As(err, &fixed), errors.As(err, &ws):
		// Another caller (the fallback after RevealBlocks, a submission) fixed the seed, or
		// the job ended, between the read and the reveal.
		return nil, true, nil
	case errors.As(err, &closed):
		return nil, false, nil // the window closed between the read and the reveal
	}
	return nil, false, err
}

// seedFixed finds the job's SeedFixed event (from FromBlock on).
func (c *Client) seedFixed(ctx context.Context, jobID *big.Int) (*SeedFixed, error) {
	evs, err := c.Events(ctx, jobID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if s, ok := e.(SeedFixed); ok {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("sdk: job %s has its seed fixed but no SeedFixed event from block %d", jobID, c.FromBlock)
}
