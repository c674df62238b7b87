package sdkv1

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
	"slices"

	"github.com/probitylabs/probity/jobs"
	receiptv1 "github.com/probitylabs/probity/receipt/v1"
)

// FetchReceipt reads the receipt document of jobID published next to its job file
// (receipts/<jobId>.json resolved against the job URI, settlement.md §8), at most
// receiptv1.MaxSize bytes. It fails with ErrNoReceipt while the provider has not published it.
// The bytes are not trusted: Receipt authenticates them.
func (c *Client) FetchReceipt(ctx context.Context, jobURI string, jobID *big.Int) ([]byte, error) {
	u, err := jobs.ReceiptURL(jobURI, jobID)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if u.Scheme == "file" {
		path := filepath.FromSlash(u.Path)
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoReceipt, u)
		}
		if err != nil {
			return nil, fmt.Errorf("sdk: %w", err)
		}
		if fi.Size() > receiptv1.MaxSize {
			return nil, fmt.Errorf("sdk: %s is larger than %d bytes", u, receiptv1.MaxSize)
		}
		return os.ReadFile(path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: fetching %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", ErrNoReceipt, u.Redacted())
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("sdk: fetching %s: %s", u.Redacted(), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, receiptv1.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("sdk: reading %s: %w", u.Redacted(), err)
	}
	if len(b) > receiptv1.MaxSize {
		return nil, fmt.Errorf("sdk: %s is larger than %d bytes", u.Redacted(), receiptv1.MaxSize)
	}
	return b, nil
}

// Receipt fetches the job's receipt and authenticates it against the chain: it parses
// strictly, names this job on this chain and manager, and its EIP-712 digest is the
// receiptDigest the manager computed from what it verified and emitted in JobProved (else
// ErrReceiptDigest), and its request and tokens are the job's and JobProved's. Such a receipt
// carries exactly the proved statement; auditing the rest
// (the proof against the class's key, the attestation, the detection bounds) is the
// verifier's job, under a policy.
func (c *Client) Receipt(ctx context.Context, job *Job) (*receiptv1.Receipt, error) {
	if job.JobURI == "" {
		return nil, fmt.Errorf("sdk: job %s has no job URI to find its receipt by", job.ID)
	}
	proved, err := c.proved(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	b, err := c.FetchReceipt(ctx, job.JobURI, job.ID)
	if err != nil {
		return nil, err
	}
	rc, err := receiptv1.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("sdk: receipt of job %s: %w", job.ID, err)
	}
	switch {
	case rc.ChainID.Big().Cmp(c.ChainID()) != 0 || rc.Manager != c.Addresses().Manager:
		return nil, fmt.Errorf("%w: the receipt names chain %s and manager %s", ErrReceiptDigest, rc.ChainID.Big(), rc.Manager.Hex())
	case rc.JobID.Big().Cmp(job.ID) != 0:
		return nil, fmt.Errorf("%w: the receipt is of job %s, not %s", ErrReceiptDigest, rc.JobID.Big(), job.ID)
	case rc.Digest() != proved.ReceiptDigest:
		return nil, fmt.Errorf("%w: job %s: the receipt's digest is %x, JobProved's %x", ErrReceiptDigest, job.ID, rc.Digest(), proved.ReceiptDigest)
	case rc.Request.Hash() != ProtocolRequest(job.Request).Hash():
		// Implied by the job id for a valid receipt; checked so a caller never reads terms
		// that are not its job's.
		return nil, fmt.Errorf("%w: job %s: the receipt carries another request", ErrReceiptDigest, job.ID)
	case !slices.Equal(rc.Result.Tokens, proved.Tokens):
		// The signed digest covers the result digest, not the token list: the tokens must be
		// the chain's.
		return nil, fmt.Errorf("%w: job %s: the receipt's tokens are not JobProved's", ErrReceiptDigest, job.ID)
	}
	return rc, nil
}

// WaitReceipt polls Receipt until the provider has published the job's receipt (published
// after settlement), or ctx ends. A receipt that fails authentication is returned as an error
// at once: a provider that publishes the wrong one is not waited for.
func (c *Client) WaitReceipt(ctx context.Context, job *Job) (*receiptv1.Receipt, error) {
	for {
		rc, err := c.Receipt(ctx, job)
		if !errors.Is(err, ErrNoReceipt) {
			return rc, err
		}
		if err := c.wait(ctx, "waiting for the receipt of job "+job.ID.String()); err != nil {
			return nil, err
		}
	}
}

// proved returns the job's JobProved event, or why there is none.
func (c *Client) proved(ctx context.Context, jobID *big.Int) (*Proved, error) {
	evs, err := c.Events(ctx, jobID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		switch e := e.(type) {
		case Proved:
			return &e, nil
		case Slashed:
			return nil, fmt.Errorf("%w: job %s has no receipt", ErrJobSlashed, jobID)
		case Cancelled:
			return nil, fmt.Errorf("%w: job %s has no receipt", ErrJobCancelled, jobID)
		}
	}
	return nil, fmt.Errorf("%w: job %s is not proved yet", ErrNoReceipt, jobID)
}
