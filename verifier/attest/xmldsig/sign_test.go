package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

// testSigner is a self-signed P-384 certificate and its key (this package's tests cannot use
// attesttest, which signs RIMs with this package).
type testSigner struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

func newSigner(t testing.TB) *testSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Probity Test RIM Signer"},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testSigner{c, key}
}

// unsigned is NVIDIA's signed driver RIM with its Signature element cut out.
func unsigned(t testing.TB) []byte {
	t.Helper()
	doc := read(t, goodRIM)
	at := bytes.Index(doc, []byte("<ds:Signature "))
	end := bytes.Index(doc, []byte("</ds:Signature>")) + len("</ds:Signature>")
	return append(append([]byte(nil), doc[:at]...), doc[end:]...)
}

// TestSignMatchesNVIDIA: NVIDIA's RIM, its signature cut out and signed again under a test key,
// verifies, and what the new signature covers is byte for byte what NVIDIA's covers: Sign's
// digest is over the same canonical document as NVIDIA's signer's. Changing a golden value
// after signing breaks the digest.
func TestSignMatchesNVIDIA(t *testing.T) {
	nv, err := Verify(read(t, goodRIM))
	if err != nil {
		t.Fatal(err)
	}
	signer := newSigner(t)
	doc, err := Sign(unsigned(t), signer.Key, []*x509.Certificate{signer.Cert})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Verify(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Content, nv.Content) {
		t.Fatal("the re-signed document covers other bytes than NVIDIA's signature")
	}
	if len(s.Certificates) != 1 || !s.Certificates[0].Equal(signer.Cert) {
		t.Fatalf("KeyInfo holds %d certificates, not the signer's", len(s.Certificates))
	}
	i := bytes.Index(doc, []byte(`Hash0="`)) + len(`Hash0="`)
	bad := bytes.Clone(doc)
	bad[i] ^= 1 // 'a' <-> '`' or a digit change: either way not the signed value
	if _, err := Verify(bad); !errors.Is(err, ErrDigest) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("a golden value changed after signing: %v", err)
	}
}

// TestSignRefuses: a signed document, a key that is not the certificate's, and a key that is
// not P-384 are refused.
func TestSignRefuses(t *testing.T) {
	signer, other := newSigner(t), newSigner(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, c := range map[string]struct {
		doc  []byte
		key  *ecdsa.PrivateKey
		cert *x509.Certificate
	}{
		"signed already": {read(t, goodRIM), signer.Key, signer.Cert},
		"other key":      {unsigned(t), other.Key, signer.Cert},
		"P-256":          {unsigned(t), p256, signer.Cert},
		"empty element":  {[]byte(`<a/>`), signer.Key, signer.Cert},
	} {
		if _, err := Sign(c.doc, c.key, []*x509.Certificate{c.cert}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}

// FuzzSign: whatever document Sign accepts, its output verifies and covers the document's
// canonical form.
func FuzzSign(f *testing.F) {
	f.Add(unsigned(f))
	f.Add([]byte(`<a xmlns="urn:x" xmlns:p="urn:p"><p:b c="1">t</p:b></a>`))
	signer := newSigner(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := Sign(b, signer.Key, []*x509.Certificate{signer.Cert})
		if errors.Is(err, errSignedInvalid) {
			t.Fatal(err)
		}
		if err != nil {
			return
		}
		s, err := Verify(doc)
		if err != nil {
			t.Fatalf("Sign's output does not verify: %v", err)
		}
		root, err := parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.Content, canonicalize(root, nil)) {
			t.Fatal("the signature covers other bytes than the document's canonical form")
		}
	})
}
