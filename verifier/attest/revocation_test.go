package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/attestation"
)

// A test CA stands in for NVIDIA's: NVIDIA publishes no revoked or held certificate with an
// OCSP response, so those cases are built here.

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64 = 1000

func issue(t testing.TB, cn string, parent *testCert, ca bool, mod func(*x509.Certificate)) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Probity test CA"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if mod != nil {
		mod(tmpl)
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{c, key}
}

// staple is an OCSP response about c signed by its issuer (or a delegated responder).
func staple(t testing.TB, c, issuer, responder *testCert, status, reason int, thisUpdate, nextUpdate time.Time) []byte {
	t.Helper()
	tmpl := ocsp.Response{Status: status, SerialNumber: c.cert.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedAt: thisUpdate.Add(-time.Hour), RevocationReason: reason}
	signer := issuer
	if responder != nil {
		signer = responder
		tmpl.Certificate = responder.cert
	}
	der, err := ocsp.CreateResponse(issuer.cert, signer.cert, tmpl, signer.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
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
	chain := []*x509.Certificate{leaf.cert, inter.cert, root.cert}
	roots := []*x509.Certificate{root.cert}
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

func deviceNameSAN(t testing.TB, name string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidNVIDIADeviceName)
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newTestGPU(t *testing.T) *testGPU {
	g := &testGPU{}
	g.root = issue(t, "Probity Test Device Identity CA", nil, true, nil)
	g.ica = issue(t, "NVIDIA GH100 Provisioner ICA 1", g.root, true, nil)
	g.brom = issue(t, "GH100 A01 GSP BROM", g.ica, true, nil)
	g.leaf = issue(t, "GH100 A01 GSP FMC LF", g.brom, false, func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: deviceNameSAN(t, "NVIDIA:GH100:0123456789ABCDEF")}}
	})
	rep := readHexFile(t, samples[0].report)
	h := sha512.Sum384(rep[:len(rep)-SignatureSize])
	r, s, err := ecdsa.Sign(rand.Reader, g.leaf.key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	r.FillBytes(rep[len(rep)-96 : len(rep)-48])
	s.FillBytes(rep[len(rep)-48:])
	g.report = rep
	for _, c := range []*testCert{g.leaf, g.brom, g.ica, g.root} {
		g.chain = append(g.chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return g
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
	g := newTestGPU(t)
	p := &Policy{At: stapleAt, Roots: []*x509.Certificate{g.root.cert}, RequireCC: true, AllowedChips: []string{"GH100"}}
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
		if err := CheckRevocation([]*x509.Certificate{leaf.cert}, 0, []*x509.Certificate{root.cert}, [][]byte{b}, stapleAt); err == nil {
			r, perr := ocsp.ParseResponseForCert(b, leaf.cert, root.cert)
			if perr != nil || r.Status != ocsp.Good {
				t.Fatalf("accepted a staple that does not say good: %v", perr)
			}
		}
	})
}
