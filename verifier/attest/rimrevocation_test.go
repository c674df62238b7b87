package attest

import (
	"crypto/x509"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/probitylabs/probity/verifier/attest/attesttest"
)

// TestRIMRevocation: the RIM signers' chains are judged from the record's staples (spec §9.4
// step 11, rim.<kind>.revocation), every certificate but the root, the RIM signer included.
// hopper-2023's own RIMs, re-signed under test CAs (a driver signer and a VBIOS signer)
// because NVIDIA publishes no RIM signer with a response to staple, pass with good staples;
// a signer or its CA on hold or revoked fails its kind's check, whatever the opt-out for
// missing staples; a missing staple fails without the opt-out.
func TestRIMRevocation(t *testing.T) {
	drv, vb := attesttest.NewRIMSigner(t, ""), attesttest.NewRIMSigner(t, "")
	driverRIM := drv.Resign(t, readFile(t, driverRIM2023))
	vbiosRIM := vb.Resign(t, readFile(t, vbiosRIM2023))
	this, next := sampleAt.Add(-time.Hour), sampleAt.Add(time.Hour)
	staple := func(c, issuer *attesttest.Cert, status, reason int) []byte {
		return attesttest.Staple(t, c, issuer, nil, status, reason, this, next)
	}
	goodOf := func(s *attesttest.RIMSigner) [][]byte {
		return [][]byte{staple(s.Leaf, s.ICA, ocsp.Good, 0), staple(s.ICA, s.Root, ocsp.Good, 0)}
	}
	roots := []*x509.Certificate{drv.Root.Cert, vb.Root.Cert}
	run := func(allowMissing bool, staples ...[]byte) *Result {
		t.Helper()
		s := samples[0]
		p := &Policy{At: sampleAt, AllowMissingOCSPUnsafe: allowMissing, RIMs: [][]byte{driverRIM, vbiosRIM}, RIMRoots: roots}
		res, err := VerifyReport(Evidence{Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain), Nonce: nonce32(t, s.nonce),
			Claims: h100Claims(s.driver, s.vbios), OCSP: staples}, p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	good := append(goodOf(drv), goodOf(vb)...)

	// The device chain is NVIDIA's, with nothing to staple for it: only the opt-out lets the
	// device's own revocation check be skipped; the RIM checks are judged all the same.
	res := run(true, good...)
	wantCheck(t, res, "rim.driver.signature", Passed, nil)
	wantCheck(t, res, "rim.driver.chain", Passed, nil)
	wantCheck(t, res, "rim.driver.revocation", Passed, nil)
	wantCheck(t, res, "rim.vbios.revocation", Passed, nil)
	wantCheck(t, res, CheckMeasurements, Passed, nil)
	wantCheck(t, res, CheckDeviceRevocation, Skipped, nil)
	if !res.OK() {
		t.Fatal(res.Err())
	}

	t.Run("signer on hold", func(t *testing.T) {
		res := run(true, staple(drv.Leaf, drv.ICA, ocsp.Revoked, ocsp.CertificateHold), goodOf(drv)[1], goodOf(vb)[0], goodOf(vb)[1])
		wantCheck(t, res, "rim.driver.revocation", Failed, ErrRevoked)
		wantCheck(t, res, "rim.vbios.revocation", Passed, nil)
	})
	t.Run("signer's CA revoked", func(t *testing.T) {
		res := run(true, goodOf(drv)[0], goodOf(vb)[0], staple(vb.ICA, vb.Root, ocsp.Revoked, ocsp.KeyCompromise), goodOf(drv)[1])
		wantCheck(t, res, "rim.vbios.revocation", Failed, ErrRevoked)
		wantCheck(t, res, "rim.driver.revocation", Passed, nil)
	})
	t.Run("missing", func(t *testing.T) {
		res := run(false, goodOf(drv)...)
		wantCheck(t, res, "rim.driver.revocation", Passed, nil)
		wantCheck(t, res, "rim.vbios.revocation", Failed, ErrNoOCSP)
		res = run(true, goodOf(drv)...)
		wantCheck(t, res, "rim.vbios.revocation", Skipped, nil)
	})
	t.Run("stale", func(t *testing.T) {
		old := attesttest.Staple(t, vb.Leaf, vb.ICA, nil, ocsp.Good, 0, sampleAt.Add(-48*time.Hour), sampleAt.Add(-24*time.Hour))
		res := run(true, append(goodOf(drv), old, goodOf(vb)[1])...)
		wantCheck(t, res, "rim.vbios.revocation", Failed, ErrOCSPStale)
	})
	t.Run("re-signed, NVIDIA's root pinned", func(t *testing.T) {
		// A valid signature is not enough: under the pinned NVIDIA root the test signer's
		// chain fails, so anyone's re-signed (and perhaps altered) RIM is refused.
		roots = nil
		defer func() { roots = []*x509.Certificate{drv.Root.Cert, vb.Root.Cert} }()
		res := run(true, good...)
		wantCheck(t, res, "rim.driver.signature", Passed, nil)
		wantCheck(t, res, "rim.driver.chain", Failed, ErrRIMChain)
		wantCheck(t, res, "rim.driver.revocation", Skipped, nil)
	})
}
