package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/probitylabs/probity/prover/gpu"
	"github.com/probitylabs/probity/verifier/attest"
)

// nodeOCSP is the node's stapling policy over an OCSPStapler (spec §9.4 step 4): the GPU's
// device chain is asked about before a job is taken, so that a revoked or held GPU never
// spends a buyer's time or a lock, and again, from the cache, for the chain that signed the
// record's report.
type nodeOCSP struct {
	stapler *OCSPStapler
	require bool
	metrics *Metrics
	// rims are the requests for the RIM signers' chains (gpu.rims; loadRIMs).
	rims []gpu.StapleRequest
}

// newNodeOCSP builds the node's stapler. Its client is not the job fetcher's: the responders
// are named by NVIDIA's signed certificates or by the operator (gpu.ocspUrl, often a cache on
// the operator's network), never by a buyer, so the fetcher's refusal of private addresses
// would only stop the operator's own cache.
func newNodeOCSP(cfg Config, m *Metrics, log *slog.Logger) *nodeOCSP {
	return &nodeOCSP{
		stapler: NewOCSPStapler(OCSPOptions{URL: cfg.GPU.OCSPURL, Timeout: cfg.GPU.OCSPTimeout.D(),
			Dir: filepath.Join(cfg.DataDir, "ocsp"), Client: &http.Client{}, Log: log}),
		require: cfg.GPU.requireOCSP(),
		metrics: m,
	}
}

// staples returns the checked responses for a GPU's device chain (every certificate but the
// leaf, as NVIDIA's verifiers ask).
func (o *nodeOCSP) staples(ctx context.Context, chain []byte, log *slog.Logger) ([][]byte, error) {
	reqs, err := gpu.StapleRequests(chain, 1, attest.NVIDIADeviceRoot())
	if err != nil {
		return nil, fmt.Errorf("OCSP requests for the GPU's chain: %w", err)
	}
	return o.fetch(ctx, reqs, "GPU attestation", log)
}

// rimStaples returns the checked responses for the RIM signers' chains (none without gpu.rims).
func (o *nodeOCSP) rimStaples(ctx context.Context, log *slog.Logger) ([][]byte, error) {
	if len(o.rims) == 0 {
		return nil, nil
	}
	return o.fetch(ctx, o.rims, "RIM signing", log)
}

// fetch applies gpu.requireOCSP to the stapler's answers: a revoked or held certificate is
// always an ErrGPURevoked error; missing responses are an ErrNoStaple error when required and
// otherwise a warning (auditors then fail the receipt's revocation check unless they opt out).
func (o *nodeOCSP) fetch(ctx context.Context, reqs []gpu.StapleRequest, what string, log *slog.Logger) ([][]byte, error) {
	good, err := o.stapler.Fetch(ctx, reqs)
	switch {
	case err == nil:
		return good, nil
	case errors.Is(err, attest.ErrRevoked):
		log.Error(what+" certificate revoked or on hold: every audit of this GPU's receipts would fail; refusing jobs", "err", err)
		return nil, fmt.Errorf("%w: %w", ErrGPURevoked, err)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	missing := len(reqs) - len(good)
	o.metrics.OCSPMissing.Add(float64(missing))
	if o.require {
		return nil, fmt.Errorf("gpu.requireOCSP: %d of %d %s certificates without a good OCSP response: %w", missing, len(reqs), what, err)
	}
	log.Warn("stapling the OCSP responses that could be fetched; audits will fail this receipt's revocation check unless they opt out",
		"certificates", what, "missing", missing, "of", len(reqs), "err", err)
	return good, nil
}

// attestationRefusal is the refusal of a job for what its record would show every auditor
// ("revoked": a responder said revoked or on hold; "ocsp": gpu.requireOCSP and no good
// response; "measurements": a report that does not match gpu.rims), nil for any other error.
func attestationRefusal(err error) *Refusal {
	switch {
	case errors.Is(err, ErrGPURevoked):
		return &Refusal{Reason: "revoked", Err: err}
	case errors.Is(err, ErrNoStaple):
		return &Refusal{Reason: "ocsp", Err: err}
	case errors.Is(err, attest.ErrMeasurement):
		return &Refusal{Reason: "measurements", Err: err}
	}
	return nil
}

// checkGPURevocation runs before a job is taken on a GPU in CC mode: the responses for its
// chain and its peers' (gpu.peers) are fetched (and cached for the record), so that a revoked GPU never locks or executes a
// job, and a node that requires staples does not take one it could not commit.
func (n *Node) checkGPURevocation(ctx context.Context) (*Refusal, error) {
	if n.gpu == nil {
		return nil, nil
	}
	cc, ok, err := n.gpu.CCState()
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	if !ok || !cc.Enabled {
		return nil, nil // no CC report, nothing to staple
	}
	chains, err := n.gpu.CertChains() // the record's GPU and its peers
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	for _, chain := range chains {
		if _, err := n.ocsp.staples(ctx, chain, n.log); err != nil {
			if rf := attestationRefusal(err); rf != nil {
				return rf, nil
			}
			return nil, err
		}
	}
	if _, err := n.ocsp.rimStaples(ctx, n.log); err != nil {
		if rf := attestationRefusal(err); rf != nil {
			return rf, nil
		}
		return nil, err
	}
	return nil, nil
}
