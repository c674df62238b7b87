package main

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/verifier/attest"
)

// Readable views of NVIDIA attestation evidence for `probity inspect`: raw SPDM reports (as
// NVML returns them, binary or hex), certificate chains, and the CC part of attestation
// records. Everything is decoded by verifier/attest; nothing here judges the evidence beyond
// the report signature under a given chain (`probity verify` runs the full policy).

// rawReport returns the report bytes when data is an SPDM GET_MEASUREMENTS exchange, either
// binary or hex text (NVIDIA's sample files, `xxd -p` output; an optional 0x prefix and
// whitespace are allowed). Text that starts like a hex report but does not decode is an error
// rather than "not a report", so a damaged file is reported as such.
func rawReport(data []byte) ([]byte, bool, error) {
	if isSPDMRequest(data) {
		return data, true, nil
	}
	s := strings.Join(strings.Fields(string(data)), "")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) < 4 || !strings.EqualFold(s[:4], "11e0") {
		return nil, false, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, true, fmt.Errorf("%w: hex text: %w", attest.ErrMalformedReport, err)
	}
	return b, true, nil
}

func isSPDMRequest(b []byte) bool {
	return len(b) >= 2 && b[0] == attest.SPDMVersion11 && b[1] == attest.CodeGetMeasurements
}

func isPEMChain(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN CERTIFICATE-----"))
}

// Opaque fields NVIDIA fills with NUL-padded ASCII; the others are binary.
var opaqueStrings = map[uint16]bool{
	attest.OpaqueCertIssuerName: true, attest.OpaqueDriverVersion: true, attest.OpaqueSKU: true,
	attest.OpaqueChipSKU: true, attest.OpaqueChipSKUMod: true, attest.OpaqueProject: true,
	attest.OpaqueProjectSKU: true, attest.OpaqueProjectSKUMod: true,
}

func printable(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// reportKind is the kind of device a report is from: the chip the chain names when there is
// one (not verified here), else the report's shape.
func reportKind(r *attest.Report, chain []*x509.Certificate) (attest.DeviceKind, *attest.Chip) {
	if len(chain) > 0 {
		if id, err := attest.IdentifyDevice(chain); err == nil {
			return id.Chip.Kind, &id.Chip
		}
	}
	if r.CheckKind(attest.KindSwitch) == nil {
		return attest.KindSwitch, nil
	}
	return attest.KindGPU, nil
}

func pdiValues(pdis []attest.PDI) string {
	words := make([]string, len(pdis))
	for i, p := range pdis {
		words[i] = p.String()
	}
	return strings.Join(words, " ")
}

func opaqueValue(r *attest.Report, kind attest.DeviceKind, f attest.OpaqueField) string {
	switch {
	case f.Type == attest.OpaqueVBIOSVersion:
		if v, ok := r.BIOSVersion(kind); ok {
			return v
		}
	case kind == attest.KindGPU && f.Type == attest.OpaqueSwitchPDI:
		if pdis, ok, err := r.SwitchPDIs(); ok && err == nil {
			return fmt.Sprintf("%d links, switch PDIs %s", len(pdis), pdiValues(pdis))
		}
	case kind == attest.KindSwitch && f.Type == attest.SwitchOpaqueGPUPDIs:
		if pdis, ok, err := r.GPUPDIs(); ok && err == nil {
			return fmt.Sprintf("GPU PDIs %s; ports 0x%x", pdiValues(pdis), f.Value[len(pdis)*attest.PDISize:])
		}
	case f.Type == attest.OpaqueFeatureFlag:
		if ft, err := r.Features(); err == nil {
			return fmt.Sprintf("%s (0x%x)", ft.Mode, f.Value)
		}
	case f.Type == attest.OpaqueMsrsCnt:
		if c, ok := r.MeasurementCounts(); ok {
			words := make([]string, len(c))
			for i, n := range c {
				words[i] = fmt.Sprint(n)
			}
			return fmt.Sprintf("%d counters: %s", len(c), strings.Join(words, " "))
		}
	case opaqueStrings[f.Type]:
		if s := strings.TrimRight(string(f.Value), "\x00"); printable(s) {
			return fmt.Sprintf("%q", s)
		}
	}
	if len(f.Value) == 0 {
		return "(empty)"
	}
	return "0x" + hex.EncodeToString(f.Value)
}

// printSPDMReport prints a parsed report; with a chain it also says whether the signature
// verifies under the leaf key and whether the FWIDs agree.
func printSPDMReport(w io.Writer, indent string, r *attest.Report, chain []*x509.Certificate) {
	q, s := r.Request, r.Response
	p := func(format string, a ...any) { fmt.Fprintf(w, indent+format+"\n", a...) }
	p("NVIDIA attestation report: SPDM %d.%d GET_MEASUREMENTS exchange, %d bytes", q.SPDMVersion>>4, q.SPDMVersion&0xf, len(r.Raw))
	p("  request   param1 0x%02x (signature requested: %t), param2 0x%02x (measurements: %s), slot %d",
		q.Param1, q.Param1&1 == 1, q.Param2, blockSelector(q.Param2), q.SlotID)
	p("            nonce 0x%x", q.Nonce)
	p("  response  SPDM %d.%d MEASUREMENTS, %d blocks in %d bytes, param1 0x%02x, param2 0x%02x",
		s.SPDMVersion>>4, s.SPDMVersion&0xf, s.NumberOfBlocks, s.MeasurementRecordLength, s.Param1, s.Param2)
	p("            responder nonce 0x%x", s.Nonce)
	kind, chip := reportKind(r, chain)
	p("  device    %s", kind)
	if v, ok := r.DriverVersion(); ok {
		p("  driver    %s", v)
	}
	if v, ok := r.BIOSVersion(kind); ok {
		p("  VBIOS     %s", v)
	}
	if v, ok := r.Board(); ok {
		p("  board     %s (PROJECT_PROJECTSKU_CHIPSKU, signed; --allow-board)", v)
	}
	p("  measurement blocks (index, DMTF value type, value)")
	var zero []int
	for _, b := range s.Blocks {
		if len(b.Value) > 0 && bytes.Count(b.Value, []byte{0}) == len(b.Value) {
			zero = append(zero, int(b.Index))
			continue
		}
		p("    %2d  0x%02x  %x", b.Index, b.ValueType, b.Value)
	}
	if len(zero) > 0 {
		// Unused indices carry all-zero digests; listing them one per line buries the rest.
		p("    all-zero values: %s", ranges(zero))
	}
	p("  opaque data, %d bytes, %d fields", s.OpaqueLength, len(s.Opaque))
	for _, f := range s.Opaque {
		name := attest.OpaqueName(kind, f.Type)
		if name == "" {
			name = fmt.Sprintf("type %d (unnamed)", f.Type)
		}
		p("    %-22s %s", name, opaqueValue(r, kind, f))
	}
	p("  signature ECDSA P-384 r||s 0x%x", s.Signature)
	if len(chain) == 0 {
		return
	}
	if err := attest.VerifySignature(r, chain[0]); err != nil {
		p("  signature under the chain's leaf key: %v", err)
	} else {
		p("  signature under the chain's leaf key: verifies")
	}
	reportFWID, rok := r.Opaque(attest.OpaqueFWID)
	if chip == nil {
		p("  FWID: not compared (the chain names no chip this verifier knows, so no FWID layout)")
		return
	}
	leafFWID, ok, err := attest.LeafFWID(chain[0], *chip)
	switch {
	case err != nil:
		p("  FWID: %v", err)
	case !ok || !rok:
		p("  FWID: not compared (leaf certificate has one: %t, report has one: %t)", ok, rok)
	case bytes.Equal(leafFWID, reportFWID):
		p("  FWID: report and leaf certificate agree")
	default:
		p("  FWID: report 0x%x differs from the leaf certificate's 0x%x", reportFWID, leafFWID)
	}
}

func blockSelector(p2 byte) string {
	switch p2 {
	case 0xff:
		return "all blocks"
	case 0:
		return "count only"
	default:
		return fmt.Sprintf("block %d", p2)
	}
}

// printChain prints each certificate's subject, issuer and validity, leaf first. It does not
// verify the chain.
func printChain(w io.Writer, indent, source string, certs []*x509.Certificate) {
	fmt.Fprintf(w, "%sCertificate chain from %s: %d certificates, leaf first (not verified here; `probity verify` checks it against NVIDIA's root)\n",
		indent, source, len(certs))
	for i, c := range certs {
		fmt.Fprintf(w, "%s  [%d] subject %s\n%s      issuer  %s\n%s      valid   %s to %s\n", indent, i, c.Subject, indent, c.Issuer,
			indent, c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"))
	}
}

// printRecord prints an attestation record with its CC report and chain decoded instead of
// as hex. extraChain (from --cert-chain) is used when the record carries none.
func printRecord(w io.Writer, indent string, rec *attestation.Record, size int, extraChain []*x509.Certificate) error {
	view := *rec
	var report, chainBytes []byte
	var devices []struct {
		name string
		ev   attestation.DeviceEvidence
	}
	if rec.CC != nil {
		cc := *rec.CC
		report, chainBytes = cc.Report, cc.CertChain
		cc.Report, cc.CertChain = nil, nil
		for i, d := range cc.GPUs {
			devices = append(devices, struct {
				name string
				ev   attestation.DeviceEvidence
			}{fmt.Sprintf("cc.gpus[%d]", i), d})
		}
		for i, d := range cc.Switches {
			devices = append(devices, struct {
				name string
				ev   attestation.DeviceEvidence
			}{fmt.Sprintf("cc.switches[%d]", i), d})
		}
		cc.GPUs, cc.Switches = nil, nil
		view.CC = &cc
	}
	body, err := json.MarshalIndent(&view, indent, "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%sAttestation record %s, mode %s (%d bytes)", indent, rec.Version, rec.Mode, size)
	if report != nil || chainBytes != nil {
		fmt.Fprintf(w, "; cc.report (%d bytes) and cc.certChain (%d bytes) decoded below", len(report), len(chainBytes))
	}
	fmt.Fprintf(w, "\n%s%s\n", indent, body)
	chain := extraChain
	if len(chainBytes) > 0 {
		certs, err := attest.ParseCertChain(chainBytes)
		if err != nil {
			return fmt.Errorf("cc.certChain: %w", err)
		}
		printChain(w, indent, "cc.certChain", certs)
		chain = certs
	}
	if len(report) > 0 {
		r, err := attest.ParseReport(report)
		if err != nil {
			return fmt.Errorf("cc.report: %w", err)
		}
		printSPDMReport(w, indent, r, chain)
		if !bytes.Equal(rec.CC.Nonce, r.Request.Nonce[:]) {
			fmt.Fprintf(w, "%s  the report's request nonce differs from cc.nonce 0x%x\n", indent, []byte(rec.CC.Nonce))
		}
	}
	if len(devices) > 0 {
		fmt.Fprintf(w, "%s%d more devices of the system (cc.gpus, cc.switches) decoded below\n", indent, len(devices))
	}
	for _, d := range devices {
		if err := printDevice(w, indent, d.name, d.name+".certChain", d.ev.Report, d.ev.CertChain); err != nil {
			return err
		}
		if r, err := attest.ParseReport(d.ev.Report); err == nil && !bytes.Equal(rec.CC.Nonce, r.Request.Nonce[:]) {
			fmt.Fprintf(w, "%s  %s's request nonce differs from cc.nonce 0x%x\n", indent, d.name, []byte(rec.CC.Nonce))
		}
	}
	return nil
}

// printDevice prints one device's chain and report, as a record's or serialized evidence's.
func printDevice(w io.Writer, indent, title, name string, report, chainBytes []byte) error {
	fmt.Fprintf(w, "%s%s\n", indent, title)
	certs, err := attest.ParseCertChain(chainBytes)
	if err != nil {
		return fmt.Errorf("%s certificate chain: %w", name, err)
	}
	printChain(w, indent+"  ", name, certs)
	r, err := attest.ParseReport(report)
	if err != nil {
		return fmt.Errorf("%s report: %w", name, err)
	}
	printSPDMReport(w, indent+"  ", r, certs)
	return nil
}

// printSerialized prints NVIDIA's serialized evidence, every device's chain and report.
func printSerialized(w io.Writer, path string, evs []attest.SerializedEvidence) error {
	fmt.Fprintf(w, "NVIDIA serialized evidence from %s: %d devices (signatures checked under each chain's leaf; `probity verify` judges the evidence)\n", path, len(evs))
	for i, e := range evs {
		title := fmt.Sprintf("[%d] arch %s (%s), nonce 0x%x", i, e.Arch, e.Kind, e.Nonce)
		if err := printDevice(w, "", title, fmt.Sprintf("entry %d's certificate", i), e.Report, e.CertChain); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if r, err := attest.ParseReport(e.Report); err == nil && r.Request.Nonce != e.Nonce {
			fmt.Fprintf(w, "  the report's request nonce differs from the entry's nonce\n")
		}
	}
	return nil
}

// ranges spells ascending integers as "1, 9, 13-21".
func ranges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(xs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", xs[i], xs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
