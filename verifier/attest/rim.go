package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedRIM wraps RIM parse errors; ErrMeasurement reports a runtime measurement that
// matches no golden value.
var (
	ErrMalformedRIM = errors.New("malformed RIM")
	ErrMeasurement  = errors.New("measurement does not match the RIM")
)

// MaxRIMSize bounds a RIM file.
const MaxRIMSize = 1 << 20

// RIM is a TCG reference integrity manifest (SWID tag) with golden measurements. Its XML
// signature is not verified by this package.
type RIM struct {
	Name         string // SoftwareIdentity name, e.g. GH100
	TagID        string
	Version      string // Meta colloquialVersion: VBIOS or driver version
	Measurements []GoldenMeasurement
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
	r := &RIM{Name: x.Name, TagID: x.TagID, Version: x.Meta.ColloquialVersion}
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
