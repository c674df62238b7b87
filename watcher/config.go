package watcher

import (
	"errors"
	"flag"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/settings"
)

// ErrConfig matches every configuration error.
var ErrConfig = errors.New("invalid watcher configuration")

// Config is the watcher's configuration: a JSON file, overridden by PROBITY_<NAME>
// environment variables and --<name> flags (Settings), as the prover node's.
type Config struct {
	// RPCURL is the EVM JSON-RPC endpoint.
	RPCURL string `json:"rpcUrl"`
	// Deployment locates the contracts; DeploymentFile names a deployment file instead.
	Deployment     chain.Addresses `json:"deployment"`
	DeploymentFile string          `json:"deploymentFile,omitempty"`
	// KeyFile holds the key (hex) of the account that pays bonds and receives bounties.
	KeyFile string `json:"keyFile"`
	// DataDir holds the journal (jobs/) and the block cursor.
	DataDir string `json:"dataDir"`
	// Models are the model files the watcher can recompute; jobs of other models are skipped.
	Models []string `json:"models"`
	// OrderBooks are order-book URIs (settlement.md §8) read for the job URIs of jobs created
	// from signed offers, which the chain does not carry (a posted job's is in JobPosted).
	OrderBooks []string `json:"orderBooks,omitempty"`
	// StartBlock is the first block scanned for JobProved when no cursor exists.
	StartBlock uint64 `json:"startBlock"`
	// PollInterval paces event polling.
	PollInterval settings.Duration `json:"pollInterval"`
	// ChallengeMargin is how long before the end of a challenge window the watcher stops
	// challenging: a challenge mined after the window reverts and wastes its gas.
	ChallengeMargin settings.Duration `json:"challengeMargin"`
	// MaxBond is the largest bond (token base units, decimal) the watcher posts; a higher
	// governance bond makes it skip challenges (and say so) instead of paying it.
	MaxBond string `json:"maxBond"`
	// MaxDataChallenges bounds the data challenges (each a bond) the watcher opens to search
	// one withheld trace whose root is not the job's (settlement.md §10); 0: it reports such
	// a job as withheld and challenges nothing.
	MaxDataChallenges int `json:"maxDataChallenges"`
	// FetchTimeout bounds one job-file or trace download; MaxTraceBytes any trace.
	FetchTimeout  settings.Duration `json:"fetchTimeout"`
	MaxTraceBytes int64             `json:"maxTraceBytes"`
	// AllowFile permits file:// job URIs (local deployments, tests).
	AllowFile bool `json:"allowFile"`
	// AllowPrivateAddresses lets the watcher fetch from loopback and private addresses.
	AllowPrivateAddresses bool `json:"allowPrivateAddresses,omitempty"`
	// Withdraw pays bounties and returned bonds out to the account as they arrive.
	Withdraw bool         `json:"withdraw"`
	Log      settings.Log `json:"log"`
	// MetricsAddr serves Prometheus metrics at http://MetricsAddr/metrics; empty: off.
	MetricsAddr string `json:"metricsAddr,omitempty"`
}

// DefaultConfig returns the defaults every other source overrides.
func DefaultConfig() Config {
	return Config{
		DataDir: "probity-watcher", PollInterval: settings.Duration(2 * time.Second),
		ChallengeMargin: settings.Duration(30 * time.Second), MaxBond: "1000000000000000000000", MaxDataChallenges: 32,
		FetchTimeout: settings.Duration(2 * time.Minute), MaxTraceBytes: 4 << 30, Withdraw: true,
		Log: settings.Log{Format: "text", Level: "info"},
	}
}

// Setting is one field settable from a flag and an environment variable.
type Setting = settings.Setting[Config]

var setting = settings.S[Config]

// Settings lists every flag and environment setting.
func Settings() []Setting {
	return []Setting{
		setting("rpc", "rpcUrl", "EVM JSON-RPC endpoint", func(c *Config, v string) error { c.RPCURL = v; return nil }),
		setting("deployment", "deploymentFile", "deployment file (JSON addresses)", func(c *Config, v string) error { c.DeploymentFile = v; return nil }),
		setting("key", "keyFile", "file with the watcher account key (hex): pays bonds, receives bounties", func(c *Config, v string) error { c.KeyFile = v; return nil }),
		setting("data-dir", "dataDir", "journal and cursor", func(c *Config, v string) error { c.DataDir = v; return nil }),
		setting("models", "models", "comma-separated model files the watcher recomputes", func(c *Config, v string) error { c.Models = settings.List(v); return nil }),
		setting("order-books", "orderBooks", "comma-separated order-book URIs (job URIs of offers)", func(c *Config, v string) error { c.OrderBooks = settings.List(v); return nil }),
		setting("start-block", "startBlock", "first block scanned when no cursor exists", func(c *Config, v string) error { return settings.SetUint64(&c.StartBlock, v) }),
		setting("poll-interval", "pollInterval", "polling period", func(c *Config, v string) error { return settings.SetDuration(&c.PollInterval, v) }),
		setting("challenge-margin", "challengeMargin", "stop challenging this long before a window ends", func(c *Config, v string) error { return settings.SetDuration(&c.ChallengeMargin, v) }),
		setting("max-bond", "maxBond", "largest bond posted (token base units)", func(c *Config, v string) error { c.MaxBond = v; return nil }),
		setting("max-data-challenges", "maxDataChallenges", "most data challenges to search one withheld trace (0: none)", func(c *Config, v string) error { return settings.SetInt(&c.MaxDataChallenges, v) }),
		setting("fetch-timeout", "fetchTimeout", "timeout of one job-file or trace download", func(c *Config, v string) error { return settings.SetDuration(&c.FetchTimeout, v) }),
		setting("allow-file", "allowFile", "allow file:// job URIs", func(c *Config, v string) error { return settings.SetBool(&c.AllowFile, v) }),
		setting("allow-private-addresses", "allowPrivateAddresses", "fetch from loopback/private addresses (local deployments)", func(c *Config, v string) error { return settings.SetBool(&c.AllowPrivateAddresses, v) }),
		setting("withdraw", "withdraw", "pay bounties and returned bonds out as they arrive", func(c *Config, v string) error { return settings.SetBool(&c.Withdraw, v) }),
		setting("log-format", "log.format", "text or json", func(c *Config, v string) error { c.Log.Format = v; return nil }),
		setting("log-level", "log.level", "debug, info, warn or error", func(c *Config, v string) error { c.Log.Level = v; return nil }),
		setting("metrics-addr", "metricsAddr", "serve /metrics on this address", func(c *Config, v string) error { c.MetricsAddr = v; return nil }),
	}
}

// BindFlags registers one flag per Setting on fs.
func BindFlags(fs *flag.FlagSet) *settings.Flags {
	return settings.BindDefaults(fs, Settings(), DefaultConfig())
}

// LoadConfig builds the configuration: defaults, the JSON file at path (if any), the
// environment, the flags set in fs (may be nil) and a deployment file; it is validated.
func LoadConfig(path string, environ []string, fs *settings.Flags) (Config, error) {
	c := DefaultConfig()
	if err := settings.Load(&c, path, environ, fs, Settings(), ErrConfig); err != nil {
		return c, err
	}
	a, err := chain.ResolveAddresses(c.Deployment, c.DeploymentFile)
	if err != nil {
		return c, &settings.Error{Field: "deploymentFile", Err: err, Base: ErrConfig}
	}
	c.Deployment = a
	if c.RPCURL == "" {
		return c, c.bad("rpcUrl", "required")
	}
	if c.KeyFile == "" {
		return c, c.bad("keyFile", "required")
	}
	return c, c.Validate()
}

func (Config) bad(field, format string, a ...any) error {
	return &settings.Error{Field: field, Err: fmt.Errorf(format, a...), Base: ErrConfig}
}

// Validate checks what a watcher needs whether it dials an endpoint or is handed a backend.
func (c Config) Validate() error {
	if err := c.Deployment.Validate(); err != nil {
		return &settings.Error{Field: "deployment", Err: err, Base: ErrConfig}
	}
	if c.DataDir == "" {
		return c.bad("dataDir", "required")
	}
	if c.PollInterval.D() <= 0 {
		return c.bad("pollInterval", "must be positive")
	}
	if c.ChallengeMargin.D() < 0 {
		return c.bad("challengeMargin", "must not be negative")
	}
	if _, ok := c.maxBond(); !ok {
		return c.bad("maxBond", "%q is not a positive decimal integer", c.MaxBond)
	}
	if c.MaxDataChallenges < 0 {
		return c.bad("maxDataChallenges", "must not be negative")
	}
	if c.FetchTimeout.D() <= 0 || c.MaxTraceBytes <= 0 {
		return c.bad("fetch", "the timeout and maxTraceBytes must be positive")
	}
	if err := c.Log.Validate(); err != nil {
		return c.bad("log", "%v", err)
	}
	for _, u := range c.OrderBooks {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return c.bad("orderBooks", "%q: scheme must be file, http or https", u)
		}
	}
	return nil
}

func (c Config) maxBond() (*big.Int, bool) {
	v, ok := new(big.Int).SetString(c.MaxBond, 10)
	return v, ok && v.Sign() > 0
}
