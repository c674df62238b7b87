package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// A node or watcher fetches URIs that others choose (job files, order books) and publishes receipts
// next to them: without care, a buyer could point it at the operator's own network (a cloud
// metadata service, an admin port on localhost). Its HTTP client dials only public addresses,
// checked on the address actually dialed (after DNS, so a name that resolves or rebinds to a
// private address is refused too), and a redirect is followed only to such an address, at
// most maxRedirects times. Config.AllowPrivateAddresses lifts this for local deployments.

// ErrPrivateAddress matches a fetch refused because it would reach a non-public address.
var ErrPrivateAddress = errors.New("address is not public")

const maxRedirects = 3

// publicOnly is the dialer's Control: it refuses loopback, private, link-local, unspecified,
// multicast and other non-global addresses (IPv4 and IPv6, mapped forms included).
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrPrivateAddress, address, err)
	}
	if !public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
	}
	return nil
}

// public reports whether a is a global unicast address outside the private, shared (CGNAT)
// and documentation ranges.
func public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach any IPv4 address
	netip.MustParsePrefix("2001:db8::/32"),
}

// SafeClient is the node's HTTP client for buyer-chosen URIs (see above); allowPrivate
// dials any address.
func SafeClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = publicOnly
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would dial for the node, past the address check
	tr.DialContext = d.DialContext
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrFetch, maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to scheme %q", ErrFetch, req.URL.Scheme)
		}
		if !allowPrivate {
			if a, err := netip.ParseAddr(req.URL.Hostname()); err == nil && !public(a) {
				return fmt.Errorf("%w: redirect to %s", ErrPrivateAddress, req.URL.Host)
			}
		}
		return nil
	}}
}

// WithTimeout bounds ctx by d when d is positive.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
