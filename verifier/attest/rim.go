package attest

import (
	"bytes"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/probitylabs/probity/verifier/attest/xmldsig"
)

// ErrMalformedRIM wraps RIM parse errors; ErrMeasurement reports a runtime measurement that
// matches no golden value.
var (
	ErrMalformedRIM = errors.New("malformed RIM")
	ErrMeasurement  = errors.New("measurement does not match the RIM")
)

// MaxRIMSize bounds a RIM file.
const MaxRIMSize = 1 << 20

// RIM is a TCG reference integrity manifest (SWID tag) with golden measurements. ParseRIM
// reads one without judging it; VerifyRIM also checks its XML signature and certificate chain.
type RIM struct {
	Name         string // SoftwareIdentity name, e.g. GH100
	TagID        string
	Version      string // Meta colloquialVersion: VBIOS or driver version
	Product      string // Meta product: the chip, "GH100", "LS10"
	Edition      string // Meta edition: "GPU" or "SWITCH"
	Measurements []GoldenMeasurement
	// Certificates is the signer's chain from KeyInfo, leaf first (VerifyRIM only).
	Certificates []*x509.Certificate
}

// RIMKind says which firmware a RIM describes.
type RIMKind string

const (
	RIMDriver RIMKind = "driver"
	RIMVBIOS  RIMKind = "vbios" // the GPU VBIOS, or an NVSwitch's BIOS
)

// Kind tells a driver RIM from a VBIOS RIM by its version's spelling, the only thing in the
// document that differs: a VBIOS version is five two-digit hex groups ("96.00.5E.00.01"),
// a driver version decimal ("550.144.03"). A RIM put in the wrong class cannot pass: each
// class's version is bound to a different field of the signed report.
func (r *RIM) Kind() RIMKind {
	parts := strings.Split(r.Version, ".")
	if len(parts) == 5 {
		hexPairs := true
		for _, p := range parts {
			if _, err := hex.DecodeString(p); err != nil || len(p) != 2 {
				hexPairs = false
			}
		}
		if hexPairs {
			return RIMVBIOS
		}
	}
	return RIMDriver
}

// GoldenMeasurement is one RIM Resource: index is 0-based, so it matches measurement block
// Index+1 of the report.
type GoldenMeasurement struct {
	Index        int
	Name         string
	Active       bool
	Alternatives [][]byte
}

type swidXML struct {
	XMLName xml.Name `xml:"SoftwareIdentity"`
	Name    string   `xml:"name,attr"`
	TagID   string   `xml:"tagId,attr"`
	Meta    struct {
		ColloquialVersion string `xml:"colloquialVersion,attr"`
		Product           string `xml:"product,attr"`
		Edition           string `xml:"edition,attr"`
	} `xml:"Meta"`
	Resources []struct {
		Type         string     `xml:"type,attr"`
		Index        string     `xml:"index,attr"`
		Active       string     `xml:"active,attr"`
		Alternatives string     `xml:"alternatives,attr"`
		Name         string     `xml:"name,attr"`
		Size         string     `xml:"size,attr"`
		Attrs        []xml.Attr `xml:",any,attr"`
	} `xml:"Payload>Resource"`
}

// ParseRIM reads the golden measurements of a SWID RIM.
func ParseRIM(b []byte) (*RIM, error) {
	if len(b) > MaxRIMSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedRIM, len(b), MaxRIMSize)
	}
	var x swidXML
	d := xml.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&x); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedRIM, err)
	}
	r := &RIM{Name: x.Name, TagID: x.TagID, Version: x.Meta.ColloquialVersion, Product: x.Meta.Product, Edition: x.Meta.Edition}
	if r.Version == "" {
		return nil, fmt.Errorf("%w: no Meta colloquialVersion", ErrMalformedRIM)
	}
	seen := map[int]bool{}
	for i, res := range x.Resources {
		if res.Type != "Measurement" {
			continue
		}
		idx, err := strconv.Atoi(res.Index)
		if err != nil || idx < 0 || idx > 255 {
			return nil, fmt.Errorf("%w: resource %d index %q", ErrMalformedRIM, i, res.Index)
		}
		if seen[idx] {
			return nil, fmt.Errorf("%w: index %d repeated", ErrMalformedRIM, idx)
		}
		seen[idx] = true
		alts, err := strconv.Atoi(res.Alternatives)
		if err != nil || alts < 1 || alts > 64 {
			return nil, fmt.Errorf("%w: index %d alternatives %q", ErrMalformedRIM, idx, res.Alternatives)
		}
		size, err := strconv.Atoi(res.Size)
		if err != nil || size < 1 || size > 64 {
			return nil, fmt.Errorf("%w: index %d size %q", ErrMalformedRIM, idx, res.Size)
		}
		g := GoldenMeasurement{Index: idx, Name: res.Name, Active: strings.EqualFold(res.Active, "true")}
		hashes := map[string]string{}
		for _, a := range res.Attrs {
			if strings.HasPrefix(a.Name.Local, "Hash") {
				hashes[a.Name.Local] = a.Value
			}
		}
		for k := range alts {
			h, ok := hashes["Hash"+strconv.Itoa(k)]
			if !ok {
				return nil, fmt.Errorf("%w: index %d lacks Hash%d", ErrMalformedRIM, idx, k)
			}
			v, err := hex.DecodeString(h)
			if err != nil || len(v) != size {
				return nil, fmt.Errorf("%w: index %d Hash%d is not %d bytes of hex", ErrMalformedRIM, idx, k, size)
			}
			g.Alternatives = append(g.Alternatives, v)
		}
		r.Measurements = append(r.Measurements, g)
	}
	if len(r.Measurements) == 0 {
		return nil, fmt.Errorf("%w: no measurements", ErrMalformedRIM)
	}
	return r, nil
}

// Errors of the RIM authentication and binding checks.
var (
	ErrRIMSignature = errors.New("RIM signature does not verify")
	ErrRIMChain     = errors.New("RIM certificate chain does not verify to the pinned NVIDIA RIM root")
	ErrRIMVersion   = errors.New("RIM is for another firmware version than the report's")
	ErrRIMProduct   = errors.New("RIM is for another chip than the one that signed the report")
	ErrRIMSet       = errors.New("policy RIMs are not one driver RIM and one VBIOS RIM")
)

// nvidiaRIMRootPEM is NVIDIA's CoRIM signing root, the root of every RIM signer chain
// (testdata/nvidia/rims-signed/rim_root.crt; testdata/nvidia/PROVENANCE.md).
//
//go:embed roots/nvidia_rim_root.pem
var nvidiaRIMRootPEM []byte

// NVIDIARIMRoot returns the pinned NVIDIA RIM root. Callers must not modify it.
var NVIDIARIMRoot = sync.OnceValue(func() *x509.Certificate {
	c, err := ParseCertChain(nvidiaRIMRootPEM)
	if err != nil || len(c) != 1 {
		panic("attest: embedded NVIDIA RIM root does not parse")
	}
	return c[0]
})

// VerifyRIM checks a RIM's enveloped XML signature and reads the golden values from the bytes
// the signature covers (never from the file as given). It does not verify the chain: callers
// run VerifyChain on Certificates, so that the signature and the chain are reported apart.
func VerifyRIM(b []byte) (*RIM, error) {
	if len(b) > MaxRIMSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformedRIM, len(b), MaxRIMSize)
	}
	signed, err := xmldsig.Verify(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRIMSignature, err)
	}
	r, err := ParseRIM(signed.Content)
	if err != nil {
		return nil, err
	}
	r.Certificates = signed.Certificates
	return r, nil
}

// nvdecDisabled is the NVDEC0_STATUS value under which measurement index 35 is not compared
// (nvtrust: the NVDEC engine is not measured when it is disabled).
const nvdecDisabled = 0x55

// CompareMeasurements checks the report's measurement blocks against the union of the RIMs'
// active golden measurements (driver and VBIOS RIMs must not both claim an index).
func CompareMeasurements(r *Report, rims []*RIM) error {
	golden := map[int]GoldenMeasurement{}
	for _, rim := range rims {
		for _, g := range rim.Measurements {
			if !g.Active {
				continue
			}
			if _, dup := golden[g.Index]; dup {
				return fmt.Errorf("%w: two RIMs claim measurement index %d", ErrMeasurement, g.Index)
			}
			golden[g.Index] = g
		}
	}
	skip35 := false
	if v, ok := r.Opaque(OpaqueNVDEC0Status); ok && len(v) == 1 && v[0] == nvdecDisabled {
		skip35 = true
	}
	var bad []string
	for idx := range 256 {
		g, ok := golden[idx]
		if !ok || (skip35 && idx == 35) {
			continue
		}
		blk, ok := r.Block(idx + 1)
		if !ok {
			bad = append(bad, fmt.Sprintf("%d (missing)", idx))
			continue
		}
		match := false
		for _, a := range g.Alternatives {
			if bytes.Equal(a, blk.Value) {
				match = true
				break
			}
		}
		if !match {
			bad = append(bad, strconv.Itoa(idx))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: indices %s", ErrMeasurement, strings.Join(bad, ", "))
	}
	return nil
}
