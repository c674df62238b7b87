// Package xmldsig verifies the XML signatures NVIDIA puts on its reference integrity manifests
// (RIMs), and nothing more general: one enveloped signature (ds:Signature a child of the
// document element) with one Reference to the whole document (URI=""), transforms
// enveloped-signature then inclusive canonicalization (c14n 1.1, or 1.0 which agrees with it on
// what this package accepts), digest SHA-384, signature ECDSA P-384 with SHA-384 (XML-DSig's
// raw r || s), and the signer's certificate chain in KeyInfo/X509Data, leaf first.
//
// General XML-DSig is a large attack surface (signature wrapping, references into other
// parts of the document, transforms that change what is signed). The defence here is to accept
// exactly that one shape and to hand back what was signed: Verify returns the canonical bytes
// of the document without its signature, and a caller reads its data from those bytes, never
// from the file as given. Verify checks the digest and the signature under the leaf key; the
// caller verifies the returned chain against a pinned root.
package xmldsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Algorithm identifiers accepted.
const (
	NamespaceDSig      = "http://www.w3.org/2000/09/xmldsig#"
	AlgC14N11          = "http://www.w3.org/2006/12/xml-c14n11"
	AlgC14N10          = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	AlgEnveloped       = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	AlgSHA384          = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	AlgECDSASHA384     = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	maxCertificates    = 8
	p384SignatureBytes = 96
)

// Errors. ErrMalformed covers XML that does not parse or is outside what this package
// canonicalizes; ErrUnsupported a signature of another shape or algorithm.
var (
	ErrMalformed   = errors.New("malformed signed XML")
	ErrUnsupported = errors.New("unsupported XML signature")
	ErrDigest      = errors.New("XML signature digest does not match the document")
	ErrSignature   = errors.New("XML signature does not verify")
)

// Signed is a verified document.
type Signed struct {
	// Content is the canonical form of the document without its signature: exactly the bytes
	// the digest covers. Read the document's data from here.
	Content []byte
	// Certificates are KeyInfo's X509Certificate elements in order; the first one's key made
	// the signature. Their chain is not verified here.
	Certificates []*x509.Certificate
}

// Verify checks doc's enveloped signature under the key of its first KeyInfo certificate.
func Verify(doc []byte) (*Signed, error) {
	root, err := parse(doc)
	if err != nil {
		return nil, err
	}
	var sig *element
	kids, err := root.childElements()
	if err != nil {
		return nil, err
	}
	for _, c := range kids {
		if c.space == NamespaceDSig && c.local == "Signature" {
			if sig != nil {
				return nil, fmt.Errorf("%w: two Signature elements", ErrUnsupported)
			}
			sig = c
		}
	}
	if sig == nil {
		return nil, fmt.Errorf("%w: no Signature element under the document element", ErrUnsupported)
	}
	if n := countSignatures(root); n != 1 {
		return nil, fmt.Errorf("%w: %d Signature elements in the document", ErrUnsupported, n)
	}
	parts, err := dsChildren(sig, "SignedInfo", "SignatureValue", "KeyInfo")
	if err != nil {
		return nil, err
	}
	signedInfo, sigValue, keyInfo := parts[0], parts[1], parts[2]
	si, err := dsChildren(signedInfo, "CanonicalizationMethod", "SignatureMethod", "Reference")
	if err != nil {
		return nil, err
	}
	if err := algorithm(si[0], AlgC14N11, AlgC14N10); err != nil {
		return nil, err
	}
	if err := algorithm(si[1], AlgECDSASHA384); err != nil {
		return nil, err
	}
	ref := si[2]
	if uri, ok := ref.attrValue("URI"); !ok || uri != "" {
		return nil, fmt.Errorf("%w: Reference URI %q, want the whole document (\"\")", ErrUnsupported, uri)
	}
	rp, err := dsChildren(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return nil, err
	}
	transforms, err := rp[0].childElements()
	if err != nil {
		return nil, err
	}
	if len(transforms) < 1 || len(transforms) > 2 {
		return nil, fmt.Errorf("%w: %d transforms, want enveloped-signature and optionally c14n", ErrUnsupported, len(transforms))
	}
	if err := isDS(transforms[0], "Transform"); err != nil {
		return nil, err
	}
	if err := algorithm(transforms[0], AlgEnveloped); err != nil {
		return nil, err
	}
	if len(transforms) == 2 {
		if err := isDS(transforms[1], "Transform"); err != nil {
			return nil, err
		}
		if err := algorithm(transforms[1], AlgC14N11, AlgC14N10); err != nil {
			return nil, err
		}
	}
	if err := algorithm(rp[1], AlgSHA384); err != nil {
		return nil, err
	}
	wantDigest, err := base64Text(rp[2], "DigestValue")
	if err != nil {
		return nil, err
	}
	sigBytes, err := base64Text(sigValue, "SignatureValue")
	if err != nil {
		return nil, err
	}
	certs, err := keyInfoCerts(keyInfo)
	if err != nil {
		return nil, err
	}

	content := canonicalize(root, sig)
	digest := sha512.Sum384(content)
	if string(digest[:]) != string(wantDigest) {
		return nil, ErrDigest
	}
	pub, ok := certs[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return nil, fmt.Errorf("%w: signing certificate key is not ECDSA P-384", ErrSignature)
	}
	if len(sigBytes) != p384SignatureBytes {
		return nil, fmt.Errorf("%w: signature is %d bytes, want %d (r || s)", ErrSignature, len(sigBytes), p384SignatureBytes)
	}
	h := sha512.Sum384(canonicalize(signedInfo, nil))
	r := new(big.Int).SetBytes(sigBytes[:48])
	s := new(big.Int).SetBytes(sigBytes[48:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return nil, ErrSignature
	}
	return &Signed{Content: content, Certificates: certs}, nil
}

func countSignatures(e *element) int {
	n := 0
	if e.space == NamespaceDSig && e.local == "Signature" {
		n++
	}
	for _, c := range e.children {
		if c.elem != nil {
			n += countSignatures(c.elem)
		}
	}
	return n
}

func isDS(e *element, local string) error {
	if e.space != NamespaceDSig || e.local != local {
		return fmt.Errorf("%w: <%s> where ds:%s belongs", ErrUnsupported, qname(e.prefix, e.local), local)
	}
	return nil
}

// dsChildren requires e's element children to be exactly the named ds: elements, in order.
func dsChildren(e *element, names ...string) ([]*element, error) {
	kids, err := e.childElements()
	if err != nil {
		return nil, err
	}
	if len(kids) != len(names) {
		return nil, fmt.Errorf("%w: ds:%s has %d child elements, want %s", ErrUnsupported, e.local, len(kids), strings.Join(names, ", "))
	}
	for i, k := range kids {
		if err := isDS(k, names[i]); err != nil {
			return nil, err
		}
	}
	return kids, nil
}

func algorithm(e *element, allowed ...string) error {
	alg, _ := e.attrValue("Algorithm")
	for _, a := range allowed {
		if alg == a {
			kids, err := e.childElements()
			if err != nil {
				return err
			}
			if len(kids) != 0 {
				return fmt.Errorf("%w: ds:%s has parameters", ErrUnsupported, e.local)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: ds:%s algorithm %q", ErrUnsupported, e.local, alg)
}

func base64Text(e *element, what string) ([]byte, error) {
	t, err := e.textContent()
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(t), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64: %v", ErrMalformed, what, err)
	}
	return b, nil
}

func keyInfoCerts(keyInfo *element) ([]*x509.Certificate, error) {
	kp, err := dsChildren(keyInfo, "X509Data")
	if err != nil {
		return nil, err
	}
	els, err := kp[0].childElements()
	if err != nil {
		return nil, err
	}
	if len(els) == 0 || len(els) > maxCertificates {
		return nil, fmt.Errorf("%w: %d X509Certificate elements, want 1 to %d", ErrUnsupported, len(els), maxCertificates)
	}
	certs := make([]*x509.Certificate, len(els))
	for i, c := range els {
		if err := isDS(c, "X509Certificate"); err != nil {
			return nil, err
		}
		der, err := base64Text(c, "X509Certificate")
		if err != nil {
			return nil, err
		}
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%w: certificate %d: %v", ErrMalformed, i, err)
		}
	}
	return certs, nil
}
