package prover

import (
	"errors"
	"flag"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/internal/settings"
)

// Config is the node's configuration: a JSON file, overridden by environment variables
// PROBITY_<NAME> and flags --<name> (Settings), with precedence flags > env > file >
// defaults. The GPU, fetch, RPC, log and safety sections are in sections.go.
type Config struct {
	// RPCURL is the EVM JSON-RPC endpoint.
	RPCURL string `json:"rpcUrl"`
	// Deployment locates the contracts; DeploymentFile names a deployment file instead
	// (chain.ReadAddresses). The two exclude each other.
	Deployment     chain.Addresses `json:"deployment"`
	DeploymentFile string          `json:"deploymentFile,omitempty"`
	// ProviderKeyFile holds the provider account's key (hex); NodeKeyFile the key that signs
	// receipts, registered as the provider's node key (empty: the provider key).
	ProviderKeyFile string `json:"providerKeyFile"`
	NodeKeyFile     string `json:"nodeKeyFile,omitempty"`
	// DataDir holds the journal (jobs/), the job files and traces (work/), the pending
	// transactions and the block cursor.
	DataDir string `json:"dataDir"`
	// KeysDir is the circuit key cache; empty: the user cache (circuits.DefaultCache).
	KeysDir string `json:"keysDir,omitempty"`
	// Classes are the names of the width classes served (universal.Classes: "small", ...).
	Classes []string `json:"classes"`
	// Models are the model files the node holds; their roots are computed at start.
	Models []string `json:"models"`
	// OrderBooks are the order-book directory URIs offers are read from (settlement.md §8).
	OrderBooks []string `json:"orderBooks,omitempty"`
	// MinPrice is the lowest price (token base units, decimal) the node accepts.
	MinPrice string `json:"minPrice"`
	// StartBlock is the first block scanned for JobPosted when no cursor exists.
	StartBlock uint64 `json:"startBlock"`
	// PollInterval paces event polling, order-book reads and block waits.
	PollInterval Duration `json:"pollInterval"`
	// Concurrency is how many jobs execute or prove at once (waiting jobs do not count).
	Concurrency int `json:"concurrency"`
	// BatchSize is the most jobs of one class submitted in one submitBatch (1: alone);
	// BatchMaxWait is how long a proved job waits for others before its batch goes.
	BatchSize    int      `json:"batchSize"`
	BatchMaxWait Duration `json:"batchMaxWait"`
	// Withdraw collects the payment of every settled job to the provider account.
	Withdraw bool `json:"withdraw"`
	// PublishReceipts delivers receipts at receipts/<jobId>.json next to the job URI.
	PublishReceipts bool `json:"publishReceipts"`
	// SeedConfirmations is how many blocks past the seed block the node waits before it reads
	// the seed and proves: a reorganisation of the seed block changes a derived seed, and a
	// proof of the replaced one is rejected and slashed. Each is a block of the prove window
	// (checked at admission). 0 (a chain that cannot reorganise, the simulated one) proves at
	// once; the submission is simulated before it is sent in any case.
	SeedConfirmations int `json:"seedConfirmations"`
	// MaxUnlockedOffers caps the offers the node has accepted and executes but has not yet
	// locked (lockAndCommit), overall and per buyer (MaxUnlockedPerBuyer): their compute is
	// spent before the chain holds the buyer to anything. Offers over a cap wait.
	MaxUnlockedOffers   int `json:"maxUnlockedOffers"`
	MaxUnlockedPerBuyer int `json:"maxUnlockedPerBuyer"`
	// JobFetchTimeout bounds one job-file or order-book download (at most Fetch.Timeout, which
	// is sized for model files): a slow buyer's server must not hold the node's intake. Job
	// files are also bounded in size by the longest prompt a served class takes.
	JobFetchTimeout Duration `json:"jobFetchTimeout"`
	// AllowPrivateAddresses lets the node fetch job files and order books from, and publish
	// receipts to, loopback, private and link-local addresses (a local deployment). Off, the
	// node dials only public addresses and follows no redirect to another: a buyer picks the
	// URIs, and must not reach the operator's own network through the node.
	AllowPrivateAddresses bool `json:"allowPrivateAddresses,omitempty"`
	// Falsify (demonstrations and tests only) makes the node cheat: FalsifyLazy corrupts
	// every activation of its trace (it cannot prove and is slashed at its deadline);
	// FalsifyAnswer changes one element of the last logits row and so the answer's last token
	// (the sampled proof passes; a watcher's challenge slashes it); FalsifyWithhold is that
	// cheat with the trace withheld (a watcher's data challenges find the element anyway).
	// Empty: honest.
	Falsify string `json:"falsify,omitempty"`

	Executor ExecutorConfig `json:"executor"`
	Safety   SafetyConfig   `json:"safety"`
	GPU      GPUConfig      `json:"gpu"`
	Fetch    FetchConfig    `json:"fetch"`
	RPC      RPCConfig      `json:"rpc"`
	Log      LogConfig      `json:"log"`
	// MetricsAddr serves Prometheus metrics at http://MetricsAddr/metrics; empty: off.
	MetricsAddr string `json:"metricsAddr,omitempty"`
}

// The cheats of Config.Falsify.
const (
	FalsifyLazy     = "lazy"
	FalsifyAnswer   = "answer"
	FalsifyWithhold = "withhold"
)

// DefaultConfig returns the defaults every other source overrides.
func DefaultConfig() Config {
	d := defaultSections()
	return Config{
		DataDir: "probity-prover", Classes: []string{universal.Small().Name}, MinPrice: "0",
		PollInterval: Duration(2 * time.Second), Concurrency: 1, BatchSize: 1, BatchMaxWait: Duration(10 * time.Second),
		Withdraw: true, PublishReceipts: true, SeedConfirmations: defaultSeedConfirmations,
		MaxUnlockedOffers: 4, MaxUnlockedPerBuyer: 1, JobFetchTimeout: Duration(15 * time.Second),
		Executor: d.Executor, Safety: d.Safety, GPU: d.GPU, Fetch: d.Fetch, RPC: d.RPC, Log: d.Log,
	}
}

// defaultSeedConfirmations is deep enough for the reorganisations an Ethereum chain sees in
// practice (one or two blocks) at one minute of a 12 s chain's prove window.
const defaultSeedConfirmations = 5

// Setting is one field settable from a flag and an environment variable.
type Setting = settings.Setting[Config]

var setting = settings.S[Config]

// Settings lists every flag and environment setting.
func Settings() []Setting {
	return []Setting{
		setting("rpc", "rpcUrl", "EVM JSON-RPC endpoint", func(c *Config, v string) error { c.RPCURL = v; return nil }),
		setting("deployment", "deploymentFile", "deployment file (JSON addresses)", func(c *Config, v string) error { c.DeploymentFile = v; return nil }),
		setting("key", "providerKeyFile", "file with the provider account key (hex)", func(c *Config, v string) error { c.ProviderKeyFile = v; return nil }),
		setting("node-key", "nodeKeyFile", "file with the receipt-signing node key (default: the provider key)", func(c *Config, v string) error { c.NodeKeyFile = v; return nil }),
		setting("data-dir", "dataDir", "journal, job files, traces and cursor", func(c *Config, v string) error { c.DataDir = v; return nil }),
		setting("keys-dir", "keysDir", "circuit key cache (default: the user cache)", func(c *Config, v string) error { c.KeysDir = v; return nil }),
		setting("classes", "classes", "comma-separated width classes served", func(c *Config, v string) error { c.Classes = settings.List(v); return nil }),
		setting("models", "models", "comma-separated model files held", func(c *Config, v string) error { c.Models = settings.List(v); return nil }),
		setting("order-books", "orderBooks", "comma-separated order-book URIs", func(c *Config, v string) error { c.OrderBooks = settings.List(v); return nil }),
		setting("min-price", "minPrice", "lowest accepted price (token base units)", func(c *Config, v string) error { c.MinPrice = v; return nil }),
		setting("start-block", "startBlock", "first block scanned when no cursor exists", func(c *Config, v string) error { return settings.SetUint64(&c.StartBlock, v) }),
		setting("poll-interval", "pollInterval", "polling period", func(c *Config, v string) error { return settings.SetDuration(&c.PollInterval, v) }),
		setting("concurrency", "concurrency", "jobs executing or proving at once", func(c *Config, v string) error { return settings.SetInt(&c.Concurrency, v) }),
		setting("batch-size", "batchSize", "most jobs of one class in one submitBatch", func(c *Config, v string) error { return settings.SetInt(&c.BatchSize, v) }),
		setting("batch-max-wait", "batchMaxWait", "how long a proved job waits for a batch", func(c *Config, v string) error { return settings.SetDuration(&c.BatchMaxWait, v) }),
		setting("seed-confirmations", "seedConfirmations", "blocks past the seed block before the seed is used", func(c *Config, v string) error { return settings.SetInt(&c.SeedConfirmations, v) }),
		setting("max-unlocked-offers", "maxUnlockedOffers", "offers executing before their lock, overall", func(c *Config, v string) error { return settings.SetInt(&c.MaxUnlockedOffers, v) }),
		setting("max-unlocked-per-buyer", "maxUnlockedPerBuyer", "offers executing before their lock, per buyer", func(c *Config, v string) error { return settings.SetInt(&c.MaxUnlockedPerBuyer, v) }),
		setting("job-fetch-timeout", "jobFetchTimeout", "timeout of one job-file or order-book download", func(c *Config, v string) error { return settings.SetDuration(&c.JobFetchTimeout, v) }),
		setting("allow-private-addresses", "allowPrivateAddresses", "fetch from and publish to loopback/private addresses (local deployments)", func(c *Config, v string) error { return settings.SetBool(&c.AllowPrivateAddresses, v) }),
		setting("withdraw", "withdraw", "collect payments after settlement", func(c *Config, v string) error { return settings.SetBool(&c.Withdraw, v) }),
		setting("publish-receipts", "publishReceipts", "deliver receipts next to the job URI", func(c *Config, v string) error { return settings.SetBool(&c.PublishReceipts, v) }),
		setting("falsify", "falsify", "DEMO ONLY: cheat, lazy (corrupt the whole trace), answer (change one element and the answer) or withhold (answer, and do not publish the trace)", func(c *Config, v string) error { c.Falsify = v; return nil }),
		setting("gpu", "gpu.mode", "attestation source: auto, none or require", func(c *Config, v string) error { c.GPU.Mode = v; return nil }),
		setting("allow-file", "fetch.allowFile", "allow file:// job URIs and order books", func(c *Config, v string) error { return settings.SetBool(&c.Fetch.AllowFile, v) }),
		setting("log-format", "log.format", "text or json", func(c *Config, v string) error { c.Log.Format = v; return nil }),
		setting("log-level", "log.level", "debug, info, warn or error", func(c *Config, v string) error { c.Log.Level = v; return nil }),
		setting("metrics-addr", "metricsAddr", "serve /metrics on this address", func(c *Config, v string) error { c.MetricsAddr = v; return nil }),
	}
}

// FlagSet binds every Setting to a flag.FlagSet; LoadConfig applies the flags set.
type FlagSet = settings.Flags

// BindFlags registers one flag per Setting on fs.
func BindFlags(fs *flag.FlagSet) *FlagSet {
	return settings.BindDefaults(fs, Settings(), DefaultConfig())
}

// LoadConfig builds the configuration: defaults, the JSON file at path (if any, unknown fields
// refused), the environment (environ as os.Environ), the flags set in fs (may be nil), and a
// deployment file; the result is validated.
func LoadConfig(path string, environ []string, fs *FlagSet) (Config, error) {
	c := DefaultConfig()
	if err := settings.Load(&c, path, environ, fs, Settings(), ErrConfig); err != nil {
		return c, err
	}
	a, err := chain.ResolveAddresses(c.Deployment, c.DeploymentFile)
	if err != nil {
		return c, &ConfigError{Base: ErrConfig, Field: "deploymentFile", Err: err}
	}
	c.Deployment = a
	return c, c.Validate()
}

// Validate checks every field a node dialing its own endpoint needs.
func (c Config) Validate() error {
	if c.RPCURL == "" {
		return &ConfigError{Base: ErrConfig, Field: "rpcUrl", Err: errors.New("required")}
	}
	if c.ProviderKeyFile == "" {
		return &ConfigError{Base: ErrConfig, Field: "providerKeyFile", Err: errors.New("required")}
	}
	return c.validateRest()
}

// validateRest checks what a node needs whether it dials an endpoint or is handed a backend.
func (c Config) validateRest() error {
	bad := func(field, format string, a ...any) error {
		return &ConfigError{Base: ErrConfig, Field: field, Err: fmt.Errorf(format, a...)}
	}
	if err := c.Deployment.Validate(); err != nil {
		return &ConfigError{Base: ErrConfig, Field: "deployment", Err: err}
	}
	if c.DataDir == "" {
		return bad("dataDir", "required")
	}
	for _, name := range c.Classes {
		if classByName(name) == nil {
			return bad("classes", "unknown class %q (known: %s)", name, strings.Join(classNames(), ", "))
		}
	}
	if _, ok := c.minPrice(); !ok {
		return bad("minPrice", "%q is not a non-negative decimal integer", c.MinPrice)
	}
	if c.PollInterval.D() <= 0 {
		return bad("pollInterval", "must be positive")
	}
	if c.Concurrency < 1 {
		return bad("concurrency", "must be at least 1")
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatch {
		return bad("batchSize", "%d: must be 1 to %d (the manager's MAX_BATCH)", c.BatchSize, maxBatch)
	}
	if c.BatchMaxWait.D() < 0 {
		return bad("batchMaxWait", "must not be negative")
	}
	if c.SeedConfirmations < 0 || c.SeedConfirmations > seedHorizon-horizonReserve-1 {
		return bad("seedConfirmations", "%d: must be 0 to %d (inside the seed horizon)", c.SeedConfirmations, seedHorizon-horizonReserve-1)
	}
	if c.MaxUnlockedOffers < 1 || c.MaxUnlockedPerBuyer < 1 {
		return bad("maxUnlockedOffers", "the caps on offers executing before their lock must be at least 1")
	}
	if c.Safety.WindowFactor < 1 {
		return bad("safety.windowFactor", "%v: must be at least 1", c.Safety.WindowFactor)
	}
	if c.Safety.TxBlocks < 1 {
		return bad("safety.txBlocks", "must be at least 1")
	}
	switch c.GPU.Mode {
	case "auto", "none", "require":
	default:
		return bad("gpu.mode", "%q: want auto, none or require", c.GPU.Mode)
	}
	if u := c.GPU.OCSPURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return bad("gpu.ocspUrl", "%q: OCSP is asked over HTTP (RFC 6960 appendix A), want an http:// or https:// URL", u)
	}
	for i, p := range c.GPU.Peers {
		if p < 0 || p == c.GPU.Index || slices.Contains(c.GPU.Peers[:i], p) {
			return bad("gpu.peers", "%v: NVML indices of the other GPUs, each once, not gpu.index (%d)", c.GPU.Peers, c.GPU.Index)
		}
	}
	if c.GPU.OCSPTimeout.D() < 0 {
		return bad("gpu.ocspTimeout", "must not be negative")
	}
	switch c.Falsify {
	case "", FalsifyLazy, FalsifyAnswer, FalsifyWithhold:
	default:
		return bad("falsify", "%q: want %q, %q, %q or empty", c.Falsify, FalsifyLazy, FalsifyAnswer, FalsifyWithhold)
	}
	if c.JobFetchTimeout.D() <= 0 {
		return bad("jobFetchTimeout", "must be positive")
	}
	if c.Fetch.MaxFileBytes <= 0 || c.Fetch.Timeout.D() <= 0 {
		return bad("fetch", "limits and timeout must be positive")
	}
	if err := c.Log.Validate(); err != nil {
		return bad("log", "%v", err)
	}
	for _, u := range c.OrderBooks {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return bad("orderBooks", "%q: scheme must be file, http or https", u)
		}
	}
	return nil
}

// maxBatch is the manager's MAX_BATCH (settlement.md §5).
const maxBatch = 32

func (c Config) minPrice() (*big.Int, bool) {
	v, ok := new(big.Int).SetString(c.MinPrice, 10)
	return v, ok && v.Sign() >= 0
}

func classByName(name string) *universal.Class {
	for _, cl := range universal.Classes() {
		if cl.Name == name {
			return cl
		}
	}
	return nil
}

func classNames() []string {
	var out []string
	for _, cl := range universal.Classes() {
		out = append(out, cl.Name)
	}
	return out
}

// zeroAddr is the zero address, named for readability.
var zeroAddr common.Address
