package attest

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// The test CA, device chains and OCSP responses come from attesttest, which the provider's
// stapling tests share: NVIDIA publishes no revoked or held certificate with an OCSP response.

type testCert = attesttest.Cert

func issue(t testing.TB, cn string, parent *testCert, ca bool, mod func(*x509.Certificate)) *testCert {
	t.Helper()
	return attesttest.Issue(t, cn, parent, ca, mod)
}

// staple is an OCSP response about c signed by its issuer (or a delegated responder).
func staple(t testing.TB, c, issuer, responder *testCert, status, reason int, thisUpdate, nextUpdate time.Time) []byte {
	t.Helper()
	return attesttest.Staple(t, c, issuer, responder, status, reason, thisUpdate, nextUpdate)
}

var (
	stapleAt   = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	thisUpdate = stapleAt.Add(-24 * time.Hour)
	nextUpdate = stapleAt.Add(6 * 24 * time.Hour)
)

func TestCheckRevocation(t *testing.T) {
	root := issue(t, "Test Root", nil, true, nil)
	inter := issue(t, "Test Intermediate", root, true, nil)
	leaf := issue(t, "Test Leaf", inter, false, nil)
	chain := []*x509.Certificate{leaf.Cert, inter.Cert, root.Cert}
	roots := []*x509.Certificate{root.Cert}
	good := func(c, iss *testCert) []byte { return staple(t, c, iss, nil, ocsp.Good, 0, thisUpdate, nextUpdate) }
	okResponder := issue(t, "Test OCSP responder", inter, false, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning} })
	badResponder := issue(t, "Test not a responder", inter, false, nil)

	cases := []struct {
		name    string
		staples [][]byte
		at      time.Time
		want    error // nil: passes
		text    string
	}{
		{"all good", [][]byte{good(leaf, inter), good(inter, root)}, stapleAt, nil, ""},
		{"leaf revoked", [][]byte{staple(t, leaf, inter, nil, ocsp.Revoked, ocsp.KeyCompromise, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, ErrRevoked, "reason 1"},
		{"leaf on hold", [][]byte{staple(t, leaf, inter, nil, ocsp.Revoked, ocsp.CertificateHold, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, ErrRevoked, "on hold"},
		{"intermediate on hold", [][]byte{good(leaf, inter), staple(t, inter, root, nil, ocsp.Revoked, ocsp.CertificateHold, thisUpdate, nextUpdate)}, stapleAt, ErrRevoked, "Test Intermediate"},
		{"unknown", [][]byte{staple(t, leaf, inter, nil, ocsp.Unknown, 0, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, ErrOCSPUnknown, ""},
		{"missing", [][]byte{good(leaf, inter)}, stapleAt, ErrNoOCSP, "Test Intermediate"},
		{"signed by the wrong CA", [][]byte{staple(t, leaf, root, nil, ocsp.Good, 0, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, ErrOCSP, ""},
		{"expired response", [][]byte{good(leaf, inter), good(inter, root)}, nextUpdate.Add(time.Minute), ErrOCSPStale, "nextUpdate"},
		{"response from the future", [][]byte{good(leaf, inter), good(inter, root)}, thisUpdate.Add(-time.Minute), ErrOCSPStale, "thisUpdate"},
		{"no nextUpdate, old", [][]byte{staple(t, leaf, inter, nil, ocsp.Good, 0, thisUpdate, time.Time{}), good(inter, root)}, thisUpdate.Add(MaxStapleAge + time.Hour), ErrOCSPStale, ""},
		{"delegated responder", [][]byte{staple(t, leaf, inter, okResponder, ocsp.Good, 0, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, nil, ""},
		{"delegated, no OCSP usage", [][]byte{staple(t, leaf, inter, badResponder, ocsp.Good, 0, thisUpdate, nextUpdate), good(inter, root)}, stapleAt, ErrOCSP, "OCSP signing"},
		{"garbage staple ignored", [][]byte{{0x30, 0x00}, good(leaf, inter), good(inter, root)}, stapleAt, nil, ""},
	}
	for _, c := range cases {
		err := CheckRevocation(chain, 0, roots, c.staples, c.at)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var re *RevocationError
		if !errors.Is(err, c.want) || !errors.As(err, &re) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %v mentioning %q", c.name, err, c.want, c.text)
		}
	}
	// The root of a chain that ends before it is found among the pinned roots.
	if err := CheckRevocation(chain[:2], 0, roots, [][]byte{good(leaf, inter), good(inter, root)}, stapleAt); err != nil {
		t.Fatal(err)
	}

	// AllowMissingOCSPUnsafe tolerates absent staples, never a revoked one.
	res := &Result{}
	revocationCheck(res, "r", CheckRevocation(chain, 0, roots, nil, stapleAt), true)
	wantCheck(t, res, "r", Skipped, nil)
	res = &Result{}
	revocationCheck(res, "r", CheckRevocation(chain, 0, roots, [][]byte{staple(t, leaf, inter, nil, ocsp.Revoked, ocsp.CertificateHold, thisUpdate, nextUpdate)}, stapleAt), true)
	wantCheck(t, res, "r", Failed, ErrRevoked)
	res = &Result{}
	revocationCheck(res, "r", CheckRevocation(chain, 0, roots, nil, stapleAt), false)
	wantCheck(t, res, "r", Failed, ErrNoOCSP)
}

// testGPU is a device chain shaped like NVIDIA's (leaf "GH100 A01 GSP FMC LF" with the
// NVIDIA device-name otherName, device "GH100 A01 GSP BROM", "NVIDIA GH100 Provisioner ICA 1")
// under a test root, and NVIDIA's hopper-2023 report re-signed by its leaf key.
type testGPU struct {
	root, ica, brom, leaf *testCert
	report                []byte
	chain                 []byte
}

func newTestGPU(t *testing.T) *testGPU {
	d := attesttest.NewDevice(t, "")
	return &testGPU{root: d.Root, ica: d.ICA, brom: d.BROM, leaf: d.Leaf, chain: d.Chain,
		report: attesttest.SignReport(t, readHexFile(t, samples[0].report), d.Leaf.Key, nil)}
}

func (g *testGPU) record(t *testing.T, staples ...[]byte) (*attestation.Record, [32]byte) {
	n := nonce32(t, samples[0].nonce)
	rec := &attestation.Record{
		Version: attestation.Version, Mode: attestation.ModeNVMLCC, Identity: h100Claims(samples[0].driver, samples[0].vbios),
		CC: &attestation.CC{Enabled: true, Ready: true, Nonce: n[:], Report: g.report, CertChain: g.chain},
	}
	for _, s := range staples {
		rec.CC.OCSP = append(rec.CC.OCSP, s)
	}
	// cc.ocsp is sorted (spec §9.2).
	for i := 1; i < len(rec.CC.OCSP); i++ {
		for j := i; j > 0 && string(rec.CC.OCSP[j]) < string(rec.CC.OCSP[j-1]); j-- {
			rec.CC.OCSP[j], rec.CC.OCSP[j-1] = rec.CC.OCSP[j-1], rec.CC.OCSP[j]
		}
	}
	if err := rec.Validate(); err != nil {
		t.Fatal(err)
	}
	return rec, n
}

// TestStapledRevocationInRecord runs the device chain's revocation check through
// VerifyRecord: the device certificate on hold fails the record; missing staples fail it
// unless the policy says AllowMissingOCSPUnsafe.
func TestStapledRevocationInRecord(t *testing.T) {
	if !attesttest.OIDNVIDIADeviceName.Equal(oidNVIDIADeviceName) {
		t.Fatal("attesttest names devices under another OID than the verifier reads")
	}
	if !attesttest.OIDTCBInfo.Equal(oidTCBInfo) {
		t.Fatal("attesttest puts the FWID under another OID than the verifier reads")
	}
	g := newTestGPU(t)
	p := &Policy{At: stapleAt, Roots: []*x509.Certificate{g.root.Cert}, RequireCC: true, AllowedChips: []string{"GH100"}}
	good := func(c, iss *testCert) []byte { return staple(t, c, iss, nil, ocsp.Good, 0, thisUpdate, nextUpdate) }

	rec, n := g.record(t, good(g.brom, g.ica), good(g.ica, g.root))
	res, err := VerifyRecord(rec, n, p)
	if err != nil || !res.OK() {
		t.Fatalf("%v %v", err, res.Err())
	}
	wantCheck(t, res, CheckDeviceRevocation, Passed, nil)
	if res.Device == nil || res.Device.UEID != "0123456789ABCDEF" {
		t.Fatalf("device %+v", res.Device)
	}

	rec, n = g.record(t, staple(t, g.brom, g.ica, nil, ocsp.Revoked, ocsp.CertificateHold, thisUpdate, nextUpdate), good(g.ica, g.root))
	res, _ = VerifyRecord(rec, n, p)
	wantCheck(t, res, CheckDeviceRevocation, Failed, ErrRevoked)
	if !strings.Contains(res.Err().Error(), "on hold") {
		t.Errorf("hold not named: %v", res.Err())
	}
	unsafe := *p
	unsafe.AllowMissingOCSPUnsafe = true
	res, _ = VerifyRecord(rec, n, &unsafe)
	wantCheck(t, res, CheckDeviceRevocation, Failed, ErrRevoked)

	rec, n = g.record(t)
	res, _ = VerifyRecord(rec, n, p)
	wantCheck(t, res, CheckDeviceRevocation, Failed, ErrNoOCSP)
	res, _ = VerifyRecord(rec, n, &unsafe)
	wantCheck(t, res, CheckDeviceRevocation, Skipped, nil)
	if !res.OK() {
		t.Fatal(res.Err())
	}
}

func FuzzParseStaple(f *testing.F) {
	root := issue(f, "Test Root", nil, true, nil)
	leaf := issue(f, "Test Leaf", root, false, nil)
	f.Add(staple(f, leaf, root, nil, ocsp.Good, 0, thisUpdate, nextUpdate))
	f.Add(staple(f, leaf, root, nil, ocsp.Revoked, ocsp.CertificateHold, thisUpdate, nextUpdate))
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseStaple(b); err != nil && !errors.Is(err, ErrOCSP) {
			t.Fatalf("error %v does not wrap ErrOCSP", err)
		}
		// Whatever the bytes, checking them never passes a certificate they do not vouch for
		// under its issuer.
		if err := CheckRevocation([]*x509.Certificate{leaf.Cert}, 0, []*x509.Certificate{root.Cert}, [][]byte{b}, stapleAt); err == nil {
			r, perr := ocsp.ParseResponseForCert(b, leaf.Cert, root.Cert)
			if perr != nil || r.Status != ocsp.Good {
				t.Fatalf("accepted a staple that does not say good: %v", perr)
			}
		}
	})
}
