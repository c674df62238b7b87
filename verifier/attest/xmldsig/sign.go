package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
)

// errSignedInvalid: Sign made a document Verify refuses (a bug in one of the two).
var errSignedInvalid = errors.New("xmldsig: the signed document does not verify")

// Sign is Verify's counterpart: it returns doc with one enveloped signature of exactly the
// shape Verify accepts (c14n 1.1, SHA-384, ECDSA P-384 r || s by key) appended as the document
// element's last child, with chain (leaf first, the leaf key's certificate) in KeyInfo.
//
// NVIDIA signs the RIMs a verifier trusts; Sign exists so that tests can make RIMs under a
// test CA, whose certificates can be revoked or put on hold with a stapled OCSP response
// (NVIDIA publishes no such RIM), and so that a changed golden value can be re-signed to show
// that only the chain then tells it from NVIDIA's. It canonicalizes with Verify's own code and
// verifies its output before returning it.
func Sign(doc []byte, key *ecdsa.PrivateKey, chain []*x509.Certificate) ([]byte, error) {
	if key == nil || key.Curve != elliptic.P384() {
		return nil, fmt.Errorf("%w: the signing key is not ECDSA P-384", ErrUnsupported)
	}
	if len(chain) == 0 || len(chain) > maxCertificates {
		return nil, fmt.Errorf("%w: %d certificates, want 1 to %d", ErrUnsupported, len(chain), maxCertificates)
	}
	if pub, ok := chain[0].PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("%w: the first certificate is not the signing key's", ErrUnsupported)
	}
	root, err := parse(doc)
	if err != nil {
		return nil, err
	}
	if n := countSignatures(root); n != 0 {
		return nil, fmt.Errorf("%w: the document already has %d Signature elements", ErrUnsupported, n)
	}
	// The signature goes right before the document element's end tag, with no text around it,
	// so that the enveloped-signature transform gives back exactly the document signed here.
	end := []byte("</" + qname(root.prefix, root.local))
	at := bytes.LastIndex(doc, end)
	if at < 0 {
		return nil, fmt.Errorf("%w: no end tag of the document element (an empty-element tag cannot hold a signature)", ErrUnsupported)
	}
	digest := sha512.Sum384(canonicalize(root, nil))
	var sig bytes.Buffer
	sig.WriteString(`<Signature xmlns="` + NamespaceDSig + `"><SignedInfo>`)
	sig.WriteString(`<CanonicalizationMethod Algorithm="` + AlgC14N11 + `"/><SignatureMethod Algorithm="` + AlgECDSASHA384 + `"/>`)
	sig.WriteString(`<Reference URI=""><Transforms><Transform Algorithm="` + AlgEnveloped + `"/><Transform Algorithm="` + AlgC14N11 + `"/></Transforms>`)
	sig.WriteString(`<DigestMethod Algorithm="` + AlgSHA384 + `"/><DigestValue>` + base64.StdEncoding.EncodeToString(digest[:]) + `</DigestValue></Reference>`)
	sig.WriteString(`</SignedInfo><SignatureValue></SignatureValue><KeyInfo><X509Data>`)
	for _, c := range chain {
		sig.WriteString(`<X509Certificate>` + base64.StdEncoding.EncodeToString(c.Raw) + `</X509Certificate>`)
	}
	sig.WriteString(`</X509Data></KeyInfo></Signature>`)
	out := append(append(append([]byte(nil), doc[:at]...), sig.Bytes()...), doc[at:]...)

	// SignedInfo is canonicalized in its place in the document: inclusive c14n renders the
	// namespaces it inherits from the document element.
	tree, err := parse(out)
	if err != nil {
		return nil, err
	}
	kids, err := tree.childElements()
	if err != nil {
		return nil, err
	}
	parts, err := dsChildren(kids[len(kids)-1], "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return nil, err
	}
	h := sha512.Sum384(canonicalize(parts[0], nil))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return nil, err
	}
	rs := make([]byte, p384SignatureBytes)
	r.FillBytes(rs[:48])
	s.FillBytes(rs[48:])
	empty := []byte("<SignatureValue></SignatureValue>")
	value := []byte("<SignatureValue>" + base64.StdEncoding.EncodeToString(rs) + "</SignatureValue>")
	i := bytes.LastIndex(out, empty)
	out = append(append(append([]byte(nil), out[:i]...), value...), out[i+len(empty):]...)
	if _, err := Verify(out); err != nil {
		return nil, fmt.Errorf("%w: %w", errSignedInvalid, err)
	}
	return out, nil
}
