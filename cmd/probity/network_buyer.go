package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"math/big"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/sdk"
)

// The buyer directory: what a buyer keeps of its jobs between commands.
//
//	DIR/secrets/<jobId>.secret   the seed secret (sdk.Secrets), 0600, written before the
//	                             request leaves the machine
//	DIR/jobs/<jobId>/job.safetensors  the published job file (file:// job URI unless
//	                             --job-uri-base); the provider's receipt lands in receipts/
//	                             beside it
//	DIR/jobs/<jobId>/job.json    the buyer's record: job URI, order book, signed offer
//
// A job posted on chain can be rebuilt from its JobPosted event and the secret alone
// (sdk.LoadJob); a signed offer nobody has locked exists only in the record and the book.

// buyerDirEnv names the environment variable read when --buyer-dir is not given.
const buyerDirEnv = "PROBITY_BUYER_DIR"

const defaultBuyerDir = "probity-buyer"

func addBuyerDir(fs *flag.FlagSet) *string {
	def := os.Getenv(buyerDirEnv)
	if def == "" {
		def = defaultBuyerDir
	}
	return fs.String("buyer-dir", def, "buyer `dir`: job files, records and seed secrets (default $"+buyerDirEnv+" or "+defaultBuyerDir+")")
}

// jobRecord is DIR/jobs/<jobId>/job.json.
type jobRecord struct {
	JobID  string `json:"jobId"`
	JobURI string `json:"jobUri"`
	// Book and Offer are set for a signed offer: the order book it was written to and the
	// offer itself (jobs.Offer's canonical encoding, as a string so it stays byte-exact).
	Book  string `json:"book,omitempty"`
	Offer string `json:"offer,omitempty"`
}

func jobDir(buyerDir string, id *big.Int) string {
	return filepath.Join(buyerDir, "jobs", id.String())
}

func secretPath(buyerDir string, id *big.Int) string {
	return filepath.Join(buyerDir, "secrets", id.String()+".secret")
}

func saveRecord(buyerDir string, job *sdk.Job) error {
	r := jobRecord{JobID: job.ID.String(), JobURI: job.JobURI, Book: job.Book}
	if job.Offer != nil {
		b, err := job.Offer.Encode()
		if err != nil {
			return err
		}
		r.Offer = string(b)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(jobDir(buyerDir, job.ID), "job.json"), append(b, '\n'))
}

// buyerClient attaches the buyer directory's secrets to a client.
func buyerClient(c *sdk.Client, buyerDir string) {
	c.Secrets = sdk.NewSecrets(filepath.Join(buyerDir, "secrets"))
}

// loadJob rebuilds job id: from the buyer directory's record when there is one (an offer
// nobody has locked is known nowhere else), else from the chain; the seed secret comes from
// the buyer directory. A job neither has is ErrNoJob, exit 1.
func loadJob(ctx context.Context, c *sdk.Client, buyerDir string, id *big.Int) (*sdk.Job, error) {
	b, err := os.ReadFile(filepath.Join(jobDir(buyerDir, id), "job.json"))
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("job record: %w", err)
	}
	var rec jobRecord
	if err == nil {
		if err := json.Unmarshal(b, &rec); err != nil || rec.JobID != id.String() {
			return nil, fmt.Errorf("job record %s: not the record of job %s", filepath.Join(jobDir(buyerDir, id), "job.json"), id)
		}
	}
	if rec.Offer != "" {
		o, err := jobs.ParseOffer([]byte(rec.Offer))
		if err != nil {
			return nil, fmt.Errorf("job record of %s: %w", id, err)
		}
		job := &sdk.Job{ID: id, Request: sdk.ChainRequest(o.Request), JobURI: o.JobURI, Offer: o, Book: rec.Book}
		if s, ok, err := c.Secrets.Get(id); err != nil {
			return nil, err
		} else if ok {
			job.SeedSecret = s
		}
		return job, nil
	}
	job, err := c.LoadJob(ctx, id)
	if errors.Is(err, sdk.ErrNoJob) {
		return nil, failedError{fmt.Errorf("job %s does not exist on this deployment (manager %s) and is not in %s", id, c.Addresses().Manager.Hex(), buyerDir)}
	}
	if err != nil {
		return nil, fromChain(err)
	}
	if job.JobURI == "" {
		job.JobURI = rec.JobURI
	}
	return job, nil
}

// requireSecret fails unless the job's seed secret is at hand (the buyer's own job).
func requireSecret(job *sdk.Job, buyerDir string) error {
	if job.Request.SeedCommitment == ([32]byte{}) {
		return nil
	}
	if job.SeedSecret == ([32]byte{}) {
		return withHint(fmt.Errorf("no seed secret for job %s at %s", job.ID, secretPath(buyerDir, job.ID)),
			"run it with the --buyer-dir `probity ask` used")
	}
	return nil
}
