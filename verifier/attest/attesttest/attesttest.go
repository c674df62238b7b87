// Package attesttest builds what the tests of verifier/attest and of the provider need in place
// of NVIDIA's infrastructure: a test certificate authority, device chains shaped like NVIDIA's
// with reports signed by their leaf key, OCSP responses, and an OCSP responder over HTTP.
// NVIDIA publishes no revoked or held certificate with an OCSP response, so those cases are
// built here; the verifier's and the provider's tests share one implementation so that what
// the provider staples is exactly what the verifier is tested to accept.
//
// It must not import verifier/attest (whose internal tests import it), only its xmldsig
// package, which in turn must not import this one.
package attesttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// Cert is a test certificate with its private key.
type Cert struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// PEM is the certificate as one PEM block.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

var serial atomic.Int64

func init() { serial.Store(1000) }

// Issue makes a P-384 certificate for cn signed by parent (self-signed when parent is nil),
// valid 2020-2040; mod may change the template before signing. Serials are unique in the
// process, so a serial names one certificate of any test CA.
func Issue(t testing.TB, cn string, parent *Cert, ca bool, mod func(*x509.Certificate)) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)), Subject: pkix.Name{CommonName: cn, Organization: []string{"Probity test CA"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		BasicConstraintsValid: true, IsCA: ca, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if mod != nil {
		mod(tmpl)
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.Key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{c, key}
}

// Staple is a DER OCSP response about c signed by its issuer, or by a delegated responder
// when responder is not nil. A revoked response (status ocsp.Revoked) says revoked an hour
// before thisUpdate with reason (ocsp.CertificateHold for "on hold").
func Staple(t testing.TB, c, issuer, responder *Cert, status, reason int, thisUpdate, nextUpdate time.Time) []byte {
	t.Helper()
	tmpl := ocsp.Response{Status: status, SerialNumber: c.Cert.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedAt: thisUpdate.Add(-time.Hour), RevocationReason: reason}
	signer := issuer
	if responder != nil {
		signer = responder
		tmpl.Certificate = responder.Cert
	}
	der, err := ocsp.CreateResponse(issuer.Cert, signer.Cert, tmpl, signer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// OIDNVIDIADeviceName is the otherName type of the subject alternative name in which NVIDIA's
// leaf certificates name the device ("NVIDIA:GH100:<UEID>").
var OIDNVIDIADeviceName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 412, 274, 1}

// DeviceNameSAN is a subjectAltName extension value naming the device as NVIDIA's leaves do.
func DeviceNameSAN(t testing.TB, name string) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDNVIDIADeviceName)
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

// Device is a GPU device chain shaped like NVIDIA's: leaf "GH100 A01 GSP FMC LF" (made by
// the GPU at boot, naming device UEID 0123456789ABCDEF), "GH100 A01 GSP BROM", "NVIDIA GH100
// Provisioner ICA 1" and a test root standing in for NVIDIA's Device Identity CA.
type Device struct {
	Root, ICA, BROM, Leaf *Cert
	Chain                 []byte // PEM, leaf first, root last (as NVML returns it)
	ocspURL               string
}

// DeviceUEID is the UEID a Device's leaf names.
const DeviceUEID = "0123456789ABCDEF"

// OIDTCBInfo is the TCG TcbInfo extension in whose last 48 bytes Hopper leaves carry the
// firmware id (FWID) the report's opaque data repeats.
var OIDTCBInfo = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1}

// NewDevice builds a device chain whose BROM and provisioner certificates name ocspURL as
// their OCSP responder (authority information access), as NVIDIA's do; "" names none. With
// fwid (48 bytes), the leaf carries it as Hopper leaves do, for reports whose opaque data
// names an FWID.
func NewDevice(t testing.TB, ocspURL string, fwid ...byte) *Device {
	d := &Device{ocspURL: ocspURL}
	d.Root = Issue(t, "Probity Test Device Identity CA", nil, true, nil)
	d.ICA = Issue(t, "NVIDIA GH100 Provisioner ICA 1", d.Root, true, d.aia)
	d.issueDevice(t, fwid)
	return d
}

// Sibling is another GPU of the same provisioning as d (one root and provisioner CA, as the
// GPUs of one HGX board have): its own BROM certificate and leaf.
func (d *Device) Sibling(t testing.TB, fwid ...byte) *Device {
	s := &Device{Root: d.Root, ICA: d.ICA, ocspURL: d.ocspURL}
	s.issueDevice(t, fwid)
	return s
}

func (d *Device) aia(c *x509.Certificate) {
	if d.ocspURL != "" {
		c.OCSPServer = []string{d.ocspURL}
	}
}

func (d *Device) issueDevice(t testing.TB, fwid []byte) {
	d.BROM = Issue(t, "GH100 A01 GSP BROM", d.ICA, true, d.aia)
	d.Leaf = Issue(t, "GH100 A01 GSP FMC LF", d.BROM, false, func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: DeviceNameSAN(t, "NVIDIA:GH100:"+DeviceUEID)}}
		if len(fwid) > 0 {
			tcb, err := asn1.Marshal(fwid) // an OCTET STRING: the FWID is its tail
			if err != nil {
				t.Fatal(err)
			}
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: OIDTCBInfo, Value: tcb})
		}
	})
	for _, c := range []*Cert{d.Leaf, d.BROM, d.ICA, d.Root} {
		d.Chain = append(d.Chain, c.PEM()...)
	}
}

// SPDM layout of a report, as NVML returns it: the 37-byte GET_MEASUREMENTS request carries
// the verifier's nonce at bytes 4..36; the last 96 bytes are the P-384 signature r || s over
// SHA-384 of everything before them.
const (
	reportNonceAt = 4
	signatureSize = 96
)

// SignReport returns a copy of an SPDM report with the request nonce replaced by nonce (when
// not nil) and re-signed by key, so that NVIDIA's sample reports can stand for a test device's.
func SignReport(t testing.TB, report []byte, key *ecdsa.PrivateKey, nonce *[32]byte) []byte {
	t.Helper()
	if len(report) < 37+signatureSize {
		t.Fatalf("attesttest: report of %d bytes is too short", len(report))
	}
	rep := append([]byte(nil), report...)
	if nonce != nil {
		copy(rep[reportNonceAt:reportNonceAt+32], nonce[:])
	}
	h := sha512.Sum384(rep[:len(rep)-signatureSize])
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	r.FillBytes(rep[len(rep)-signatureSize : len(rep)-48])
	s.FillBytes(rep[len(rep)-48:])
	return rep
}

// Responder is an OCSP responder over HTTP (RFC 6960 appendix A, POST only) for the
// certificates the given issuers signed. Every certificate is good unless Revoke, Hold or
// Unknown said otherwise.
type Responder struct {
	URL string

	// Age is how long before now a response's thisUpdate is (default an hour) and Validity
	// how long after thisUpdate its nextUpdate is (default a week); NoNextUpdate leaves
	// nextUpdate out. A Validity shorter than Age makes stale responses.
	Age, Validity time.Duration
	NoNextUpdate  bool
	// WrongKey signs responses with a key that is not the issuer's.
	WrongKey bool
	// Pad appends this many bytes to every response body (for size limits).
	Pad int

	srv      *httptest.Server
	issuers  []*Cert
	stranger *Cert

	mu       sync.Mutex
	status   map[string][2]int // serial -> status, reason
	requests map[string]int    // serial -> requests
	closed   bool
}

// NewResponder starts a responder for the certificates issuers signed; it is closed when the
// test ends.
func NewResponder(t testing.TB, issuers ...*Cert) *Responder {
	r := &Responder{issuers: issuers, status: map[string][2]int{}, requests: map[string]int{},
		stranger: Issue(t, "Not the issuer", nil, true, nil)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.Close)
	return r
}

// AddIssuers makes the responder answer for the certificates these CAs signed too (a
// device chain built after the responder, so that it can name the responder's URL).
func (r *Responder) AddIssuers(cas ...*Cert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.issuers = append(r.issuers, cas...)
}

// Revoke makes c revoked with reason (ocsp.KeyCompromise, ...).
func (r *Responder) Revoke(c *x509.Certificate, reason int) { r.set(c, ocsp.Revoked, reason) }

// Hold puts c on hold (revoked with reason certificateHold).
func (r *Responder) Hold(c *x509.Certificate) { r.set(c, ocsp.Revoked, ocsp.CertificateHold) }

// Unknown makes the responder answer "unknown" about c.
func (r *Responder) Unknown(c *x509.Certificate) { r.set(c, ocsp.Unknown, 0) }

// Good makes c good again (a hold released).
func (r *Responder) Good(c *x509.Certificate) { r.set(c, ocsp.Good, 0) }

func (r *Responder) set(c *x509.Certificate, status, reason int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status[c.SerialNumber.String()] = [2]int{status, reason}
}

// Requests is how many requests asked about c.
func (r *Responder) Requests(c *x509.Certificate) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[c.SerialNumber.String()]
}

// Total is how many requests the responder answered or refused.
func (r *Responder) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.requests {
		n += k
	}
	return n
}

// Close stops the server: from then on the responder is unreachable.
func (r *Responder) Close() {
	r.mu.Lock()
	closed := r.closed
	r.closed = true
	r.mu.Unlock()
	if !closed {
		r.srv.Close()
	}
}

func (r *Responder) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/ocsp-request" {
		http.Error(w, "POST an application/ocsp-request", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q, err := ocsp.ParseRequest(body)
	if err != nil {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	r.mu.Lock()
	issuer := r.issuerOf(q)
	r.requests[q.SerialNumber.String()]++
	st, ok := r.status[q.SerialNumber.String()]
	age, validity, noNext, wrong, pad := r.Age, r.Validity, r.NoNextUpdate, r.WrongKey, r.Pad
	r.mu.Unlock()
	if issuer == nil {
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(ocsp.UnauthorizedErrorResponse)
		return
	}
	if !ok {
		st = [2]int{ocsp.Good, 0}
	}
	if age == 0 {
		age = time.Hour
	}
	if validity == 0 {
		validity = 7 * 24 * time.Hour
	}
	this := time.Now().Add(-age).UTC().Truncate(time.Second)
	tmpl := ocsp.Response{Status: st[0], SerialNumber: q.SerialNumber, ThisUpdate: this, RevokedAt: this.Add(-time.Hour), RevocationReason: st[1]}
	if !noNext {
		tmpl.NextUpdate = this.Add(validity)
	}
	key := issuer.Key
	if wrong {
		key = r.stranger.Key
	}
	der, err := ocsp.CreateResponse(issuer.Cert, issuer.Cert, tmpl, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(append(der, make([]byte, pad)...))
}

// issuerOf finds the issuer a request names by the hash of its public key (r.mu held).
func (r *Responder) issuerOf(q *ocsp.Request) *Cert {
	if !q.HashAlgorithm.Available() {
		return nil
	}
	for _, c := range r.issuers {
		var spki struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(c.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
			continue
		}
		h := crypto.Hash(q.HashAlgorithm).New()
		h.Write(spki.PublicKey.RightAlign())
		if string(h.Sum(nil)) == string(q.IssuerKeyHash) {
			return c
		}
	}
	return nil
}
