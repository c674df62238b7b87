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
	return nextToJob(jobURI, "receipts/"+jobID.String()+".json")
}

// TraceURL is where a committed trace is published for watchers (settlement.md §8, trace.md
// §8): traces/<trace root>.safetensors resolved against the job's URI, the root as 0x and 64
// lower-case hex digits. The name is the content's commitment, so no job's file can clobber
// another's.
func TraceURL(jobURI string, traceRoot *big.Int) (*url.URL, error) {
	if traceRoot == nil || traceRoot.Sign() < 0 || traceRoot.BitLen() > 256 {
		return nil, fmt.Errorf("trace URL: trace root %v is not a 256-bit word", traceRoot)
	}
	return nextToJob(jobURI, fmt.Sprintf("traces/0x%064x.safetensors", traceRoot))
}

func nextToJob(jobURI, rel string) (*url.URL, error) {
	base, err := url.Parse(jobURI)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrJobURI, jobURI, err)
	}
	switch base.Scheme {
	case "file", "http", "https":
	default:
		return nil, fmt.Errorf("%w: %q: scheme must be file, http or https", ErrJobURI, jobURI)
	}
	return base.ResolveReference(&url.URL{Path: rel}), nil
}

// PublishReceipt delivers an encoded receipt at ReceiptURL (settlement.md §8).
func PublishReceipt(ctx context.Context, client *http.Client, jobURI string, jobID *big.Int, doc []byte) error {
	u, err := ReceiptURL(jobURI, jobID)
	if err != nil {
		return err
	}
	return publish(ctx, client, u, "receipt", "application/json", doc)
}

// PublishTrace delivers a committed trace file (EncodeTrace) at TraceURL.
func PublishTrace(ctx context.Context, client *http.Client, jobURI string, traceRoot *big.Int, file []byte) error {
	u, err := TraceURL(jobURI, traceRoot)
	if err != nil {
		return err
	}
	return publish(ctx, client, u, "trace", "application/octet-stream", file)
}

// publish writes doc at u: for file:// a file written atomically (a reader polling the path
// never reads half a document), for http(s) a PUT with client (http.DefaultClient when nil).
func publish(ctx context.Context, client *http.Client, u *url.URL, what, contentType string, doc []byte) error {
	if u.Scheme == "file" {
		path := filepath.FromSlash(u.Path)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("publishing the %s: %w", what, err)
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
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("publishing the %s to %s: %w", what, u.Redacted(), err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publishing the %s to %s: %s", what, u.Redacted(), resp.Status)
	}
	return nil
}
