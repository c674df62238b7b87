package prover_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// ocspDevice is a test device chain whose certificates name a local test responder.
func ocspDevice(t *testing.T) (*attesttest.Device, *attesttest.Responder, []gpu.StapleRequest) {
	t.Helper()
	resp := attesttest.NewResponder(t)
	d := attesttest.NewDevice(t, resp.URL)
	resp.AddIssuers(d.Root, d.ICA, d.BROM)
	reqs, err := gpu.StapleRequests(d.Chain, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 || reqs[0].Cert.Subject.CommonName != "GH100 A01 GSP BROM" || reqs[1].Cert.Subject.CommonName != "NVIDIA GH100 Provisioner ICA 1" {
		t.Fatalf("requests %+v", reqs)
	}
	return d, resp, reqs
}

func certsOf(t *testing.T, chain []byte) []*x509.Certificate {
	t.Helper()
	c, err := attest.ParseCertChain(chain)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOCSPStaplerGood: the stapler POSTs to the responder each certificate names, the
// responses pass the auditor's revocation check, and they are reused from memory and, after a
// restart, from DATA-DIR/ocsp without asking again.
func TestOCSPStaplerGood(t *testing.T) {
	d, resp, reqs := ocspDevice(t)
	dir := filepath.Join(t.TempDir(), "ocsp")
	s := prover.NewOCSPStapler(prover.OCSPOptions{Dir: dir, Timeout: 5 * time.Second})
	got, err := s.Fetch(context.Background(), reqs)
	if err != nil || len(got) != 2 {
		t.Fatalf("%d responses, %v", len(got), err)
	}
	if err := attest.CheckRevocation(certsOf(t, d.Chain), 1, nil, got, time.Now()); err != nil {
		t.Fatalf("auditor refuses the staples: %v", err)
	}
	if _, err := s.Fetch(context.Background(), reqs); err != nil || resp.Total() != 2 {
		t.Fatalf("cached fetch: %v, %d requests", err, resp.Total())
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 2 {
		t.Fatalf("%d cache files", len(files))
	}
	restarted := prover.NewOCSPStapler(prover.OCSPOptions{Dir: dir})
	again, err := restarted.Fetch(context.Background(), reqs)
	if err != nil || len(again) != 2 || resp.Total() != 2 {
		t.Fatalf("disk cache: %v, %d responses, %d requests", err, len(again), resp.Total())
	}
}

// TestOCSPStaplerRefuses: revoked, on hold, unknown, badly signed, stale, oversized and
// unreachable answers are never returned as staples; revoked and on hold wrap
// attest.ErrRevoked, the rest ErrNoStaple, and each error names the certificate and the
// responder.
func TestOCSPStaplerRefuses(t *testing.T) {
	cases := []struct {
		name    string
		set     func(d *attesttest.Device, r *attesttest.Responder)
		want    []error
		text    string
		stapled int
	}{
		{"revoked", func(d *attesttest.Device, r *attesttest.Responder) { r.Revoke(d.BROM.Cert, 1) }, []error{attest.ErrRevoked}, "GH100 A01 GSP BROM", 1},
		{"on hold", func(d *attesttest.Device, r *attesttest.Responder) { r.Hold(d.ICA.Cert) }, []error{attest.ErrRevoked}, "on hold", 1},
		{"unknown", func(d *attesttest.Device, r *attesttest.Responder) { r.Unknown(d.BROM.Cert) }, []error{prover.ErrNoStaple, attest.ErrOCSPUnknown}, "GH100 A01 GSP BROM", 1},
		{"badly signed", func(d *attesttest.Device, r *attesttest.Responder) { r.WrongKey = true }, []error{prover.ErrNoStaple, attest.ErrOCSP}, "Provisioner ICA 1", 0},
		{"stale", func(d *attesttest.Device, r *attesttest.Responder) { r.Age, r.Validity = 48*time.Hour, 24*time.Hour }, []error{prover.ErrNoStaple, attest.ErrOCSPStale}, "nextUpdate", 0},
		{"oversized", func(d *attesttest.Device, r *attesttest.Responder) { r.Pad = attest.MaxStapleSize }, []error{prover.ErrNoStaple}, "exceeds", 0},
		{"unreachable", func(d *attesttest.Device, r *attesttest.Responder) { r.Close() }, []error{prover.ErrNoStaple}, "GH100 A01 GSP BROM", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, resp, reqs := ocspDevice(t)
			c.set(d, resp)
			got, err := prover.NewOCSPStapler(prover.OCSPOptions{}).Fetch(context.Background(), reqs)
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v does not wrap %v", err, w)
				}
			}
			var se *prover.StapleError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), resp.URL) {
				t.Errorf("error %v: want a StapleError naming %q and %s", err, c.text, resp.URL)
			}
			if len(got) != c.stapled {
				t.Errorf("%d responses returned, want %d", len(got), c.stapled)
			}
			for _, g := range got {
				if err := attest.CheckRevocation(certsOf(t, d.Chain), 1, nil, [][]byte{g}, time.Now()); err != nil && !errors.Is(err, attest.ErrNoOCSP) {
					t.Errorf("a returned response fails the auditor: %v", err)
				}
			}
		})
	}
}

// TestOCSPStaplerURLOverride: gpu.ocspUrl is asked instead of the responder the certificates
// name (here one that is down).
func TestOCSPStaplerURLOverride(t *testing.T) {
	dead := attesttest.NewResponder(t)
	dead.Close()
	d := attesttest.NewDevice(t, dead.URL)
	cache := attesttest.NewResponder(t, d.Root, d.ICA)
	reqs, err := gpu.StapleRequests(d.Chain, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := prover.NewOCSPStapler(prover.OCSPOptions{URL: cache.URL}).Fetch(context.Background(), reqs)
	if err != nil || len(got) != 2 || cache.Requests(d.BROM.Cert) != 1 {
		t.Fatalf("%d responses, %v", len(got), err)
	}
}

// TestOCSPStaplerTimeout: a responder that does not answer within the timeout counts as
// unreachable.
func TestOCSPStaplerTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	d := attesttest.NewDevice(t, slow.URL)
	reqs, err := gpu.StapleRequests(d.Chain, 1)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = prover.NewOCSPStapler(prover.OCSPOptions{Timeout: 100 * time.Millisecond}).Fetch(context.Background(), reqs)
	if !errors.Is(err, prover.ErrNoStaple) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
}

// TestOCSPStaplerExpiry: a cached response is refetched once its nextUpdate is near, and one
// without nextUpdate after MaxOCSPCacheAge.
func TestOCSPStaplerExpiry(t *testing.T) {
	for _, noNext := range []bool{false, true} {
		d, resp, reqs := ocspDevice(t)
		resp.Validity, resp.NoNextUpdate = 3*time.Hour, noNext
		now := time.Now()
		s := prover.NewOCSPStapler(prover.OCSPOptions{Dir: t.TempDir(), Now: func() time.Time { return now }})
		if _, err := s.Fetch(context.Background(), reqs); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour) // thisUpdate+2h: within the 3h validity
		if _, err := s.Fetch(context.Background(), reqs); err != nil || resp.Requests(d.BROM.Cert) != 1 {
			t.Fatalf("noNext %v: refetched too early (%d requests, %v)", noNext, resp.Requests(d.BROM.Cert), err)
		}
		later := 2 * time.Hour // past nextUpdate
		if noNext {
			later = prover.MaxOCSPCacheAge
		}
		now = now.Add(later)
		// What the responder answers is judged at the stapler's (moved) clock; what matters
		// here is that it was asked again.
		_, err := s.Fetch(context.Background(), reqs)
		if resp.Requests(d.BROM.Cert) != 2 {
			t.Fatalf("noNext %v: not refetched after expiry (%d requests, %v)", noNext, resp.Requests(d.BROM.Cert), err)
		}
	}
}
