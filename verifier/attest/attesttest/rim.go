package attesttest

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/probitylabs/probity/verifier/attest/xmldsig"
)

// RIMSigner is a RIM signing chain shaped like NVIDIA's (leaf signer, an intermediate CA, and
// a test root standing in for NVIDIA's CoRIM root), whose leaf and intermediate name ocspURL
// as their OCSP responder. It re-signs NVIDIA's RIMs: NVIDIA publishes no RIM whose signer is
// revoked or on hold with a response to staple, and a re-signed RIM may state the versions of a
// replayed GPU.
type RIMSigner struct {
	Root, ICA, Leaf *Cert
}

// NewRIMSigner builds a RIM signing chain.
func NewRIMSigner(t testing.TB, ocspURL string) *RIMSigner {
	aia := func(c *x509.Certificate) {
		if ocspURL != "" {
			c.OCSPServer = []string{ocspURL}
		}
	}
	s := &RIMSigner{Root: Issue(t, "Probity Test CoRIM signing Root CA", nil, true, nil)}
	s.ICA = Issue(t, "Probity Test RIM signing ICA", s.Root, true, aia)
	s.Leaf = Issue(t, "Probity Test RIM Signer", s.ICA, false, aia)
	return s
}

// Resign cuts doc's enveloped signature out (NVIDIA's ds:Signature, the document element's
// last child), replaces each old with its new in what is left (a version, a golden value),
// and signs the result with the chain (leaf, ICA, root in KeyInfo, as NVIDIA's RIMs carry it).
func (s *RIMSigner) Resign(t testing.TB, doc []byte, replace ...string) []byte {
	t.Helper()
	at := bytes.Index(doc, []byte("<ds:Signature"))
	end := bytes.Index(doc, []byte("</ds:Signature>"))
	if at < 0 || end < at {
		t.Fatal("attesttest: the RIM has no ds:Signature to replace")
	}
	body := append(append([]byte(nil), doc[:at]...), doc[end+len("</ds:Signature>"):]...)
	for i := 0; i+1 < len(replace); i += 2 {
		if !bytes.Contains(body, []byte(replace[i])) {
			t.Fatalf("attesttest: the RIM has no %q to replace", replace[i])
		}
		body = bytes.ReplaceAll(body, []byte(replace[i]), []byte(replace[i+1]))
	}
	out, err := xmldsig.Sign(body, s.Leaf.Key, []*x509.Certificate{s.Leaf.Cert, s.ICA.Cert, s.Root.Cert})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
