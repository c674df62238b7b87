package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/internal/atomicfile"
)

// ErrJobURI reports a job URI receipts cannot be delivered next to.
var ErrJobURI = errors.New("bad job URI")

// ReceiptURL is where the receipt of jobID is published (settlement.md §8):
// receipts/<jobId>.json resolved against the job's URI, whose scheme must be file, http or
// https.
func ReceiptURL(jobURI string, jobID *big.Int) (*url.URL, error) {
	base, err := url.Parse(jobURI)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrJobURI, jobURI, err)
	}
	switch base.Scheme {
	case "file", "http", "https":
	default:
		return nil, fmt.Errorf("%w: %q: scheme must be file, http or https", ErrJobURI, jobURI)
	}
	return base.ResolveReference(&url.URL{Path: "receipts/" + jobID.String() + ".json"}), nil
}

// PublishReceipt delivers an encoded receipt at ReceiptURL (settlement.md §8): for file:// a file
// written atomically (a buyer polling the path never reads half a document), for http(s) a
// PUT with client (http.DefaultClient when nil).
func PublishReceipt(ctx context.Context, client *http.Client, jobURI string, jobID *big.Int, doc []byte) error {
	u, err := ReceiptURL(jobURI, jobID)
	if err != nil {
		return err
	}
	if u.Scheme == "file" {
		path := filepath.FromSlash(u.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("publishing the receipt: %w", err)
		}
		return atomicfile.Write(path, doc)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(doc))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publishing the receipt to %s: %w", u.Redacted(), err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publishing the receipt to %s: %s", u.Redacted(), resp.Status)
	}
	return nil
}
