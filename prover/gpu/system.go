package gpu

import (
	"fmt"
	"slices"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/probitylabs/probity/attestation"
)

// A multi-GPU job (an HGX node in protected-PCIe mode) runs on several GPUs, and a receipt must
// carry the evidence of every one of them: the record's identity and report describe the
// collector's device, and cc.gpus the others (spec §9.1), each a report the GPU signed over
// the same job nonce with its own certificate chain. NVSwitch evidence (cc.switches) comes
// from NVIDIA's NSCQ library, which go-nvml does not bind, so the collector does not gather it.

// AddPeers opens the other GPUs a job runs on, by NVML index, so that their evidence goes into
// cc.gpus of every CC record. Each index must exist and be named once, and not be the
// collector's own device.
func (c *Collector) AddPeers(indices ...int) error {
	n, ret := c.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return &NVMLError{"DeviceGetCount", ret}
	}
	if len(c.peers)+len(indices) > attestation.MaxSystemDevices {
		return fmt.Errorf("gpu: %d peer GPUs, a record carries at most %d", len(c.peers)+len(indices), attestation.MaxSystemDevices)
	}
	// All or nothing: a refused index leaves the peers as they were.
	peers, idx := slices.Clone(c.peers), slices.Clone(c.peerIdx)
	for _, i := range indices {
		switch {
		case i < 0 || i >= n:
			return fmt.Errorf("gpu: peer device index %d, NVML sees %d devices", i, n)
		case i == c.index || slices.Contains(idx, i):
			return fmt.Errorf("gpu: device index %d named twice (the record's GPU is %d, peers %v)", i, c.index, idx)
		}
		dev, ret := c.lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return fmt.Errorf("gpu: peer %d: %w", i, &NVMLError{"DeviceGetHandleByIndex", ret})
		}
		peers, idx = append(peers, dev), append(idx, i)
	}
	c.peers, c.peerIdx = peers, idx
	return nil
}

// Peers are the NVML indices of the peer GPUs, in the order of cc.gpus.
func (c *Collector) Peers() []int { return slices.Clone(c.peerIdx) }

// CertChains reads the attestation certificate chains of the collector's GPU and of its
// peers, in that order, without asking for reports: the provider checks their revocation
// before it takes a job.
func (c *Collector) CertChains() ([][]byte, error) {
	out := make([][]byte, 0, 1+len(c.peers))
	for i, dev := range append([]nvml.Device{c.dev}, c.peers...) {
		chain, err := certChain(dev)
		if err != nil {
			if i > 0 {
				return nil, fmt.Errorf("peer GPU %d: %w", c.peerIdx[i-1], err)
			}
			return nil, err
		}
		out = append(out, chain)
	}
	return out, nil
}

// peerEvidence asks every peer GPU for a report over nonce; their chains are handed to staple
// as the collector's own is.
func (c *Collector) peerEvidence(nonce [32]byte, staple func([]byte) ([][]byte, error)) ([]attestation.DeviceEvidence, [][]byte, error) {
	var ev []attestation.DeviceEvidence
	var responses [][]byte
	for i, dev := range c.peers {
		report, chain, err := ccEvidence(dev, nonce)
		if err != nil {
			return nil, nil, fmt.Errorf("peer GPU %d: %w", c.peerIdx[i], err)
		}
		ev = append(ev, attestation.DeviceEvidence{Report: report, CertChain: chain})
		if staple != nil {
			fetched, err := staple(chain)
			if err != nil {
				return nil, nil, fmt.Errorf("peer GPU %d: %w", c.peerIdx[i], err)
			}
			responses = append(responses, fetched...)
		}
	}
	return ev, responses, nil
}
