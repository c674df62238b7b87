package prover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/probitylabs/probity/jobs"
)

// ErrFetch matches failures to fetch a job file or an order book.
var ErrFetch = errors.New("fetching")

// fetcher reads job files and order books within a size and a time limit.
type fetcher struct {
	maxBytes  int64
	timeout   time.Duration
	allowFile bool
	// client is the caller's (Options.HTTPClient), else safeClient: it reaches only public
	// addresses unless Config.AllowPrivateAddresses.
	client *http.Client
}

func (f *fetcher) httpClient() *http.Client { return f.client }

// get returns a URI's content, at most limit bytes (one more is an error).
func (f *fetcher) get(ctx context.Context, uri string, limit int64) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrFetch, uri, err)
	}
	ctx, cancel := withTimeout(ctx, f.timeout)
	defer cancel()
	var r io.ReadCloser
	switch u.Scheme {
	case "file":
		if !f.allowFile {
			return nil, fmt.Errorf("%w %s: file:// URIs are not allowed (fetch.allowFile)", ErrFetch, u)
		}
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		r = fh
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		resp, err := f.httpClient().Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFetch, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: GET %s: %s", ErrFetch, u.Redacted(), resp.Status)
		}
		if resp.ContentLength > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%w %s: %d bytes, limit %d", ErrFetch, u.Redacted(), resp.ContentLength, limit)
		}
		r = resp.Body
	default:
		return nil, fmt.Errorf("%w %q: scheme must be file, http or https", ErrFetch, uri)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrFetch, u.Redacted(), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w %s: more than the limit of %d bytes", ErrFetch, u.Redacted(), limit)
	}
	return b, nil
}

// publishReceipt delivers an encoded receipt at receipts/<jobId>.json next to the job URI.
func (f *fetcher) publishReceipt(ctx context.Context, jobURI string, jobID *big.Int, doc []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return jobs.PublishReceipt(ctx, f.httpClient(), jobURI, jobID, doc)
}
