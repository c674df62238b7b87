// Package attest verifies the attestation part of a Probity receipt offline (specs/protocol.md
// §9): the NVML claims a provider made and, on confidential-computing GPUs, the report the GPU
// signed.
//
// The report NVML returns is an SPDM 1.1 GET_MEASUREMENTS exchange: the 37-byte request with the
// verifier's nonce, then the response with the measurement blocks, the GPU's own nonce, NVIDIA's
// opaque-data TLVs (driver and VBIOS versions, FWID, ...) and an ECDSA P-384 signature over
// SHA-384 of request and response. Checking it means: the signature verifies with the leaf key
// of the certificate chain; the chain leads to NVIDIA's device identity root pinned in this
// package (the chain's own last certificate is never trusted); the request nonce is the one the
// job binds (attestation.Nonce); the FWID in the leaf certificate equals the report's; the driver
// and VBIOS versions match what NVML claimed. What a policy judges comes from what NVIDIA and the
// GPU signed: the chip named by the verified chain (NVML's name must agree with it), the
// certificates' revocation status from OCSP responses the provider stapled (checked offline at
// the policy's time), the opaque-data mode, and golden measurements from RIMs whose XML
// signature (package xmldsig) and chain to NVIDIA's pinned RIM root verify and whose chip and
// versions are the report's. Every step is a named check in the Result, passed, failed or
// skipped with its reason, and a verifier refuses to run without an explicit Policy.
//
// A multi-GPU record (an HGX node in protected-PCIe mode) also carries the other GPUs' and the
// NVSwitches' evidence. Each device is checked as the kind of chip its verified chain names,
// never as the kind its report claims to be; then the system as a whole: no device twice, one
// driver, and the topology NVIDIA's ppcie verifier requires (system.go). NVIDIA's serialized
// evidence JSON is read by ParseSerializedEvidence.
//
// The logic follows NVIDIA's nvtrust local GPU verifier; the parser checks every length before it
// slices or allocates, since reports come from untrusted providers.
package attest
