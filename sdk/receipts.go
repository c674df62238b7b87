package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/receipt"
)

// FetchReceipt reads the receipt document of jobID from next to its manifest. It returns an
// error wrapping ErrNoReceipt while the provider has not published it.
func FetchReceipt(ctx context.Context, manifestURI string, jobID *big.Int) ([]byte, error) {
	u, err := jobs.ReceiptURL(manifestURI, jobID)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "file" {
		b, err := os.ReadFile(filepath.FromSlash(u.Path))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoReceipt, u)
		}
		if err == nil && len(b) > receipt.MaxSize {
			return nil, fmt.Errorf("sdk: %s larger than %d bytes", u, receipt.MaxSize)
		}
		return b, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrNoReceipt, u)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("sdk: fetching %s: %s", u, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, receipt.MaxSize+1))
}

// PublishReceipt is the provider's side of spec §8.3: it writes the receipt to
// receipts/<jobId>.json next to the job's manifest (a file, or an HTTP PUT).
func PublishReceipt(ctx context.Context, manifestURI string, rc *receipt.Receipt) error {
	doc, err := rc.MarshalIndent()
	if err != nil {
		return err
	}
	if err := jobs.PublishReceipt(ctx, nil, manifestURI, rc.JobID.Big(), doc); err != nil {
		return fmt.Errorf("sdk: %w", err)
	}
	return nil
}

// WaitReceipt waits until the job settles, then fetches its receipt from next to the job's
// manifest and authenticates it against the chain: its EIP-712 digest must equal the
// receiptDigest of JobSettled, and it must name this chain, manager and job. It fails with
// ErrJobSlashed or ErrJobCancelled when the job ends otherwise. Audit the returned receipt
// with the verifier package for proofs and attestation under your policy.
//
// When the client holds the job's seed secret (PostJob, SetSeedSecret), WaitReceipt reveals
// it as soon as the job is committed and its seed block mined; a seed someone else fixed
// first is no error. A reveal the contract refuses otherwise (a wrong secret) ends the wait
// with that error, since the job then runs on the weaker seed without it.
func (c *Client) WaitReceipt(ctx context.Context, jobID *big.Int) (*receipt.Receipt, error) {
	var posted *Posted
	var settled *Settled
	secret, haveSecret := c.SeedSecret(jobID)
	// revealAt is the seed block of a committed job whose seed the client still has to
	// reveal; the reveal is retried on every tick until that block is mined.
	var revealAt *uint64
	tick := time.NewTicker(c.PollInterval)
	defer tick.Stop()
	reveal := func() error {
		if revealAt == nil {
			return nil
		}
		_, done, err := c.tryReveal(ctx, jobID, *revealAt, secret)
		if done {
			revealAt = nil
		}
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	evs := c.Watch(wctx, jobID)
watch:
	for {
		var ev Event
		select {
		case e, ok := <-evs:
			if !ok {
				break watch
			}
			ev = e
		case <-tick.C:
			if err := reveal(); err != nil {
				return nil, err
			}
			continue
		}
		switch e := ev.(type) {
		case Posted:
			posted = &e
		case Committed:
			if haveSecret {
				revealAt = &e.SeedBlock
				if err := reveal(); err != nil {
					return nil, err
				}
			}
		case SeedFixed:
			revealAt = nil
		case Settled:
			settled = &e
		case Slashed:
			return nil, fmt.Errorf("%w: job %s, stake %s of provider %s", ErrJobSlashed, jobID, e.Stake, e.Provider.Hex())
		case Cancelled:
			return nil, fmt.Errorf("%w: job %s", ErrJobCancelled, jobID)
		case WatchError:
			return nil, e.Err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if posted == nil || settled == nil {
		return nil, fmt.Errorf("sdk: job %s: no JobPosted/JobSettled events from block %d", jobID, c.FromBlock)
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	for {
		doc, err := FetchReceipt(ctx, posted.InputURI, jobID)
		if err == nil {
			return c.authenticate(doc, chainID, jobID, settled)
		}
		if !errors.Is(err, ErrNoReceipt) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (job %s settled; waiting for the provider to publish): %w", ErrNoReceipt, jobID, ctx.Err())
		case <-time.After(c.PollInterval):
		}
	}
}

func (c *Client) authenticate(doc []byte, chainID, jobID *big.Int, settled *Settled) (*receipt.Receipt, error) {
	rc, err := receipt.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("sdk: receipt of job %s: %w", jobID, err)
	}
	switch {
	case rc.ChainID.Big().Cmp(chainID) != 0 || rc.Contract != c.Addresses().Manager || rc.JobID.Big().Cmp(jobID) != 0:
		return nil, fmt.Errorf("%w: it names chain %s, manager %s, job %s", ErrReceiptDigest, rc.ChainID, rc.Contract.Hex(), rc.JobID)
	case rc.Digest() != settled.ReceiptDigest:
		return nil, fmt.Errorf("%w: digest %s, JobSettled says 0x%x", ErrReceiptDigest, rc.Digest().Hex(), settled.ReceiptDigest)
	}
	// The contract recovered the node key from this digest, so the document's signature
	// must recover to the same key; check it rather than assume the document's nodeKey.
	if err := rc.VerifySignature(); err != nil {
		return nil, fmt.Errorf("sdk: receipt of job %s: %w", jobID, err)
	}
	return rc, nil
}
