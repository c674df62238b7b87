package gpu

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"

	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/verifier/attest"
)

// StapleRequest is one OCSP request the provider sends at job time (to one of Servers,
// the responders named in the certificate, or the one it is configured with) so that the
// response can be stapled into the record: auditors check revocation offline, from the record
// alone.
type StapleRequest struct {
	Subject string   // the certificate's common name, for logs
	Servers []string // the certificate's OCSP responders (authority information access)
	DER     []byte   // the request, for an HTTP POST with Content-Type application/ocsp-request
	// Cert and Issuer are the certificate asked about and its issuer, which the response
	// must verify under (attest.CheckStaple).
	Cert, Issuer *x509.Certificate
}

// StapleRequests lists the OCSP requests for a certificate chain, leaf first: every
// certificate from index first up to the self-signed root, each asked of its issuer (the next
// certificate, or for a chain that ends below its root the one of roots that signed the last
// certificate). first is 1 for a GPU's device chain (its leaf is made at boot and has no OCSP
// status) and 0 for a RIM signer's chain, as NVIDIA's verifiers ask. The chain is parsed by
// the auditors' parser (attest.ParseCertChain), and the certificates asked about are those
// attest.CheckRevocation wants a staple for.
func StapleRequests(chain []byte, first int, roots ...*x509.Certificate) ([]StapleRequest, error) {
	certs, err := attest.ParseCertChain(chain)
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	return CertStapleRequests(certs, first, roots...)
}

// CertStapleRequests is StapleRequests over parsed certificates (a RIM's signing chain).
func CertStapleRequests(certs []*x509.Certificate, first int, roots ...*x509.Certificate) ([]StapleRequest, error) {
	var out []StapleRequest
	for i := first; i < len(certs); i++ {
		c := certs[i]
		if attest.IsSelfSigned(c) {
			break // the root is pinned by the auditor, not revocable by OCSP
		}
		issuer := attest.IssuerOf(certs, i, roots)
		if issuer == nil {
			return nil, fmt.Errorf("gpu: certificate %d (%s): no issuer in the chain or among the roots to ask OCSP about it", i, c.Subject.CommonName)
		}
		der, err := ocsp.CreateRequest(c, issuer, &ocsp.RequestOptions{Hash: crypto.SHA384})
		if err != nil {
			return nil, fmt.Errorf("gpu: OCSP request for certificate %d (%s): %w", i, c.Subject.CommonName, err)
		}
		out = append(out, StapleRequest{Subject: c.Subject.CommonName, Servers: c.OCSPServer, DER: der, Cert: c, Issuer: issuer})
	}
	return out, nil
}

// staple puts OCSP responses into the record's cc.ocsp in the canonical order (§9.2: sorted
// ascending by bytes, unique).
func staple(rec *attestation.Record, responses [][]byte) error {
	if len(responses) == 0 {
		return nil
	}
	list := make([]attestation.Hex, 0, len(responses))
	for i, r := range responses {
		if len(r) == 0 {
			return fmt.Errorf("gpu: OCSP response %d is empty", i)
		}
		list = append(list, attestation.Hex(bytes.Clone(r)))
	}
	slices.SortFunc(list, func(a, b attestation.Hex) int { return bytes.Compare(a, b) })
	list = slices.CompactFunc(list, func(a, b attestation.Hex) bool { return bytes.Equal(a, b) })
	if max := rec.CC.MaxOCSP(); len(list) > max {
		return fmt.Errorf("gpu: %d OCSP responses, this record holds at most %d", len(list), max)
	}
	rec.CC.OCSP = list
	return nil
}
