// Package fetch downloads what others name by URI (job files, order books, published traces)
// within size and time limits, with an HTTP client that dials only public addresses unless
// told otherwise, and publishes documents next to a job URI with the same limits.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// ErrFetch matches failures to fetch a job file, an order book or a trace.
var ErrFetch = errors.New("fetching")

// Fetcher reads URIs that others chose (file://, http, https) within a size and a time limit.
type Fetcher struct {
	// MaxBytes bounds what the caller's limits may allow.
	MaxBytes int64
	Timeout  time.Duration
	// AllowFile permits file:// URIs (local deployments and tests).
	AllowFile bool
	// Client is the caller's, else SafeClient: it reaches only public addresses unless the
	// caller allows private ones.
	Client *http.Client
}

// Get returns a URI's content, at most limit bytes (one more is an error).
func (f *Fetcher) Get(ctx context.Context, uri string, limit int64) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrFetch, uri, err)
	}
	ctx, cancel := WithTimeout(ctx, f.Timeout)
	defer cancel()
	var r io.ReadCloser
	switch u.Scheme {
	case "file":
		if !f.AllowFile {
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
		resp, err := f.Client.Do(req)
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

// Publish delivers a document next to a job URI with the fetcher's client and time limit
// (jobs.PublishReceipt, jobs.PublishTrace).
func (f *Fetcher) Publish(ctx context.Context, publish func(ctx context.Context, client *http.Client) error) error {
	ctx, cancel := WithTimeout(ctx, f.Timeout)
	defer cancel()
	return publish(ctx, f.Client)
}
