package prover

import (
	"errors"
	"time"

	"github.com/probitylabs/probity/internal/settings"
)

// ErrConfig matches every configuration error.
var ErrConfig = errors.New("invalid prover configuration")

// ConfigError names the configuration field at fault and where its value came from.
type ConfigError = settings.Error

// Duration is a time.Duration written in JSON as a Go duration string ("30s").
type Duration = settings.Duration

// ExecutorConfig chooses how jobs are computed.
type ExecutorConfig struct {
	// Kind is "reference" (in-process Go, CPU) or "command" (any program).
	Kind string `json:"kind"`
	// Command is the program and its arguments; {model}, {job} and {out} are replaced, and
	// PROBITY_MODEL, PROBITY_JOB and PROBITY_OUT are set (CommandExecutor).
	Command []string `json:"command,omitempty"`
	// Timeout bounds one execution.
	Timeout Duration `json:"timeout"`
}

// SafetyConfig sizes the checks that keep an honest node from being slashed: it locks a job
// only if each window holds WindowFactor times the node's measured time for the step, plus
// TxBlocks block times and WindowMargin.
type SafetyConfig struct {
	WindowFactor float64  `json:"windowFactor"`
	WindowMargin Duration `json:"windowMargin"`
	TxBlocks     int      `json:"txBlocks"`
	// BlockTime overrides the block time measured from the last 32 headers.
	BlockTime Duration `json:"blockTime,omitempty"`
	// SelfTestEvery re-runs the executor self-test before a lock when the last one is older.
	SelfTestEvery Duration `json:"selfTestEvery"`
	// MaxExecAttempts is how many failed executions of a locked job the node retries before
	// it abandons the job (cheaper than a slash at the commit deadline).
	MaxExecAttempts int `json:"maxExecAttempts"`
}

// GPUConfig chooses the attestation source.
type GPUConfig struct {
	// Mode: "auto" (NVML when present, else attestation mode none), "none", "require".
	Mode string `json:"mode"`
	// Index is the NVML device index.
	Index int `json:"index"`
	// Peers are the NVML indices of the other GPUs a job runs on (a multi-GPU system): in CC
	// mode each signs a report over the job's nonce, carried in the record's cc.gpus.
	Peers []int `json:"peers,omitempty"`
	// Interval is the telemetry sampling period.
	Interval Duration `json:"interval"`
	// RequireCC refuses to commit without a GPU-signed CC report.
	RequireCC bool `json:"requireCC"`
	// OCSPURL, when set, is the OCSP responder asked instead of the ones the certificates
	// name (NVIDIA's service, or an operator's cache in front of it).
	OCSPURL string `json:"ocspUrl,omitempty"`
	// RequireOCSP refuses to lock or commit when a certificate of the GPU's chain has no good
	// OCSP response to staple; unset, it follows RequireCC (auditors fail CC records without
	// staples, so a node that promises CC must not commit one).
	RequireOCSP *bool `json:"requireOCSP,omitempty"`
	// OCSPTimeout bounds one OCSP request.
	OCSPTimeout Duration `json:"ocspTimeout"`
	// RIMs are NVIDIA's signed driver and VBIOS RIM files for the versions the GPU runs: the
	// node checks them at start and staples OCSP responses for their signers' chains.
	RIMs []string `json:"rims,omitempty"`
}

// requireOCSP is gpu.requireOCSP, defaulting to gpu.requireCC.
func (g GPUConfig) requireOCSP() bool {
	if g.RequireOCSP != nil {
		return *g.RequireOCSP
	}
	return g.RequireCC
}

// FetchConfig bounds what a job may make the node download.
type FetchConfig struct {
	MaxFileBytes int64    `json:"maxFileBytes"`
	Timeout      Duration `json:"timeout"`
	// AllowFile permits file:// URIs (local deployments, tests); off for public nodes.
	AllowFile bool `json:"allowFile"`
}

// RPCConfig tunes retries and stuck-transaction replacement.
type RPCConfig struct {
	Retries      int      `json:"retries"`
	BackoffMin   Duration `json:"backoffMin"`
	BackoffMax   Duration `json:"backoffMax"`
	TxStuckAfter Duration `json:"txStuckAfter"`
	// FeeBumpPercent raises both fee caps of a replacement (geth needs at least 10).
	FeeBumpPercent int `json:"feeBumpPercent"`
}

// LogConfig chooses the log format and level.
type LogConfig = settings.Log

// defaultSections returns the defaults of the sections above.
func defaultSections() Config {
	return Config{
		Executor: ExecutorConfig{Kind: "reference", Timeout: Duration(30 * time.Minute)},
		Safety: SafetyConfig{WindowFactor: 2, WindowMargin: Duration(30 * time.Second), TxBlocks: 3,
			SelfTestEvery: Duration(10 * time.Minute), MaxExecAttempts: 3},
		GPU:   GPUConfig{Mode: "auto", Interval: Duration(100 * time.Millisecond), OCSPTimeout: Duration(10 * time.Second)},
		Fetch: FetchConfig{MaxFileBytes: 4 << 30, Timeout: Duration(5 * time.Minute)},
		RPC: RPCConfig{Retries: 8, BackoffMin: Duration(200 * time.Millisecond), BackoffMax: Duration(15 * time.Second),
			TxStuckAfter: Duration(2 * time.Minute), FeeBumpPercent: 20},
		Log: LogConfig{Format: "text", Level: "info"},
	}
}
