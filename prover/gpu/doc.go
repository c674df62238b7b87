// Package gpu collects the attestation record of specs/protocol.md §9 from an NVIDIA GPU through
// NVML (github.com/NVIDIA/go-nvml): the device identity, a telemetry summary of the job window,
// per-process accounting for the job's processes, and, when the GPU runs in confidential-
// computing mode, the GPU-signed attestation report over the job nonce with its certificate
// chain.
//
// Everything goes through Lib, the slice of nvml.Interface the collector needs, so go-nvml's
// generated mocks drive it in tests and a DeviceFixture recorded from a real device replays it
// (Replay). A driver that answers NOT_SUPPORTED for a query is normal (consumer boards have no
// serial, CC is off on most machines): the field keeps its zero value and is named in the
// record's unsupported list. Where no driver or GPU is present, Open returns ErrNoGPU and the
// prover records mode "none", so a receipt states plainly that nothing was attested.
//
// The package needs cgo (go-nvml loads libnvidia-ml dynamically); build with
// CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations" to silence NVML header warnings.
package gpu
