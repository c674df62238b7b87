package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPublicAddresses (review M2): the fetcher's address check refuses every non-public range.
func TestPublicAddresses(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"8.8.8.8", true}, {"2606:4700::1111", true}, {"1.1.1.1", true},
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"0.0.0.0", false}, {"100.64.0.1", false}, {"::1", false},
		{"fe80::1", false}, {"fc00::1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:169.254.169.254", false},
		{"224.0.0.1", false}, {"255.255.255.255", false}, {"64:ff9b::a9fe:a9fe", false}, {"::", false},
	} {
		if got := public(netip.MustParseAddr(c.addr)); got != c.ok {
			t.Errorf("public(%s) = %v, want %v", c.addr, got, c.ok)
		}
	}
}

// TestFetchRefusesPrivate (review M2): a job URI on a loopback server, or one redirecting
// there, is refused by the node's default client and fetched when private addresses are
// allowed.
func TestFetchRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("job"))
	}))
	defer srv.Close()
	ctx := context.Background()
	f := &Fetcher{Timeout: 5 * time.Second, Client: SafeClient(false)}
	if _, err := f.Get(ctx, srv.URL+"/job", 100); !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("loopback fetch: %v, want ErrPrivateAddress", err)
	}
	f.Client = SafeClient(true)
	if b, err := f.Get(ctx, srv.URL+"/job", 100); err != nil || string(b) != "job" {
		t.Errorf("loopback fetch with private addresses allowed: %q, %v", b, err)
	}
	// The redirect check: a client that may dial the redirecting server (allowed) but not
	// follow it to a private address.
	redir := SafeClient(false).CheckRedirect
	req, _ := http.NewRequest(http.MethodGet, "http://169.254.169.254/latest/meta-data", nil)
	if err := redir(req, []*http.Request{{}}); !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("redirect to the metadata address: %v, want ErrPrivateAddress", err)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://example.com/job", nil)
	if err := redir(req, make([]*http.Request, maxRedirects+1)); err == nil {
		t.Error("a redirect chain past the limit was followed")
	}
}

// TestFetchTimeoutAndLimit (review M2): a file longer than the limit is refused while it is
// read, and a server that does not answer is given up after the timeout.
func TestFetchTimeoutAndLimit(t *testing.T) {
	const limit = 4 << 10
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", int(limit)+1)))
	}))
	defer srv.Close()
	defer close(hang)
	f := &Fetcher{Timeout: 300 * time.Millisecond, Client: SafeClient(true)}
	if _, err := f.Get(context.Background(), srv.URL+"/big", limit); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized job file: %v", err)
	}
	t0 := time.Now()
	if _, err := f.Get(context.Background(), srv.URL+"/slow", limit); !errors.Is(err, ErrFetch) {
		t.Errorf("hanging server: %v", err)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("the fetch gave up after %v, the timeout is 300ms", d)
	}
}
