package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/verifier"
)

// FetchReceipt reads the receipt document of jobID published next to its job file
// (receipts/<jobId>.json resolved against the job URI, settlement.md §8), at most
// receipt.MaxSize bytes. It fails with ErrNoReceipt while the provider has not published it.
// The bytes are not trusted: Receipt authenticates them.
func (c *Client) FetchReceipt(ctx context.Context, jobURI string, jobID *big.Int) ([]byte, error) {
	u, err := jobs.ReceiptURL(jobURI, jobID)
	if err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	if u.Scheme == "file" {
		b, err := receipt.ReadFile(filepath.FromSlash(u.Path)) // bounded, regular files only
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoReceipt, u)
		}
		if err != nil {
			return nil, fmt.Errorf("sdk: %w", err)
		}
		return b, nil
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
	b, err := io.ReadAll(io.LimitReader(resp.Body, receipt.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("sdk: reading %s: %w", u.Redacted(), err)
	}
	if len(b) > receipt.MaxSize {
		return nil, fmt.Errorf("sdk: %s is larger than %d bytes", u.Redacted(), receipt.MaxSize)
	}
	return b, nil
}

// Receipt fetches the job's receipt and authenticates it against the chain: it parses
// strictly, names this job on this chain and manager, and its EIP-712 digest is the
// receiptDigest the manager computed from what it verified and emitted in JobProved (else
// ErrReceiptDigest), and its request and tokens are the job's and JobProved's.
//
// The digest does not cover every field (the job file, the stake, the class's name and
// slots, the seed's block and block hash, the attestation record, the signature), so the
// rest is checked with package verifier's audit against the chain (else ErrReceiptInvalid): the
// job file is the request's (jobs.CheckJobFile); the commitment (provider, stake, trace root,
// attestation digest) and seed block are JobCommitted's; the seed is SeedV2 of the chain's
// hash of that block and the secret, and JobProved's; the class is the request's classId with
// the name and slots of the class the client knows by that id (Job.Class, Client.Classes or
// universal.Classes; else ErrReceiptInvalid: the SDK does not accept what it cannot check);
// the proof verifies against the class's on-chain verifier key; the attestation record
// parses and its digest is attestationDigest; and the signature recovers nodeKey, the
// provider's registered node key (verifyReceipt). What stays the auditor's, under a policy:
// the attestation evidence and which modes and GPUs to accept, and the detection bounds
// (which need the model).
func (c *Client) Receipt(ctx context.Context, job *Job) (*receipt.Receipt, error) {
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
	rc, err := receipt.Parse(b)
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
	if _, err := jobs.CheckJobFile(ProtocolRequest(job.Request), rc.Job); err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrReceiptInvalid, job.ID, err)
	}
	if err := c.audit(ctx, job, rc); err != nil {
		return nil, err
	}
	return rc, nil
}

// audit runs package verifier's checks on rc against the client's chain: every one must pass but
// detection, which without the model is skipped, and the attestation evidence check. The
// policy pins this deployment and the job's class (its key read from the class's on-chain
// verifier). Of the attestation record the SDK checks only that it parses and is the record
// the provider committed (its digest is attestationDigest): whether its evidence is genuine
// and good enough (mode, GPU, CC report, certificate freshness) is the auditor's policy, not
// authentication, and must not make an honest receipt unreadable later; unless the job stated a
// hardware requirement (Generation.Hardware), which the evidence must then meet.
func (c *Client) audit(ctx context.Context, job *Job, rc *receipt.Receipt) error {
	cl := job.Class
	if cl == nil {
		cl = c.knownClass(job.Request.ClassId)
	}
	if cl == nil || cl.ID() != job.Request.ClassId {
		return fmt.Errorf("%w: job %s: class 0x%x is not one the client knows (set Job.Class or Client.Classes)", ErrReceiptInvalid, job.ID, job.Request.ClassId)
	}
	manager := c.Addresses().Manager
	policy := verifier.Policy{ChainID: c.ChainID(), Manager: &manager, Classes: []verifier.Class{{Class: cl}}, AllowNoAttestation: true}
	opts := verifier.Options{Chain: verifier.MarketChain{Market: c.market, Headers: c.backend}}
	// A job that required hardware asked for evidence: its attestation check must pass, against
	// the requirement the buyer wrote, not one read from the receipt (whose job file a provider
	// could have stripped of it: the job digest does not cover it).
	required := job.Gen != nil && job.Gen.Hardware != nil
	if required {
		opts.Attestation = &verifier.Records{Hardware: job.Gen.Hardware}
	}
	r, err := verifier.Audit(ctx, rc, policy, opts)
	if err != nil {
		return fmt.Errorf("sdk: checking the receipt of job %s: %w", job.ID, err)
	}
	var failed []error
	for _, ch := range r.Checks {
		if ch.Status == verifier.Fail && (ch.Name != verifier.CheckAttestation || required) {
			failed = append(failed, fmt.Errorf("%s: %w", ch.Name, ch.Err))
		}
	}
	if err := attestationBound(rc); err != nil {
		failed = append(failed, fmt.Errorf("%s: %w", verifier.CheckAttestation, err))
	}
	if err := errors.Join(failed...); err != nil {
		return fmt.Errorf("%w: job %s: %w", ErrReceiptInvalid, job.ID, err)
	}
	return nil
}

// attestationBound checks that the receipt's attestation record parses strictly and digests
// to the attestation digest the provider committed.
func attestationBound(rc *receipt.Receipt) error {
	rec, err := attestation.Parse(rc.Attestation)
	if err != nil {
		return fmt.Errorf("%w: %w", verifier.ErrAttestation, err)
	}
	d, err := rec.Digest()
	if err != nil {
		return fmt.Errorf("%w: %w", verifier.ErrAttestation, err)
	}
	if receipt.Word(d) != rc.AttestationDigest {
		return fmt.Errorf("%w: the record digests to %s, attestationDigest is %s", verifier.ErrAttestation, receipt.Word(d), rc.AttestationDigest)
	}
	return nil
}

// WaitReceipt polls Receipt until the provider has published the job's receipt (published
// after settlement), or ctx ends. A receipt that fails authentication is returned as an error
// at once: a provider that publishes the wrong one is not waited for.
func (c *Client) WaitReceipt(ctx context.Context, job *Job) (*receipt.Receipt, error) {
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
