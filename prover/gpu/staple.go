package gpu

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"

	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/attestation"
)

// parseChain reads NVML's chain, PEM blocks or concatenated DER. (verifier/attest has the
// strict parser auditors use; the provider only needs the certificates to ask about, and
// prover does not import verifier.)
func parseChain(b []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(b, []byte("-----BEGIN")) {
		return x509.ParseCertificates(b)
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("gpu: certificate %d: %w", len(certs), err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// StapleRequest is one OCSP request the provider sends at job time (to Server, NVIDIA's
// responder named in the certificate, or the one it is configured with) so that the response
// can be stapled into the record: auditors check revocation offline, from the record alone.
type StapleRequest struct {
	Subject string   // the certificate's common name, for logs
	Servers []string // the certificate's OCSP responders (authority information access)
	DER     []byte   // the request, for an HTTP POST with Content-Type application/ocsp-request
}

// StapleRequests lists the OCSP requests for a certificate chain, leaf first: every
// certificate from index first up to the self-signed root, each asked of its issuer (the next
// certificate). first is 1 for a GPU's device chain (its leaf is made at boot and has no OCSP
// status) and 0 for a RIM signer's chain, as NVIDIA's verifiers ask.
func StapleRequests(chain []byte, first int) ([]StapleRequest, error) {
	certs, err := parseChain(chain)
	if err != nil {
		return nil, err
	}
	var out []StapleRequest
	for i := first; i+1 < len(certs); i++ {
		c := certs[i]
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			break
		}
		der, err := ocsp.CreateRequest(c, certs[i+1], &ocsp.RequestOptions{Hash: crypto.SHA384})
		if err != nil {
			return nil, fmt.Errorf("gpu: OCSP request for certificate %d (%s): %w", i, c.Subject.CommonName, err)
		}
		out = append(out, StapleRequest{Subject: c.Subject.CommonName, Servers: c.OCSPServer, DER: der})
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
	if len(list) > attestation.MaxOCSPResponses {
		return fmt.Errorf("gpu: %d OCSP responses, a record holds at most %d", len(list), attestation.MaxOCSPResponses)
	}
	rec.CC.OCSP = list
	return nil
}
