package prover

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
)

// ErrConfig matches every configuration error.
var ErrConfig = errors.New("invalid prover configuration")

// ConfigError names the configuration field at fault and where its value came from.
type ConfigError struct {
	Field  string // the JSON path, e.g. "executor.timeout"
	Source string // "file", "env PROBITY_...", "flag --...", "" for a combination
	Err    error
}

func (e *ConfigError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config %s (from %s): %v", e.Field, e.Source, e.Err)
	}
	return fmt.Sprintf("config %s: %v", e.Field, e.Err)
}

func (e *ConfigError) Unwrap() []error { return []error{ErrConfig, e.Err} }

// Duration is a time.Duration written in JSON as a Go duration string ("30s").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Config is the node's configuration. The file format is JSON (docs/prover.md,
// prover/testdata/config.example.json); every field can be overridden by an environment
// variable PROBITY_<NAME> and a flag --<name> (see Settings), with precedence
// flags > env > file > defaults.
type Config struct {
	// RPCURL is the EVM JSON-RPC endpoint (http, https, ws or an IPC path).
	RPCURL string `json:"rpcUrl"`
	// Deployment locates the Probity contracts.
	Deployment chain.Addresses `json:"deployment"`
	// DeploymentFile, instead of Deployment, names a deployment file as `probity deploy`
	// writes it (chain.ReadAddresses); the two exclude each other.
	DeploymentFile string `json:"deploymentFile,omitempty"`
	// ProviderKeyFile holds the provider account's secp256k1 key (hex, one line).
	ProviderKeyFile string `json:"providerKeyFile"`
	// NodeKeyFile holds the node key that signs receipts; empty means the provider key.
	NodeKeyFile string `json:"nodeKeyFile,omitempty"`
	// DataDir holds the journal (jobs/), the job files (work/) and the block cursor.
	DataDir string `json:"dataDir"`
	// ReceiptsDir is where signed receipts are recorded; default DataDir/receipts.
	ReceiptsDir string `json:"receiptsDir,omitempty"`
	// KeysDir is the circuit key cache; default the user cache (circuits.DefaultCache).
	KeysDir string `json:"keysDir,omitempty"`
	// Shapes are the catalogue names this node serves (it holds or builds their keys).
	Shapes []string `json:"shapes"`
	// MinPrice is the lowest price (token units, decimal) the node accepts.
	MinPrice string `json:"minPrice"`
	// DetectionFloorBps is the deployment's detection floor f0, stated in receipts.
	DetectionFloorBps uint32 `json:"detectionFloorBps"`
	// StartBlock is the first block scanned for JobPosted when no cursor exists yet.
	StartBlock uint64 `json:"startBlock"`
	// PollInterval paces event polling and block waits.
	PollInterval Duration `json:"pollInterval"`
	// Concurrency is how many jobs run at once.
	Concurrency int `json:"concurrency"`
	// FixSeed sends fixSeed itself; false lets submitProof fix it (one transaction less).
	FixSeed bool `json:"fixSeed"`
	// Withdraw pulls the credited payment after every settlement.
	Withdraw bool `json:"withdraw"`
	// PublishReceipts delivers receipts next to the job manifest (spec §8.3).
	PublishReceipts bool `json:"publishReceipts"`

	Executor ExecutorConfig `json:"executor"`
	Safety   SafetyConfig   `json:"safety"`
	GPU      GPUConfig      `json:"gpu"`
	Fetch    FetchConfig    `json:"fetch"`
	RPC      RPCConfig      `json:"rpc"`
	Log      LogConfig      `json:"log"`
	// MetricsAddr serves Prometheus metrics on http://MetricsAddr/metrics; empty: off.
	MetricsAddr string `json:"metricsAddr,omitempty"`
}

// ExecutorConfig chooses how jobs are computed.
type ExecutorConfig struct {
	// Kind is "reference" (in-process Go, CPU) or "command" (any program).
	Kind string `json:"kind"`
	// Command is the program and its arguments; {input}, {model}, {out} and {layers} are
	// replaced, and PROBITY_INPUT, PROBITY_MODEL, PROBITY_OUT, PROBITY_LAYERS are set.
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
}

// requireOCSP is gpu.requireOCSP with its default.
func (g GPUConfig) requireOCSP() bool {
	if g.RequireOCSP != nil {
		return *g.RequireOCSP
	}
	return g.RequireCC
}

// FetchConfig bounds what a job may make the node download.
type FetchConfig struct {
	MaxManifestBytes int64    `json:"maxManifestBytes"`
	MaxFileBytes     int64    `json:"maxFileBytes"`
	Timeout          Duration `json:"timeout"`
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
type LogConfig struct {
	Format string `json:"format"` // "text" or "json"
	Level  string `json:"level"`  // "debug", "info", "warn", "error"
}

// DefaultConfig returns the defaults every other source overrides.
func DefaultConfig() Config {
	return Config{
		DataDir:           "probity-prover",
		Shapes:            []string{"tiny", "demo-64"},
		MinPrice:          "0",
		DetectionFloorBps: 1000,
		PollInterval:      Duration(2 * time.Second),
		Concurrency:       1,
		FixSeed:           true,
		Withdraw:          true,
		PublishReceipts:   true,
		Executor:          ExecutorConfig{Kind: "reference", Timeout: Duration(30 * time.Minute)},
		Safety: SafetyConfig{WindowFactor: 2, WindowMargin: Duration(30 * time.Second), TxBlocks: 3,
			SelfTestEvery: Duration(10 * time.Minute), MaxExecAttempts: 3},
		GPU:   GPUConfig{Mode: "auto", Interval: Duration(100 * time.Millisecond), OCSPTimeout: Duration(10 * time.Second)},
		Fetch: FetchConfig{MaxManifestBytes: 1 << 20, MaxFileBytes: 4 << 30, Timeout: Duration(5 * time.Minute)},
		RPC: RPCConfig{Retries: 8, BackoffMin: Duration(200 * time.Millisecond), BackoffMax: Duration(15 * time.Second),
			TxStuckAfter: Duration(2 * time.Minute), FeeBumpPercent: 20},
		Log: LogConfig{Format: "text", Level: "info"},
	}
}

// Setting is one configuration field settable from a flag and an environment variable.
type Setting struct {
	Flag  string // flag name without dashes
	Field string // JSON path in the config file
	Usage string
	set   func(c *Config, v string) error
}

// Env is the setting's environment variable.
func (s Setting) Env() string {
	return "PROBITY_" + strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func addr(p func(*Config) *common.Address) func(*Config, string) error {
	return func(c *Config, v string) error {
		if !common.IsHexAddress(v) {
			return fmt.Errorf("%q is not a hex address", v)
		}
		*p(c) = common.HexToAddress(v)
		return nil
	}
}

func dur(p func(*Config) *Duration) func(*Config, string) error {
	return func(c *Config, v string) error { return p(c).UnmarshalText([]byte(v)) }
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		*p(c) = b
		return nil
	}
}

func integer[T int | int64 | uint32 | uint64](p func(*Config) *T) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
		*p(c) = T(n)
		return nil
	}
}

// Settings lists every flag/env setting, in the order the help prints them.
func Settings() []Setting {
	return []Setting{
		{"rpc-url", "rpcUrl", "EVM JSON-RPC endpoint", str(func(c *Config) *string { return &c.RPCURL })},
		{"deployment-file", "deploymentFile", "deployment file (JSON addresses, as `probity deploy` writes it) instead of the four addresses", str(func(c *Config) *string { return &c.DeploymentFile })},
		{"manager", "deployment.manager", "SLA manager address", addr(func(c *Config) *common.Address { return &c.Deployment.Manager })},
		{"providers", "deployment.providers", "provider registry address", addr(func(c *Config) *common.Address { return &c.Deployment.Providers })},
		{"shapes-registry", "deployment.shapes", "shape registry address", addr(func(c *Config) *common.Address { return &c.Deployment.Shapes })},
		{"token", "deployment.token", "token address", addr(func(c *Config) *common.Address { return &c.Deployment.Token })},
		{"provider-key-file", "providerKeyFile", "file with the provider account key (hex)", str(func(c *Config) *string { return &c.ProviderKeyFile })},
		{"node-key-file", "nodeKeyFile", "file with the receipt-signing node key (default: provider key)", str(func(c *Config) *string { return &c.NodeKeyFile })},
		{"data-dir", "dataDir", "journal, job files and cursor", str(func(c *Config) *string { return &c.DataDir })},
		{"receipts-dir", "receiptsDir", "where signed receipts are recorded (default DATA-DIR/receipts)", str(func(c *Config) *string { return &c.ReceiptsDir })},
		{"keys-dir", "keysDir", "circuit key cache (default: user cache)", str(func(c *Config) *string { return &c.KeysDir })},
		{"shapes", "shapes", "comma-separated catalogue shapes served", func(c *Config, v string) error {
			c.Shapes = nil
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					c.Shapes = append(c.Shapes, s)
				}
			}
			return nil
		}},
		{"min-price", "minPrice", "lowest accepted price (token units)", str(func(c *Config) *string { return &c.MinPrice })},
		{"detection-floor-bps", "detectionFloorBps", "deployment detection floor stated in receipts", integer(func(c *Config) *uint32 { return &c.DetectionFloorBps })},
		{"start-block", "startBlock", "first block scanned when no cursor exists", integer(func(c *Config) *uint64 { return &c.StartBlock })},
		{"poll-interval", "pollInterval", "event polling period", dur(func(c *Config) *Duration { return &c.PollInterval })},
		{"concurrency", "concurrency", "jobs in flight", integer(func(c *Config) *int { return &c.Concurrency })},
		{"fix-seed", "fixSeed", "send fixSeed (false: submitProof fixes it)", boolean(func(c *Config) *bool { return &c.FixSeed })},
		{"withdraw", "withdraw", "withdraw payments after settlement", boolean(func(c *Config) *bool { return &c.Withdraw })},
		{"publish-receipts", "publishReceipts", "deliver receipts next to the manifest", boolean(func(c *Config) *bool { return &c.PublishReceipts })},
		{"executor", "executor.kind", "reference or command", str(func(c *Config) *string { return &c.Executor.Kind })},
		{"exec-command", "executor.command", "command line of the command executor (split on spaces)", func(c *Config, v string) error {
			c.Executor.Command = strings.Fields(v)
			return nil
		}},
		{"exec-timeout", "executor.timeout", "execution timeout", dur(func(c *Config) *Duration { return &c.Executor.Timeout })},
		{"window-factor", "safety.windowFactor", "lock only jobs whose windows hold this many times the measured step time", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			c.Safety.WindowFactor = f
			return nil
		}},
		{"window-margin", "safety.windowMargin", "time added to every window check", dur(func(c *Config) *Duration { return &c.Safety.WindowMargin })},
		{"block-time", "safety.blockTime", "block time for window checks (default: measured)", dur(func(c *Config) *Duration { return &c.Safety.BlockTime })},
		{"max-exec-attempts", "safety.maxExecAttempts", "failed executions of a locked job before it is abandoned", integer(func(c *Config) *int { return &c.Safety.MaxExecAttempts })},
		{"gpu", "gpu.mode", "auto, none or require", str(func(c *Config) *string { return &c.GPU.Mode })},
		{"gpu-index", "gpu.index", "NVML device index", integer(func(c *Config) *int { return &c.GPU.Index })},
		{"gpu-interval", "gpu.interval", "telemetry sampling period", dur(func(c *Config) *Duration { return &c.GPU.Interval })},
		{"require-cc", "gpu.requireCC", "refuse to commit without a CC report", boolean(func(c *Config) *bool { return &c.GPU.RequireCC })},
		{"ocsp-url", "gpu.ocspUrl", "OCSP responder asked instead of the certificates' own (NVIDIA's service or a cache)", str(func(c *Config) *string { return &c.GPU.OCSPURL })},
		{"require-ocsp", "gpu.requireOCSP", "refuse to lock or commit without good OCSP responses for the GPU's chain (default: gpu.requireCC)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q is not a boolean", v)
			}
			c.GPU.RequireOCSP = &b
			return nil
		}},
		{"ocsp-timeout", "gpu.ocspTimeout", "timeout of one OCSP request", dur(func(c *Config) *Duration { return &c.GPU.OCSPTimeout })},
		{"fetch-timeout", "fetch.timeout", "timeout of one download", dur(func(c *Config) *Duration { return &c.Fetch.Timeout })},
		{"max-file-bytes", "fetch.maxFileBytes", "largest input or model file", integer(func(c *Config) *int64 { return &c.Fetch.MaxFileBytes })},
		{"allow-file-uris", "fetch.allowFile", "accept file:// manifests and files", boolean(func(c *Config) *bool { return &c.Fetch.AllowFile })},
		{"rpc-retries", "rpc.retries", "retries of a failed RPC call", integer(func(c *Config) *int { return &c.RPC.Retries })},
		{"tx-stuck-after", "rpc.txStuckAfter", "replace an unmined transaction after", dur(func(c *Config) *Duration { return &c.RPC.TxStuckAfter })},
		{"log-format", "log.format", "text or json", str(func(c *Config) *string { return &c.Log.Format })},
		{"log-level", "log.level", "debug, info, warn or error", str(func(c *Config) *string { return &c.Log.Level })},
		{"metrics-addr", "metricsAddr", "serve Prometheus metrics on ADDR/metrics", str(func(c *Config) *string { return &c.MetricsAddr })},
	}
}

// FlagSet binds every Setting to fs; Load applies the ones set on the command line.
type FlagSet struct {
	vals map[string]*flagVal
}

type flagVal struct {
	v   string
	set bool
}

func (f *flagVal) String() string     { return f.v }
func (f *flagVal) Set(v string) error { f.v, f.set = v, true; return nil }

// BindFlags registers one flag per Setting on fs.
func BindFlags(fs *flag.FlagSet) *FlagSet {
	out := &FlagSet{vals: map[string]*flagVal{}}
	for _, s := range Settings() {
		v := &flagVal{}
		out.vals[s.Flag] = v
		fs.Var(v, s.Flag, fmt.Sprintf("%s (env %s, config %s)", s.Usage, s.Env(), s.Field))
	}
	return out
}

// LoadConfig builds the configuration: defaults, then the JSON file at path (if not
// empty), then environment variables from environ ("K=V" pairs, os.Environ()), then the
// flags set in fs (may be nil). The result is validated.
func LoadConfig(path string, environ []string, fs *FlagSet) (Config, error) {
	c := DefaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, &ConfigError{Field: "(file)", Source: path, Err: err}
		}
		if err := decodeConfig(b, &c); err != nil {
			return c, err
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, s := range Settings() {
		if v, ok := env[s.Env()]; ok {
			if err := s.set(&c, v); err != nil {
				return c, &ConfigError{Field: s.Field, Source: "env " + s.Env(), Err: err}
			}
		}
	}
	if fs != nil {
		for _, s := range Settings() {
			if v := fs.vals[s.Flag]; v != nil && v.set {
				if err := s.set(&c, v.v); err != nil {
					return c, &ConfigError{Field: s.Field, Source: "flag --" + s.Flag, Err: err}
				}
			}
		}
	}
	if c.DeploymentFile != "" {
		if c.Deployment != (chain.Addresses{}) {
			return c, &ConfigError{Field: "deploymentFile", Err: errors.New("set either deploymentFile or the deployment addresses, not both")}
		}
		a, err := chain.ReadAddresses(c.DeploymentFile)
		if err != nil {
			return c, &ConfigError{Field: "deploymentFile", Err: err}
		}
		c.Deployment = a
	}
	return c, c.Validate()
}

// decodeConfig reads a config file strictly: unknown fields are errors naming the field.
func decodeConfig(b []byte, c *Config) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &ConfigError{Field: te.Field, Source: "file", Err: fmt.Errorf("want %v, got JSON %s", te.Type, te.Value)}
		}
		if msg := err.Error(); strings.Contains(msg, "unknown field") {
			field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
			return &ConfigError{Field: field, Source: "file", Err: errors.New("unknown field")}
		}
		return &ConfigError{Field: "(file)", Source: "file", Err: err}
	}
	if dec.More() {
		return &ConfigError{Field: "(file)", Source: "file", Err: errors.New("trailing data after the JSON object")}
	}
	return nil
}

// Validate checks every field and names the first one at fault.
func (c Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &ConfigError{Field: field, Err: fmt.Errorf(format, a...)}
	}
	if c.RPCURL == "" {
		return bad("rpcUrl", "required")
	}
	if c.Deployment.Manager == (common.Address{}) {
		return bad("deployment.manager", "required")
	}
	if c.Deployment.Providers == (common.Address{}) {
		return bad("deployment.providers", "required")
	}
	if c.ProviderKeyFile == "" {
		return bad("providerKeyFile", "required")
	}
	return c.validateRest()
}

// validateRest checks what a node needs whether it dials an RPC endpoint or is handed
// a backend (simulated chain, tests).
func (c Config) validateRest() error {
	bad := func(field, format string, a ...any) error {
		return &ConfigError{Field: field, Err: fmt.Errorf(format, a...)}
	}
	if c.DataDir == "" {
		return bad("dataDir", "required")
	}
	if len(c.Shapes) == 0 {
		return bad("shapes", "at least one shape is required")
	}
	seen := map[string]bool{}
	for i, s := range c.Shapes {
		if _, err := circuits.Lookup(s); err != nil {
			names := []string{}
			for _, cs := range circuits.Catalogue() {
				names = append(names, cs.Name)
			}
			sort.Strings(names)
			return bad(fmt.Sprintf("shapes[%d]", i), "unknown shape %q (catalogue: %s)", s, strings.Join(names, ", "))
		}
		if seen[s] {
			return bad(fmt.Sprintf("shapes[%d]", i), "duplicate shape %q", s)
		}
		seen[s] = true
	}
	if p, ok := new(big.Int).SetString(c.MinPrice, 10); !ok || p.Sign() < 0 {
		return bad("minPrice", "%q is not a non-negative decimal integer", c.MinPrice)
	}
	if c.DetectionFloorBps == 0 || c.DetectionFloorBps >= 10000 {
		return bad("detectionFloorBps", "%d is not in (0, 10000)", c.DetectionFloorBps)
	}
	if c.PollInterval <= 0 {
		return bad("pollInterval", "must be positive")
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return bad("concurrency", "%d is not in [1, 64]", c.Concurrency)
	}
	switch c.Executor.Kind {
	case "reference":
	case "command":
		if len(c.Executor.Command) == 0 {
			return bad("executor.command", "required when executor.kind is \"command\"")
		}
	default:
		return bad("executor.kind", "%q is not \"reference\" or \"command\"", c.Executor.Kind)
	}
	if c.Executor.Timeout <= 0 {
		return bad("executor.timeout", "must be positive")
	}
	if c.Safety.WindowFactor < 1 {
		return bad("safety.windowFactor", "%g is below 1: the node would lock jobs it cannot finish in time", c.Safety.WindowFactor)
	}
	if c.Safety.WindowMargin < 0 || c.Safety.BlockTime < 0 {
		return bad("safety", "windowMargin and blockTime must not be negative")
	}
	if c.Safety.TxBlocks < 1 {
		return bad("safety.txBlocks", "must be at least 1")
	}
	if c.Safety.SelfTestEvery <= 0 {
		return bad("safety.selfTestEvery", "must be positive")
	}
	if c.Safety.MaxExecAttempts < 1 {
		return bad("safety.maxExecAttempts", "must be at least 1")
	}
	switch c.GPU.Mode {
	case "auto", "none", "require":
	default:
		return bad("gpu.mode", "%q is not \"auto\", \"none\" or \"require\"", c.GPU.Mode)
	}
	if c.GPU.Mode == "none" && c.GPU.RequireCC {
		return bad("gpu.requireCC", "contradicts gpu.mode \"none\"")
	}
	if c.GPU.Index < 0 {
		return bad("gpu.index", "must not be negative")
	}
	if c.GPU.OCSPTimeout <= 0 {
		return bad("gpu.ocspTimeout", "must be positive")
	}
	if c.GPU.OCSPURL != "" {
		if u, err := url.Parse(c.GPU.OCSPURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("gpu.ocspUrl", "%q is not an http(s) URL", c.GPU.OCSPURL)
		}
	}
	if c.GPU.Interval <= 0 {
		return bad("gpu.interval", "must be positive")
	}
	if c.Fetch.MaxManifestBytes <= 0 {
		return bad("fetch.maxManifestBytes", "must be positive")
	}
	if c.Fetch.MaxFileBytes <= 0 {
		return bad("fetch.maxFileBytes", "must be positive")
	}
	if c.Fetch.Timeout <= 0 {
		return bad("fetch.timeout", "must be positive")
	}
	if c.RPC.Retries < 0 || c.RPC.Retries > 100 {
		return bad("rpc.retries", "%d is not in [0, 100]", c.RPC.Retries)
	}
	if c.RPC.BackoffMin <= 0 || c.RPC.BackoffMax < c.RPC.BackoffMin {
		return bad("rpc.backoffMin", "need 0 < backoffMin <= backoffMax")
	}
	if c.RPC.TxStuckAfter <= 0 {
		return bad("rpc.txStuckAfter", "must be positive")
	}
	if c.RPC.FeeBumpPercent < 10 || c.RPC.FeeBumpPercent > 1000 {
		return bad("rpc.feeBumpPercent", "%d is not in [10, 1000] (nodes need at least 10%% to replace)", c.RPC.FeeBumpPercent)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return bad("log.format", "%q is not \"text\" or \"json\"", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	return nil
}

func (c Config) minPrice() *big.Int {
	p, _ := new(big.Int).SetString(c.MinPrice, 10)
	return p
}

func (c Config) receiptsDir() string {
	if c.ReceiptsDir != "" {
		return c.ReceiptsDir
	}
	return filepath.Join(c.DataDir, "receipts")
}
