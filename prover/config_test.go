package prover

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

func testAddrs() chain.Addresses {
	return chain.Addresses{Token: common.HexToAddress("0x1"), Providers: common.HexToAddress("0x2"),
		Classes: common.HexToAddress("0x3"), Hasher: common.HexToAddress("0x4"), Manager: common.HexToAddress("0x5")}
}

// TestLoadConfigPrecedence: flags override the environment, which overrides the file, which
// overrides the defaults; the deployment file fills the addresses.
func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "deployment.json")
	if err := os.WriteFile(dep, []byte(`{"token":"0x0000000000000000000000000000000000000001","providers":"0x0000000000000000000000000000000000000002",
"classes":"0x0000000000000000000000000000000000000003","hasher":"0x0000000000000000000000000000000000000004","manager":"0x0000000000000000000000000000000000000005"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"rpcUrl":"http://file","providerKeyFile":"k","deploymentFile":"`+dep+`",
"minPrice":"5","batchSize":4,"classes":["small"],"models":["a.safetensors"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fl := BindFlags(fs)
	if err := fs.Parse([]string{"--batch-size", "8", "--falsify", "lazy"}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(file, []string{"PROBITY_RPC=http://env", "PROBITY_BATCH_SIZE=6", "PROBITY_POLL_INTERVAL=3s"}, fl)
	if err != nil {
		t.Fatal(err)
	}
	if c.RPCURL != "http://env" || c.BatchSize != 8 || c.MinPrice != "5" || c.Falsify != FalsifyLazy || c.PollInterval.D() != 3*time.Second {
		t.Fatalf("precedence: %+v", c)
	}
	if c.Deployment != testAddrs() {
		t.Fatalf("deployment %+v", c.Deployment)
	}
	if c.GPU.Mode != DefaultConfig().GPU.Mode || !c.Withdraw {
		t.Fatalf("defaults lost: %+v", c)
	}
}

// TestConfigErrorsNameTheField: every invalid value is refused naming its field.
func TestConfigErrorsNameTheField(t *testing.T) {
	ok := DefaultConfig()
	ok.RPCURL, ok.ProviderKeyFile, ok.Deployment = "http://x", "k", testAddrs()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	// The node staples OCSP responses itself, so a CC-only node needs no opt-out.
	cc := ok
	cc.GPU.RequireCC, cc.GPU.OCSPURL = true, "http://ocsp.ndis.nvidia.com"
	if err := cc.Validate(); err != nil {
		t.Fatalf("gpu.requireCC: %v", err)
	}
	for field, mod := range map[string]func(*Config){
		"rpcUrl":              func(c *Config) { c.RPCURL = "" },
		"providerKeyFile":     func(c *Config) { c.ProviderKeyFile = "" },
		"deployment":          func(c *Config) { c.Deployment.Hasher = common.Address{} },
		"classes":             func(c *Config) { c.Classes = []string{"huge"} },
		"minPrice":            func(c *Config) { c.MinPrice = "-1" },
		"batchSize":           func(c *Config) { c.BatchSize = 33 },
		"concurrency":         func(c *Config) { c.Concurrency = 0 },
		"pollInterval":        func(c *Config) { c.PollInterval = 0 },
		"safety.windowFactor": func(c *Config) { c.Safety.WindowFactor = 0.5 },
		"gpu.mode":            func(c *Config) { c.GPU.Mode = "maybe" },
		"orderBooks":          func(c *Config) { c.OrderBooks = []string{"ftp://x"} },
		"gpu.ocspUrl":         func(c *Config) { c.GPU.OCSPURL = "ldap://x" },
		"gpu.ocspTimeout":     func(c *Config) { c.GPU.OCSPTimeout = -1 },
		"gpu.peers":           func(c *Config) { c.GPU.Peers = []int{1, 0} },
		"seedConfirmations":   func(c *Config) { c.SeedConfirmations = -1 },
		"seedConfirmations ":  func(c *Config) { c.SeedConfirmations = seedHorizon },
		"maxUnlockedOffers":   func(c *Config) { c.MaxUnlockedPerBuyer = 0 },
		"jobFetchTimeout":     func(c *Config) { c.JobFetchTimeout = 0 },
	} {
		c := ok
		mod(&c)
		err := c.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != strings.TrimSpace(field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	if err := os.WriteFile(file, []byte(`{"rpcUrl":"x","batchSise":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(file, nil, nil); err == nil || !strings.Contains(err.Error(), "batchSise") {
		t.Fatalf("unknown field: %v", err)
	}
}
