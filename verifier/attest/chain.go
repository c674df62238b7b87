package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"crypto/x509"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// nvidiaDeviceRootPEM is NVIDIA's Device Identity CA, the root of every GPU certificate chain
// (nvtrust verifier/certs/verifier_device_root.pem; testdata/nvidia/PROVENANCE.md).
//
//go:embed roots/nvidia_device_identity_ca.pem
var nvidiaDeviceRootPEM []byte

// NVIDIADeviceRoot returns the pinned NVIDIA Device Identity CA. Callers must not modify it.
var NVIDIADeviceRoot = sync.OnceValue(func() *x509.Certificate {
	c, err := ParseCertChain(nvidiaDeviceRootPEM)
	if err != nil || len(c) != 1 {
		panic("attest: embedded NVIDIA root does not parse")
	}
	return c[0]
})

// Errors of the chain and signature checks.
var (
	ErrChain     = errors.New("certificate chain does not verify to the pinned NVIDIA root")
	ErrSignature = errors.New("attestation report signature does not verify")
	ErrFWID      = errors.New("FWID mismatch between report and leaf certificate")
)

// MaxChainSize bounds the chain ParseCertChain reads (NVML's buffer is 5120 bytes).
const MaxChainSize = 1 << 16

// ParseCertChain reads certificates, leaf first, as concatenated PEM blocks or concatenated DER.
func ParseCertChain(b []byte) ([]*x509.Certificate, error) {
	if len(b) > MaxChainSize {
		return nil, fmt.Errorf("%w: chain is %d bytes, limit %d", ErrChain, len(b), MaxChainSize)
	}
	var ders [][]byte
	if bytes.Contains(b, []byte("-----BEGIN")) {
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("%w: PEM block %q is not a certificate", ErrChain, blk.Type)
			}
			ders = append(ders, blk.Bytes)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: trailing data after the PEM certificates", ErrChain)
		}
	} else {
		s := cryptobyte.String(b)
		for !s.Empty() {
			var der cryptobyte.String
			if !s.ReadASN1Element(&der, cbasn1.SEQUENCE) {
				return nil, fmt.Errorf("%w: DER certificate %d truncated", ErrChain, len(ders))
			}
			ders = append(ders, der)
		}
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: no certificates", ErrChain)
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %w", ErrChain, i, err)
		}
		certs[i] = c
	}
	return certs, nil
}

var (
	oidTCBInfo      = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1}
	oidTCBInfoFWID  = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1, 1}
	oidMultiTCBInfo = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 5}
	oidUEID         = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 4}
)

// VerifyChain checks that certs, leaf first, is a chain in that order ending at (or issued by)
// one of roots, valid at the given time. The chain's own last certificate is trusted only when
// it is byte-equal to a pinned root.
func VerifyChain(certs []*x509.Certificate, roots []*x509.Certificate, at time.Time) error {
	if len(certs) == 0 {
		return fmt.Errorf("%w: empty chain", ErrChain)
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	// DICE extensions are marked critical on some parts; they carry measurements, not
	// constraints on the path, so path validation may ignore them. Copies keep the caller's
	// certificates untouched.
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		cp := *c
		cp.UnhandledCriticalExtensions = diceless(c.UnhandledCriticalExtensions)
		inter.AddCert(&cp)
	}
	leaf := *certs[0]
	leaf.UnhandledCriticalExtensions = diceless(leaf.UnhandledCriticalExtensions)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("%w: %w", ErrChain, err)
	}
	// Verify found some path; NVIDIA's verifier also requires the order given, and no spare
	// certificates.
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return fmt.Errorf("%w: certificate %d (%s) is not issued by certificate %d: %w", ErrChain, i, certs[i].Subject.CommonName, i+1, err)
		}
	}
	last := certs[len(certs)-1]
	for _, r := range roots {
		if bytes.Equal(last.Raw, r.Raw) {
			return nil
		}
		if last.CheckSignatureFrom(r) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: last certificate %q is not a pinned root nor issued by one", ErrChain, last.Subject.CommonName)
}

func diceless(oids []asn1.ObjectIdentifier) []asn1.ObjectIdentifier {
	var out []asn1.ObjectIdentifier
	for _, o := range oids {
		if !o.Equal(oidTCBInfo) && !o.Equal(oidTCBInfoFWID) && !o.Equal(oidMultiTCBInfo) && !o.Equal(oidUEID) {
			out = append(out, o)
		}
	}
	return out
}

// FWIDSize is the SHA-384 FWID length.
const FWIDSize = 48

// LeafFWID extracts the firmware id from the leaf certificate of a chip, in the layout of the
// chip's architecture (Chip.FWID; the chip comes from IdentifyDevice on the verified chain). A
// DICE TcbInfo in 2.23.133.5.4.1.1 is read as such on every chip. ok is false when the
// certificate has no FWID.
func LeafFWID(leaf *x509.Certificate, chip Chip) (fwid []byte, ok bool, err error) {
	var tcb, tcbFWID []byte
	for _, e := range leaf.Extensions {
		switch {
		case e.Id.Equal(oidTCBInfoFWID):
			tcbFWID = e.Value
		case e.Id.Equal(oidTCBInfo):
			tcb = e.Value
		}
	}
	if tcbFWID != nil {
		f, err := tcbInfoFWID(tcbFWID)
		return f, err == nil, err
	}
	if tcb == nil {
		return nil, false, nil
	}
	switch chip.FWID {
	case FWIDTcbInfoTail:
		if len(tcb) < FWIDSize {
			return nil, false, fmt.Errorf("%w: TcbInfo extension is %d bytes", ErrFWID, len(tcb))
		}
		return tcb[len(tcb)-FWIDSize:], true, nil
	case FWIDDiceTcbInfo:
		f, err := tcbInfoFWID(tcb)
		return f, err == nil, err
	default:
		return nil, false, fmt.Errorf("%w: no FWID layout known for chip %q", ErrFWID, chip.Name)
	}
}

// tcbInfoFWID reads fwids[0].digest from a DICE TcbInfo:
// SEQUENCE { ... fwids [6] IMPLICIT SEQUENCE OF SEQUENCE { hashAlg OID, digest OCTET STRING } ... }.
func tcbInfoFWID(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: TcbInfo is not a DER SEQUENCE", ErrFWID)
	}
	for !seq.Empty() {
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&el, &tag) {
			return nil, fmt.Errorf("%w: TcbInfo element truncated", ErrFWID)
		}
		if tag != cbasn1.Tag(6).ContextSpecific().Constructed() {
			continue
		}
		var fw cryptobyte.String
		var oid asn1.ObjectIdentifier
		var digest []byte
		if !el.ReadASN1(&fw, cbasn1.SEQUENCE) || !fw.ReadASN1ObjectIdentifier(&oid) || !fw.ReadASN1Bytes(&digest, cbasn1.OCTET_STRING) {
			return nil, fmt.Errorf("%w: TcbInfo fwids[0] malformed", ErrFWID)
		}
		return digest, nil
	}
	return nil, fmt.Errorf("%w: TcbInfo has no fwids", ErrFWID)
}

// VerifySignature checks the report's P-384 signature (r || s over SHA-384 of request and
// response) with the leaf certificate's key.
func VerifySignature(r *Report, leaf *x509.Certificate) error {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return fmt.Errorf("%w: leaf key is not ECDSA P-384", ErrSignature)
	}
	h := sha512.Sum384(r.Signed())
	sig := r.Response.Signature
	rr := new(big.Int).SetBytes(sig[:48])
	ss := new(big.Int).SetBytes(sig[48:])
	if !ecdsa.Verify(pub, h[:], rr, ss) {
		return ErrSignature
	}
	return nil
}

// ChainCache remembers certificate chains that verified, so that auditing many receipts from
// the same GPUs checks each chain's signatures once. A hit still checks every certificate's
// validity period at the requested time; failures are never cached. Safe for concurrent use;
// the zero value is ready. It holds at most chainCacheSize chains and is emptied when full.
type ChainCache struct {
	mu   sync.Mutex
	good map[[32]byte][]*x509.Certificate
}

const chainCacheSize = 4096

func chainKey(chain []byte, roots []*x509.Certificate) [32]byte {
	h := sha256.New()
	for _, r := range roots {
		h.Write(r.Raw)
	}
	h.Write([]byte{0})
	h.Write(chain)
	return [32]byte(h.Sum(nil))
}

// verify is VerifyChain over the encoded chain, answered from the cache when it can be.
func (c *ChainCache) verify(chain []byte, roots []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	var key [32]byte
	if c != nil {
		key = chainKey(chain, roots)
		c.mu.Lock()
		certs, ok := c.good[key]
		c.mu.Unlock()
		if ok {
			for i, cert := range certs {
				if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
					return certs, fmt.Errorf("%w: certificate %d (%s) is not valid at %s (valid %s to %s)", ErrChain, i,
						cert.Subject.CommonName, at.Format(time.RFC3339), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
				}
			}
			return certs, nil
		}
	}
	certs, err := ParseCertChain(chain)
	if err == nil {
		err = VerifyChain(certs, roots, at)
	}
	if err == nil && c != nil {
		c.mu.Lock()
		if c.good == nil || len(c.good) >= chainCacheSize {
			c.good = map[[32]byte][]*x509.Certificate{}
		}
		c.good[key] = certs
		c.mu.Unlock()
	}
	return certs, err
}
