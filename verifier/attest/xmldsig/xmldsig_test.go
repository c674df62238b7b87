package xmldsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const nvdir = "../../../testdata/nvidia"

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nvdir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const goodRIM = "rims-signed/NV_GPU_DRIVER_GH100_550.144.03.xml"

// TestNVIDIASamples: NVIDIA's signed RIMs verify, their broken twins do not (testdata/nvidia
// PROVENANCE.md). A broken chain is not this package's business: its signature is sound.
func TestNVIDIASamples(t *testing.T) {
	for name, want := range map[string]error{
		goodRIM: nil,
		"rims-signed/incorrect_signature_driver_rim.xml":                             ErrSignature,
		"rims-signed/incorrect_cert_chain_driver_rim.xml":                            nil,
		"rims-signed/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml":         ErrDigest,
		"rims-signed/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml": nil,
		"rims/Driver_RIM_test_no_gpu.swidtag":                                        nil,
		"rims/1010_0200_882_96005E0001_test_no_gpu.swidtag":                          nil,
		"rims/1010_0200_882_96005E0001_PROD.swidtag":                                 nil,
		"switch/switchVBIOSRim_NV_SWITCH_BIOS_5612_0002_890_9610550001.xml":          nil,
		"switch/NV_SWITCH_BIOS_5612_0002_890_9610550001_invalid_signature.xml":       ErrDigest,
		"switch/NV_SWITCH_BIOS_5612_0002_890_9610550001_measurement_mismatch.xml":    ErrDigest,
	} {
		s, err := Verify(read(t, name))
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", name, err, want)
			continue
		}
		if err == nil && (len(s.Certificates) < 2 || bytes.Contains(s.Content, []byte("Signature")) || !bytes.HasPrefix(s.Content, []byte("<SoftwareIdentity "))) {
			t.Errorf("%s: %d certificates, content %.60q", name, len(s.Certificates), s.Content)
		}
	}
}

// TestTampering changes the signed document in ways a wrapping or substitution attack would
// and expects each to be refused.
func TestTampering(t *testing.T) {
	doc := read(t, goodRIM)
	sigAt := bytes.Index(doc, []byte("<ds:Signature "))
	sigEnd := bytes.Index(doc, []byte("</ds:Signature>")) + len("</ds:Signature>")
	sigEl := doc[sigAt:sigEnd]
	replace := func(old, new string) []byte {
		if !bytes.Contains(doc, []byte(old)) {
			t.Fatalf("sample lacks %q", old)
		}
		return bytes.Replace(doc, []byte(old), []byte(new), 1)
	}
	cases := map[string]struct {
		doc  []byte
		want error
	}{
		"golden value":     {replace(`ns2:Hash0="4a5e4b3d`, `ns2:Hash0="4a5e4b3e`), ErrDigest},
		"version":          {replace(`colloquialVersion="550.144.03"`, `colloquialVersion="550.144.04"`), ErrDigest},
		"added element":    {replace(`<ns0:Payload `, `<ns0:Evil/><ns0:Payload `), ErrDigest},
		"signed info":      {replace(`<ds:DigestValue>B`, `<ds:DigestValue> B`), ErrSignature},
		"second signature": {append(append(bytes.Clone(doc[:sigAt]), sigEl...), doc[sigAt:]...), ErrUnsupported},
		"signature moved into Payload": {func() []byte {
			rest := append(bytes.Clone(doc[:sigAt]), doc[sigEnd:]...)
			i := bytes.Index(rest, []byte("</ns0:Payload>"))
			return append(append(rest[:i:i], sigEl...), rest[i:]...)
		}(), ErrUnsupported},
		"reference to a fragment": {replace(`<ds:Reference URI=""`, `<ds:Reference URI="#x"`), ErrUnsupported},
		"other digest":            {replace(`xmldsig-more#sha384"/><ds:DigestValue`, `xmldsig-more#sha256"/><ds:DigestValue`), ErrUnsupported},
		"other c14n":              {replace(`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>`, `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`), ErrUnsupported},
		"extra transform":         {replace(`<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>`, `<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/><ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>`), ErrUnsupported},
		"no signature":            {append(bytes.Clone(doc[:sigAt]), doc[sigEnd:]...), ErrUnsupported},
		"doctype":                 {append([]byte(`<!DOCTYPE x [<!ENTITY e "v">]>`), doc...), ErrMalformed},
		"xml attribute":           {replace(`<ns0:Payload `, `<ns0:Payload xml:lang="en" `), ErrMalformed},
		"undeclared":              {replace(`<ns0:Payload `, `<ns9:Payload `), ErrMalformed},
		"unclosed":                {doc[:len(doc)-40], ErrMalformed},
		"bad cert base64":         {replace(`<ds:X509Certificate>MII`, `<ds:X509Certificate>!MII`), ErrMalformed},
	}
	for name, c := range cases {
		if _, err := Verify(c.doc); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// Comments are not signed content (c14n without comments); an XML declaration and
	// whitespace around the document element are not either.
	withComment := append([]byte("<?xml version=\"1.0\"?>\n<!-- x -->\n"), replace(`<ns0:Payload `, `<!-- note --><ns0:Payload `)...)
	if _, err := Verify(withComment); err != nil {
		t.Errorf("comment and declaration: %v", err)
	}
}

// TestCanonicalForm pins details of inclusive c14n on a small document.
func TestCanonicalForm(t *testing.T) {
	in := `<?xml version="1.0"?><a xmlns="urn:d" xmlns:p="urn:p" z="1" p:b="&amp;&lt;&gt;&quot;" a="2"><p:c xmlns:p="urn:p" xmlns:q="urn:q">x &gt; &#xD; y<e/></p:c><f xmlns=""/></a>`
	root, err := parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `<a xmlns="urn:d" xmlns:p="urn:p" a="2" z="1" p:b="&amp;&lt;>&quot;"><p:c xmlns:q="urn:q">x &gt; &#xD; y<e></e></p:c><f xmlns=""></f></a>`
	if got := string(canonicalize(root, nil)); got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	// A subtree apex carries every namespace in scope.
	c := root.children[0].elem
	if got := string(canonicalize(c, nil)); !strings.HasPrefix(got, `<p:c xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q">`) {
		t.Fatalf("apex %s", got)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(read(f, goodRIM))
	f.Add(read(f, "rims-signed/incorrect_cert_chain_driver_rim.xml"))
	f.Add([]byte(`<a xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature/></a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Verify(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrDigest) && !errors.Is(err, ErrSignature) {
				t.Fatalf("error %v is none of the package's", err)
			}
			return
		}
		// What verified re-parses, and canonicalizing it again changes nothing.
		root, err := parse(s.Content)
		if err != nil {
			t.Fatalf("verified content does not parse: %v", err)
		}
		if !bytes.Equal(canonicalize(root, nil), s.Content) {
			t.Fatal("canonical form is not a fixed point")
		}
	})
}
