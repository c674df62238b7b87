package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/protocol"
)

// The buyer's side of the seed (settlement.md §4). A request carries the commitment
// keccak256(secret) of a fresh random secret; once the provider has committed its trace root
// and the seed block (two blocks after the commit) is mined, the buyer reveals the secret and
// the seed is fixed from the block's hash, the commitment and the secret, which neither the
// provider nor the seed block's builder knew in advance. Only the reveal can fix the seed for
// RevealBlocks blocks after the seed block; then anyone fixes it without the secret, so a buyer
// that goes away delays its job, never blocks it, but leaves the seed to the builder.

// RevealBlocks is how many blocks after the seed block only the buyer's reveal can fix the
// seed (the manager's REVEAL_BLOCKS).
const RevealBlocks = protocol.RevealBlocks

// ErrRevealMissed: the reveal window closed before the secret was revealed; the seed is
// fixed without it.
var ErrRevealMissed = errors.New("sdk: the seed's reveal window closed before the reveal")

// NewSeedSecret draws a nonzero seed secret from crypto/rand (zero means "no secret" to the
// manager).
func NewSeedSecret() ([32]byte, error) {
	var s [32]byte
	for s == ([32]byte{}) {
		if _, err := rand.Read(s[:]); err != nil {
			return s, fmt.Errorf("sdk: drawing a seed secret: %w", err)
		}
	}
	return s, nil
}

// Secrets holds seed secrets by job id: in memory, and under Dir when it is set (one file
// <jobId>.secret per job, hex, readable by the owner only, written atomically before the
// request leaves the client), so a buyer that restarts can still reveal. It is safe for
// concurrent use and shared by copies of a Client.
type Secrets struct {
	Dir string
	mu  sync.Mutex
	m   map[string][32]byte
}

// NewSecrets keeps secrets in memory and under dir ("" for memory only).
func NewSecrets(dir string) *Secrets { return &Secrets{Dir: dir} }

// Put records the secret of a job.
func (s *Secrets) Put(jobID *big.Int, secret [32]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][32]byte{}
	}
	s.m[jobID.String()] = secret
	if s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("sdk: seed secrets: %w", err)
	}
	// atomicfile's temporary file is created 0600, so the secret is never world-readable.
	if err := atomicfile.Write(filepath.Join(s.Dir, jobID.String()+".secret"), []byte(hex.EncodeToString(secret[:])+"\n")); err != nil {
		return fmt.Errorf("sdk: persisting the seed secret of job %s: %w", jobID, err)
	}
	return nil
}

// Get returns the secret of a job, from memory or Dir.
func (s *Secrets) Get(jobID *big.Int) ([32]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[jobID.String()]; ok {
		return v, true, nil
	}
	if s.Dir == "" {
		return [32]byte{}, false, nil
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, jobID.String()+".secret"))
	if errors.Is(err, os.ErrNotExist) {
		return [32]byte{}, false, nil
	}
	if err != nil {
		return [32]byte{}, false, fmt.Errorf("sdk: seed secret of job %s: %w", jobID, err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != 32 {
		return [32]byte{}, false, fmt.Errorf("sdk: seed secret file of job %s is not 32 hex bytes", jobID)
	}
	var v [32]byte
	copy(v[:], raw)
	if s.m == nil {
		s.m = map[string][32]byte{}
	}
	s.m[jobID.String()] = v
	return v, true, nil
}

// RevealSeed fixes a committed job's seed with its secret, now. It fails with
// *SeedUnavailableError before the seed block is mined, *RevealClosedError after the window,
// *SeedAlreadyFixedError when the seed is fixed already and *BadRevealError for a secret that
// is not the job's. Anyone holding the secret may call it.
func (c *Client) RevealSeed(ctx context.Context, job *Job) (*SeedFixed, error) {
	secret, ok, err := c.secretOf(job)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("sdk: no seed secret for job %s", job.ID)
	}
	r, err := c.market.RevealSeed(ctx, job.Request, secret)
	if err != nil {
		return nil, wrap("revealing the seed of job "+job.ID.String(), err)
	}
	ev := r.Fixed
	return &SeedFixed{info(job.ID, ev.Raw), ev.Seed, ev.ProveBy, ev.Revealed}, nil
}

func (c *Client) secretOf(job *Job) ([32]byte, bool, error) {
	if job.SeedSecret != ([32]byte{}) {
		return job.SeedSecret, true, nil
	}
	return c.Secrets.Get(job.ID)
}

// RevealWhenReady waits until the job is committed and its seed block mined, then reveals the
// secret, inside the reveal window only. It returns the job's SeedFixed event however the seed
// got fixed (Revealed says whether with the secret); ErrRevealMissed when the window closed
// first; ErrJobSlashed or ErrJobCancelled when the job ended before. A request without a seed
// commitment has nothing to reveal: *BadRevealError at once.
func (c *Client) RevealWhenReady(ctx context.Context, job *Job) (*SeedFixed, error) {
	if job.Request.SeedCommitment == ([32]byte{}) {
		return nil, &BadRevealError{Args: bindings.SLAManagerBadReveal{JobId: job.ID}}
	}
	for {
		ev, done, err := c.revealStep(ctx, job)
		if err != nil || done {
			return ev, err
		}
		if err := c.wait(ctx, "waiting to reveal the seed of job "+job.ID.String()); err != nil {
			return nil, err
		}
	}
}

// revealStep looks at the job once and reveals if it is time. done reports that there is
// nothing more to wait for: ev is the seed's SeedFixed event (nil with ErrRevealMissed or a
// final state's error).
func (c *Client) revealStep(ctx context.Context, job *Job) (ev *SeedFixed, done bool, err error) {
	j, err := c.market.GetJob(ctx, job.ID)
	if err != nil {
		return nil, false, wrap("job "+job.ID.String(), err)
	}
	switch st := chain.JobState(j.State); {
	case j.Flags&chain.JobFlagSeedFixed != 0, st == chain.StateProved, st == chain.StateSettled:
		ev, err := c.seedFixed(ctx, job.ID)
		return ev, true, err
	case st == chain.StateSlashed:
		return nil, true, fmt.Errorf("%w: job %s, before its seed was fixed", ErrJobSlashed, job.ID)
	case st == chain.StateCancelled:
		return nil, true, fmt.Errorf("%w: job %s", ErrJobCancelled, job.ID)
	case st != chain.StateCommitted:
		return nil, false, nil // not committed yet
	}
	head, err := c.BlockNumber(ctx)
	if err != nil {
		return nil, false, err
	}
	seedBlock := j.SeedBlock.Uint64()
	switch {
	case head <= seedBlock:
		return nil, false, nil // revealSeed needs block.number > seedBlock (gas is estimated on the head)
	case head > seedBlock+RevealBlocks:
		return nil, true, fmt.Errorf("%w: job %s, seed block %d, now %d", ErrRevealMissed, job.ID, seedBlock, head)
	}
	ev, err = c.RevealSeed(ctx, job)
	var fixed *SeedAlreadyFixedError
	var ws *WrongStateError
	var closed *RevealClosedError
	switch {
	case err == nil:
		return ev, true, nil
	case errors.As(err, &fixed), errors.As(err, &ws):
		return nil, false, nil // fixed or moved on between the read and the reveal: look again
	case errors.As(err, &closed):
		return nil, true, fmt.Errorf("%w: %w", ErrRevealMissed, err)
	}
	return nil, false, err
}

// seedFixed returns the job's SeedFixed event; a seed derived inside the submission has none,
// and then the seed is in Proved.
func (c *Client) seedFixed(ctx context.Context, jobID *big.Int) (*SeedFixed, error) {
	evs, err := c.Events(ctx, jobID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if s, ok := e.(SeedFixed); ok {
			if !s.Revealed {
				return &s, fmt.Errorf("%w: job %s's seed was fixed without the secret", ErrRevealMissed, jobID)
			}
			return &s, nil
		}
	}
	return nil, fmt.Errorf("%w: job %s was proved with a seed derived without the secret", ErrRevealMissed, jobID)
}
