package attest

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// What the device signed about itself. NVML's strings (identity.name, identity.architecture)
// come from the driver the provider runs, so a policy on "which GPU" must instead rest on the
// certificate chain NVIDIA's provisioning CA issued to the chip: the device BROM certificate's
// common name ("GH100 A01 GSP BROM"), issued by NVIDIA's per-chip provisioner CA ("NVIDIA GH100
// Provisioner ICA 1"), and the leaf's subject alternative name "NVIDIA:GH100:<ueid>" (otherName
// 1.3.6.1.4.1.412.274.1) all name the chip, and all three must agree.

// Errors of the device identity checks.
var (
	ErrChipIdentity = errors.New("certificate chain does not name one NVIDIA chip")
	ErrModelClaim   = errors.New("NVML claims a GPU other than the one that signed the evidence")
	ErrNotGPU       = errors.New("evidence is not from a GPU")
	ErrNotSwitch    = errors.New("evidence is not from an NVSwitch")
)

// DeviceKind says what kind of NVIDIA device a chip is.
type DeviceKind string

const (
	KindGPU    DeviceKind = "gpu"
	KindSwitch DeviceKind = "nvswitch"
)

// Chip describes an NVIDIA chip the verifier knows: its kind, the architecture name NVML
// reports for it (identity.architecture) and the product names (tokens of NVML's device name)
// built on it.
type Chip struct {
	Name         string // as the certificates spell it: "GH100", "GB100", "LS_10"
	Kind         DeviceKind
	Architecture string
	Products     []string
	// FWID is where the chip's leaf certificate carries its firmware id. It is a property
	// of the architecture the verified chain names, never guessed from a certificate's
	// name: an NVSwitch chain also holds an "NVIDIA GH100 Identity" CA.
	FWID FWIDLayout
}

// FWIDLayout says how a leaf certificate encodes the FWID.
type FWIDLayout int

const (
	// FWIDTcbInfoTail: the last 48 bytes of the TcbInfo extension 2.23.133.5.4.1, as
	// nvtrust reads Hopper GPUs and LS_10 NVSwitches.
	FWIDTcbInfoTail FWIDLayout = iota + 1
	// FWIDDiceTcbInfo: fwids[0].digest of a DICE TcbInfo structure in 2.23.133.5.4.1.1
	// or 2.23.133.5.4.1 (Blackwell).
	FWIDDiceTcbInfo
)

// Chips lists the chips whose evidence this package verifies. A chain naming another chip is
// refused rather than guessed at: the FWID layout and the opaque fields depend on the chip.
var Chips = []Chip{
	{Name: "GH100", Kind: KindGPU, Architecture: "hopper", Products: []string{"H100", "H800", "H200", "H20", "GH200"}, FWID: FWIDTcbInfoTail},
	{Name: "GB100", Kind: KindGPU, Architecture: "blackwell", Products: []string{"B100", "B200", "GB200"}, FWID: FWIDDiceTcbInfo},
	{Name: "LS_10", Kind: KindSwitch, Architecture: "nvswitch", FWID: FWIDTcbInfoTail},
}

// ChipByName returns the known chip with that certificate name.
func ChipByName(name string) (Chip, bool) {
	for _, c := range Chips {
		if c.Name == name {
			return c, true
		}
	}
	return Chip{}, false
}

// ChipForProduct returns the chip an NVML device name ("NVIDIA H100 80GB HBM3") is built on:
// the first word of the name that is a known product.
func ChipForProduct(nvmlName string) (Chip, bool) {
	for _, w := range strings.Fields(nvmlName) {
		for _, c := range Chips {
			for _, p := range c.Products {
				if strings.EqualFold(w, p) {
					return c, true
				}
			}
		}
	}
	return Chip{}, false
}

// DeviceIdentity is what a verified chain says about the device.
type DeviceIdentity struct {
	Chip Chip
	// UEID is the device's unique id from the leaf's subject alternative name, upper-case hex
	// as NVIDIA writes it; empty when the leaf has none.
	UEID string
	// DeviceCertificate is the DER of the device (BROM) certificate, which NVIDIA's
	// provisioning CA issued to this one chip: two pieces of evidence with the same one come
	// from the same device.
	DeviceCertificate []byte
}

var oidNVIDIADeviceName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 412, 274, 1}

// IdentifyDevice reads the chip identity from a device chain, leaf first (leaf, device BROM
// certificate, provisioner CA, ...). It does not verify the chain; callers use it on chains
// VerifyChain accepted, so that every name it reads was signed by NVIDIA or by the chip.
func IdentifyDevice(certs []*x509.Certificate) (DeviceIdentity, error) {
	if len(certs) < 3 {
		return DeviceIdentity{}, fmt.Errorf("%w: %d certificates, want leaf, device and provisioner CA", ErrChipIdentity, len(certs))
	}
	// "GH100 A01 GSP BROM": chip, revision, security processor, stage.
	brom := strings.Fields(certs[1].Subject.CommonName)
	if len(brom) < 2 {
		return DeviceIdentity{}, fmt.Errorf("%w: device certificate %q names no chip", ErrChipIdentity, certs[1].Subject.CommonName)
	}
	name := brom[0]
	// "NVIDIA GH100 Provisioner ICA 1".
	if ica := strings.Fields(certs[2].Subject.CommonName); len(ica) < 3 || ica[0] != "NVIDIA" || ica[1] != name || ica[2] != "Provisioner" {
		return DeviceIdentity{}, fmt.Errorf("%w: device certificate names %s, its issuer is %q", ErrChipIdentity, name, certs[2].Subject.CommonName)
	}
	if leaf := strings.Fields(certs[0].Subject.CommonName); len(leaf) == 0 || leaf[0] != name {
		return DeviceIdentity{}, fmt.Errorf("%w: leaf %q, device certificate %s", ErrChipIdentity, certs[0].Subject.CommonName, name)
	}
	id := DeviceIdentity{DeviceCertificate: certs[1].Raw}
	san, err := leafDeviceName(certs[0])
	if err != nil {
		return DeviceIdentity{}, err
	}
	if san != "" {
		// "NVIDIA:GH100:48B02D92494BADF4"
		parts := strings.Split(san, ":")
		if len(parts) != 3 || parts[0] != "NVIDIA" || parts[1] != name || parts[2] == "" {
			return DeviceIdentity{}, fmt.Errorf("%w: leaf names the device %q, device certificate %s", ErrChipIdentity, san, name)
		}
		id.UEID = parts[2]
	}
	chip, ok := ChipByName(name)
	if !ok {
		return DeviceIdentity{}, fmt.Errorf("%w: chip %q is not one this verifier knows", ErrChipIdentity, name)
	}
	id.Chip = chip
	return id, nil
}

// leafDeviceName returns the UTF8String of the leaf's NVIDIA otherName, "" when it has none:
// SubjectAltName ::= SEQUENCE OF GeneralName; otherName [0] { type-id OID, value [0] EXPLICIT ANY }.
func leafDeviceName(leaf *x509.Certificate) (string, error) {
	oidSAN := asn1.ObjectIdentifier{2, 5, 29, 17}
	for _, e := range leaf.Extensions {
		if !e.Id.Equal(oidSAN) {
			continue
		}
		in := cryptobyte.String(e.Value)
		var names cryptobyte.String
		if !in.ReadASN1(&names, cbasn1.SEQUENCE) || !in.Empty() {
			return "", fmt.Errorf("%w: leaf subject alternative names do not parse", ErrChipIdentity)
		}
		for !names.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !names.ReadAnyASN1(&gn, &tag) {
				return "", fmt.Errorf("%w: leaf subject alternative name truncated", ErrChipIdentity)
			}
			if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
				continue // only otherName
			}
			var oid asn1.ObjectIdentifier
			var val, s cryptobyte.String
			if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) {
				return "", fmt.Errorf("%w: leaf otherName malformed", ErrChipIdentity)
			}
			if !oid.Equal(oidNVIDIADeviceName) {
				continue
			}
			if !val.ReadASN1(&s, cbasn1.UTF8String) || !val.Empty() {
				return "", fmt.Errorf("%w: leaf device name is not a UTF8String", ErrChipIdentity)
			}
			return string(s), nil
		}
	}
	return "", nil
}

// checkClaimsAgree compares NVML's unsigned name and architecture with the signed chip.
func checkClaimsAgree(id DeviceIdentity, name, arch string) error {
	if name == "" {
		return fmt.Errorf("%w: NVML names no device, the evidence is from a %s", ErrModelClaim, id.Chip.Name)
	}
	claimed, ok := ChipForProduct(name)
	switch {
	case !ok:
		return fmt.Errorf("%w: NVML name %q is not a product this verifier can tie to the signed chip %s", ErrModelClaim, name, id.Chip.Name)
	case claimed.Name != id.Chip.Name:
		return fmt.Errorf("%w: NVML says %q (a %s), the evidence was signed by a %s", ErrModelClaim, name, claimed.Name, id.Chip.Name)
	case arch != "" && !strings.EqualFold(arch, id.Chip.Architecture):
		return fmt.Errorf("%w: NVML architecture %q, the signed chip %s is %s", ErrModelClaim, arch, id.Chip.Name, id.Chip.Architecture)
	}
	return nil
}
