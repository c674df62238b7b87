package sdk

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/probitylabs/probity/jobs"
)

// Result is a job's answer, read from the chain: the tokens of its JobProved event, which the
// manager accepted only with a valid proof of exactly these tokens for the job (their result
// digest is a public input), so no document from the provider is needed to trust them.
type Result struct {
	Proved
	// Text is Tokens as bytes when every token is below 256 (a byte-level model's output);
	// TextOK says whether they were.
	Text   string
	TextOK bool
}

func newResult(p Proved) *Result {
	ids := make([]int32, len(p.Tokens))
	for i, t := range p.Tokens {
		ids[i] = int32(t)
	}
	text, ok := jobs.ByteText(ids)
	return &Result{Proved: p, Text: text, TextOK: ok}
}

// Result waits for the job's answer. While it waits it reveals the seed secret as soon as the
// job is committed and its seed block mined (inside the reveal window only; a missed window
// is not an error here, the job goes on with the fallback seed), and returns once the proof
// is on chain. It fails with ErrJobSlashed (a provider missed a deadline or its proof was
// rejected: the buyer is credited, see Withdraw) or ErrJobCancelled when the job ends without
// a result. Nobody has to lock the job for Result to return an error: cancel it, or wait for
// its lock deadline and cancel.
func (c *Client) Result(ctx context.Context, job *Job) (*Result, error) {
	revealing := job.Request.SeedCommitment != ([32]byte{})
	if revealing {
		if _, ok, err := c.secretOf(job); err != nil {
			return nil, err
		} else if !ok {
			revealing = false // another holder of the secret reveals, or the fallback fixes the seed
		}
	}
	for {
		evs, err := c.Events(ctx, job.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			switch e := e.(type) {
			case Proved:
				return newResult(e), nil
			case Slashed:
				return nil, fmt.Errorf("%w: job %s (provider %s, stake %s)", ErrJobSlashed, job.ID, e.Provider.Hex(), e.Stake)
			case Cancelled:
				return nil, fmt.Errorf("%w: job %s", ErrJobCancelled, job.ID)
			case Abandoned:
				if !e.Reopened {
					return nil, fmt.Errorf("%w: job %s was abandoned past its lock deadline and refunded", ErrJobCancelled, job.ID)
				}
			}
		}
		if revealing {
			_, done, err := c.revealStep(ctx, job)
			switch {
			case errors.Is(err, ErrRevealMissed):
				revealing = false
			case errors.Is(err, ErrJobSlashed), errors.Is(err, ErrJobCancelled):
				continue // the events say how it ended
			case err != nil:
				return nil, err
			case done:
				revealing = false
			}
		}
		if err := c.wait(ctx, "waiting for the result of job "+job.ID.String()); err != nil {
			return nil, err
		}
	}
}

// WaitSettled waits until the job is settled (the provider paid: at the proof with a zero
// challenge window, else by Finalize, which anyone may call after PayableAt) and returns the
// event. It fails with ErrJobSlashed or ErrJobCancelled when the job ends otherwise.
func (c *Client) WaitSettled(ctx context.Context, jobID *big.Int) (*Settled, error) {
	for {
		evs, err := c.Events(ctx, jobID)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			switch e := e.(type) {
			case Settled:
				return &e, nil
			case Slashed:
				return nil, fmt.Errorf("%w: job %s", ErrJobSlashed, jobID)
			case Cancelled:
				return nil, fmt.Errorf("%w: job %s", ErrJobCancelled, jobID)
			}
		}
		if err := c.wait(ctx, "waiting for job "+jobID.String()+" to settle"); err != nil {
			return nil, err
		}
	}
}
