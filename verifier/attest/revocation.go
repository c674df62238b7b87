package attest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Offline revocation. NVIDIA's verifiers ask NVIDIA's OCSP responder about every certificate
// of the device chain (but the leaf, which the GPU makes at boot) and of each RIM's chain
// (but the root). An auditor that works offline cannot ask, so the provider asks at job time
// and staples the DER responses into the record (cc.ocsp); the auditor checks each one's
// signature against the issuing certificate of the verified chain and its validity window
// against the policy's time. "On hold" (reason certificateHold) counts as revoked: a held
// device or RIM signer is exactly one NVIDIA has stopped vouching for.

// Errors of the revocation checks.
var (
	ErrRevoked     = errors.New("certificate is revoked")
	ErrNoOCSP      = errors.New("no stapled OCSP response for a certificate")
	ErrOCSP        = errors.New("stapled OCSP response does not verify")
	ErrOCSPStale   = errors.New("stapled OCSP response is not valid at the policy time")
	ErrOCSPUnknown = errors.New("OCSP responder does not know the certificate")
)

// MaxStapleAge bounds how old a response without nextUpdate may be at the policy time.
const MaxStapleAge = 7 * 24 * time.Hour

// MaxStapleSize bounds one stapled response (NVIDIA's are under 2 KB).
const MaxStapleSize = 1 << 14

// RevocationError says which certificate a revocation check failed for.
type RevocationError struct {
	Index   int    // position in the chain, leaf 0
	Subject string // common name
	Err     error
}

func (e *RevocationError) Error() string {
	return fmt.Sprintf("certificate %d (%s): %v", e.Index, e.Subject, e.Err)
}
func (e *RevocationError) Unwrap() error { return e.Err }

// ParseStaple reads a DER OCSP response without checking its signature (for inspection and
// fuzzing; CheckRevocation verifies).
func ParseStaple(der []byte) (*ocsp.Response, error) {
	if len(der) > MaxStapleSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOCSP, len(der), MaxStapleSize)
	}
	r, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOCSP, err)
	}
	return r, nil
}

// CheckRevocation checks that every certificate of a verified chain (leaf first) from index
// first up to, not including, a self-signed root has a good stapled response valid at at.
// The issuer of certificate i is certificate i+1, or for the last one the pinned root that
// issued it.
func CheckRevocation(certs []*x509.Certificate, first int, roots []*x509.Certificate, staples [][]byte, at time.Time) error {
	var errs []error
	for i := first; i < len(certs); i++ {
		c := certs[i]
		if isSelfSigned(c) {
			break // the chain's root: pinned, not revocable by OCSP
		}
		issuer := issuerOf(certs, i, roots)
		if issuer == nil {
			errs = append(errs, &RevocationError{i, c.Subject.CommonName, fmt.Errorf("%w: no issuer certificate", ErrOCSP)})
			continue
		}
		if err := checkOne(c, issuer, staples, at); err != nil {
			errs = append(errs, &RevocationError{i, c.Subject.CommonName, err})
		}
	}
	return errors.Join(errs...)
}

// CheckStaple checks one OCSP response about certificate c issued by issuer at time at, as
// CheckRevocation checks each staple: it must be about c, verify under issuer (directly or
// through a delegated OCSP signer), be valid at at and say good. The provider runs it on
// what it fetched before stapling, so that it staples only what auditors accept.
func CheckStaple(c, issuer *x509.Certificate, der []byte, at time.Time) error {
	return checkOne(c, issuer, [][]byte{der}, at)
}

// IssuerOf is the issuer of certificate i of a chain (leaf first): the next certificate, or
// for the last one the root among roots that signed it (nil when none did).
func IssuerOf(certs []*x509.Certificate, i int, roots []*x509.Certificate) *x509.Certificate {
	return issuerOf(certs, i, roots)
}

// IsSelfSigned reports whether c is a root: its own issuer, signed by its own key.
func IsSelfSigned(c *x509.Certificate) bool { return isSelfSigned(c) }

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func issuerOf(certs []*x509.Certificate, i int, roots []*x509.Certificate) *x509.Certificate {
	if i+1 < len(certs) {
		return certs[i+1]
	}
	for _, r := range roots {
		if certs[i].CheckSignatureFrom(r) == nil {
			return r
		}
	}
	return nil
}

// checkOne finds the staple about c: the one whose response names c's serial. It must then
// verify under c's issuer, directly or through a delegated responder the issuer certified for
// OCSP signing; serials are unique per issuer, so that pins it to c.
func checkOne(c, issuer *x509.Certificate, staples [][]byte, at time.Time) error {
	for _, der := range staples {
		if len(der) > MaxStapleSize {
			continue
		}
		if u, err := ocsp.ParseResponseForCert(der, c, nil); err != nil || u.SerialNumber.Cmp(c.SerialNumber) != 0 {
			continue // not about c (or not a response at all)
		}
		r, err := ocsp.ParseResponseForCert(der, c, issuer)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrOCSP, err)
		}
		return judge(r, at)
	}
	return fmt.Errorf("%w (serial %x)", ErrNoOCSP, c.SerialNumber)
}

func judge(r *ocsp.Response, at time.Time) error {
	if r.Certificate != nil {
		// x/crypto/ocsp checks that the issuer signed the delegated responder's certificate,
		// not that it was made for OCSP (RFC 6960 4.2.2.2) nor that it is valid.
		if !slices.Contains(r.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return fmt.Errorf("%w: delegated responder %q lacks the OCSP signing usage", ErrOCSP, r.Certificate.Subject.CommonName)
		}
		if at.Before(r.Certificate.NotBefore) || at.After(r.Certificate.NotAfter) {
			return fmt.Errorf("%w: delegated responder certificate not valid at %s", ErrOCSP, at.Format(time.RFC3339))
		}
	}
	switch {
	case at.Before(r.ThisUpdate):
		return fmt.Errorf("%w: thisUpdate %s is after %s", ErrOCSPStale, r.ThisUpdate.Format(time.RFC3339), at.Format(time.RFC3339))
	case !r.NextUpdate.IsZero() && at.After(r.NextUpdate):
		return fmt.Errorf("%w: nextUpdate %s is before %s", ErrOCSPStale, r.NextUpdate.Format(time.RFC3339), at.Format(time.RFC3339))
	case r.NextUpdate.IsZero() && at.Sub(r.ThisUpdate) > MaxStapleAge:
		return fmt.Errorf("%w: no nextUpdate and thisUpdate %s is older than %s", ErrOCSPStale, r.ThisUpdate.Format(time.RFC3339), MaxStapleAge)
	}
	switch r.Status {
	case ocsp.Good:
		return nil
	case ocsp.Revoked:
		if r.RevocationReason == ocsp.CertificateHold {
			return fmt.Errorf("%w: on hold (certificateHold) since %s", ErrRevoked, r.RevokedAt.Format(time.RFC3339))
		}
		return fmt.Errorf("%w: since %s, reason %d", ErrRevoked, r.RevokedAt.Format(time.RFC3339), r.RevocationReason)
	default:
		return ErrOCSPUnknown
	}
}

// revocationCheck records a CheckRevocation result as check name. With allowMissing, the
// certificates that have no staple are tolerated (and named in the skip reason); a staple
// that is present must still verify and say good.
func revocationCheck(res *Result, name string, err error, allowMissing bool) {
	if err == nil {
		res.pass(name)
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var hard, missing []error
	for _, e := range errs {
		if errors.Is(e, ErrNoOCSP) {
			missing = append(missing, e)
		} else {
			hard = append(hard, e)
		}
	}
	switch {
	case len(hard) > 0:
		res.fail(name, errors.Join(append(hard, missing...)...))
	case allowMissing:
		res.skip(name, fmt.Sprintf("policy AllowMissingOCSPUnsafe: %d certificates without a stapled response", len(missing)))
	default:
		res.fail(name, err)
	}
}
