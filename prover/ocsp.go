package prover

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// OCSP stapling (spec §9). Auditors check the revocation of the GPU's device chain offline,
// from OCSP responses stapled into the record (cc.ocsp), and fail a CC record without them.
// The node therefore asks the responders at job time: before the lock, so that a revoked GPU
// never takes a job it would be slashed or fail the audit for, and again at record time, from
// the cache, for exactly the chain that signed the report. What it staples it first checks
// with the auditors' own code (attest.CheckStaple): a revoked, held, unknown, badly signed or
// stale response is never stapled.

// Errors of OCSP stapling.
var (
	// ErrGPURevoked: a certificate of the GPU's chain, or of a signer's chain of its RIMs, is
	// revoked or on hold; every audit of a receipt from this GPU would fail, so the node
	// refuses to lock or commit.
	ErrGPURevoked = errors.New("a certificate of the GPU's attestation or RIM chains is revoked")
	// ErrNoStaple: no usable OCSP response could be had for a certificate (the responder is
	// unreachable, or answered unknown, badly signed, stale or not at all).
	ErrNoStaple = errors.New("no usable OCSP response")
)

// MaxOCSPCacheAge is how long a response without nextUpdate is reused after its thisUpdate.
const MaxOCSPCacheAge = 24 * time.Hour

// ocspRefreshMargin: a cached response is refetched this long before its nextUpdate, so that
// the one stapled is still valid when the commitment lands and auditors check it.
const ocspRefreshMargin = 5 * time.Minute

// StapleError says which certificate and responder an OCSP fetch failed for.
type StapleError struct {
	Subject   string // the certificate's common name
	Serial    string // hex
	Responder string // URL asked ("" when none could be)
	Err       error
}

func (e *StapleError) Error() string {
	if e.Responder == "" {
		return fmt.Sprintf("OCSP for %q (serial %s): %v", e.Subject, e.Serial, e.Err)
	}
	return fmt.Sprintf("OCSP for %q (serial %s) from %s: %v", e.Subject, e.Serial, e.Responder, e.Err)
}
func (e *StapleError) Unwrap() error { return e.Err }

// OCSPOptions configure an OCSPStapler.
type OCSPOptions struct {
	// URL, when set, is asked instead of the responders the certificates name (NVIDIA's
	// service, or an operator's cache in front of it).
	URL string
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// Dir caches responses on disk across restarts ("": memory only).
	Dir    string
	Client *http.Client     // nil: http.DefaultClient
	Now    func() time.Time // nil: time.Now
	Log    *slog.Logger     // nil: discard
}

// OCSPStapler fetches, checks and caches the OCSP responses a record staples.
type OCSPStapler struct {
	o  OCSPOptions
	mu sync.Mutex
	// mem caches good responses by certificate until they expire; revoked and other unusable
	// answers are never cached, so a hold that is lifted is seen at the next job.
	mem map[string]cachedStaple
}

type cachedStaple struct {
	der   []byte
	until time.Time
}

// NewOCSPStapler builds a stapler.
func NewOCSPStapler(o OCSPOptions) *OCSPStapler {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &OCSPStapler{o: o, mem: map[string]cachedStaple{}}
}

// Fetch returns a good response for each request it can get one for, from the cache or the
// responder. The error joins a *StapleError for each certificate left without one: it wraps
// attest.ErrRevoked when a responder says revoked or on hold, else ErrNoStaple.
func (s *OCSPStapler) Fetch(ctx context.Context, reqs []gpu.StapleRequest) ([][]byte, error) {
	var good [][]byte
	var errs []error
	for _, r := range reqs {
		der, err := s.one(ctx, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		good = append(good, der)
	}
	return good, errors.Join(errs...)
}

func cacheKey(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return hex.EncodeToString(h[:])
}

func (s *OCSPStapler) one(ctx context.Context, r gpu.StapleRequest) ([]byte, error) {
	key := cacheKey(r.Cert)
	now := s.o.Now()
	if der := s.cached(key, r, now); der != nil {
		return der, nil
	}
	fail := func(responder string, err error) *StapleError {
		return &StapleError{Subject: r.Subject, Serial: r.Cert.SerialNumber.Text(16), Responder: responder, Err: err}
	}
	servers := r.Servers
	if s.o.URL != "" {
		servers = []string{s.o.URL}
	}
	if len(servers) == 0 {
		return nil, fail("", fmt.Errorf("%w: the certificate names no OCSP responder and gpu.ocspUrl is not set", ErrNoStaple))
	}
	var last *StapleError
	for _, url := range servers {
		der, err := s.post(ctx, url, r.DER)
		if err == nil {
			err = check(r, der, now)
		}
		if err == nil {
			s.store(key, der, now)
			return der, nil
		}
		if errors.Is(err, attest.ErrRevoked) {
			return nil, fail(url, err) // one responder saying revoked is enough
		}
		if !errors.Is(err, ErrNoStaple) {
			err = fmt.Errorf("%w: %w", ErrNoStaple, err)
		}
		last = fail(url, err)
	}
	return nil, last
}

// check is the auditor's check of a response at the node's time.
func check(r gpu.StapleRequest, der []byte, now time.Time) error {
	if _, err := attest.ParseStaple(der); err != nil {
		return err // names a responder error status (tryLater, unauthorized, ...)
	}
	return attest.CheckStaple(r.Cert, r.Issuer, der, now)
}

// post sends one request (RFC 6960 A.1: POST, application/ocsp-request), bounded in time and
// in the size of the answer.
func (s *OCSPStapler) post(ctx context.Context, url string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/ocsp-request")
	hreq.Header.Set("Accept", "application/ocsp-response")
	resp, err := s.o.Client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, attest.MaxStapleSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(body) > attest.MaxStapleSize {
		return nil, fmt.Errorf("response exceeds %d bytes", attest.MaxStapleSize)
	}
	return body, nil
}

// expiry is when a good response stops being reused: its nextUpdate, or MaxOCSPCacheAge
// after its thisUpdate when it gives none; in both cases ocspRefreshMargin earlier.
func expiry(der []byte) time.Time {
	r, err := attest.ParseStaple(der)
	if err != nil {
		return time.Time{}
	}
	until := r.ThisUpdate.Add(MaxOCSPCacheAge)
	if !r.NextUpdate.IsZero() {
		until = r.NextUpdate
	}
	return until.Add(-ocspRefreshMargin)
}

// cached returns a cached response still good at now, from memory or disk; a disk entry is
// checked again (the file is not trusted more than the responder).
func (s *OCSPStapler) cached(key string, r gpu.StapleRequest, now time.Time) []byte {
	s.mu.Lock()
	e, ok := s.mem[key]
	s.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.der
	}
	if s.o.Dir == "" {
		return nil
	}
	der, err := os.ReadFile(filepath.Join(s.o.Dir, key+".der"))
	if err != nil || check(r, der, now) != nil {
		return nil
	}
	until := expiry(der)
	if !now.Before(until) {
		return nil
	}
	s.mu.Lock()
	s.mem[key] = cachedStaple{der, until}
	s.mu.Unlock()
	return der
}

func (s *OCSPStapler) store(key string, der []byte, now time.Time) {
	until := expiry(der)
	s.mu.Lock()
	s.mem[key] = cachedStaple{der, until}
	s.mu.Unlock()
	if s.o.Dir == "" || !now.Before(until) {
		return
	}
	// A lost cache write costs a refetch, never a record: log it and go on.
	err := os.MkdirAll(s.o.Dir, 0o755)
	if err == nil {
		err = atomicfile.Write(filepath.Join(s.o.Dir, key+".der"), der)
	}
	if err != nil {
		s.o.Log.Warn("OCSP cache write failed", "dir", s.o.Dir, "err", err)
	}
}
