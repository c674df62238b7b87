package prover_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/probitylabs/probity/prover"
)

func TestExampleConfig(t *testing.T) {
	c, err := prover.LoadConfig("testdata/config.example.json", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Executor.Kind != "command" || c.RPC.TxStuckAfter.D() != 2*time.Minute || c.Deployment.Manager.Hex() != "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" {
		t.Fatalf("example config read as %+v", c)
	}
}

// TestConfigPrecedence: flags > env > file > defaults.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	os.WriteFile(file, []byte(`{"rpcUrl":"http://file","deployment":{"manager":"0x0000000000000000000000000000000000000001","providers":"0x0000000000000000000000000000000000000002"},
		"providerKeyFile":"k","minPrice":"5","pollInterval":"7s","concurrency":3}`), 0o644)
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fv := prover.BindFlags(fs)
	if err := fs.Parse([]string{"--min-price", "9", "--shapes", "tiny"}); err != nil {
		t.Fatal(err)
	}
	env := []string{"PROBITY_MIN_PRICE=8", "PROBITY_POLL_INTERVAL=3s", "PROBITY_RPC_URL=http://env", "UNRELATED=1"}
	c, err := prover.LoadConfig(file, env, fv)
	if err != nil {
		t.Fatal(err)
	}
	if c.MinPrice != "9" { // flag beats env and file
		t.Errorf("minPrice %s", c.MinPrice)
	}
	if c.PollInterval.D() != 3*time.Second || c.RPCURL != "http://env" { // env beats file
		t.Errorf("pollInterval %v rpcUrl %s", c.PollInterval.D(), c.RPCURL)
	}
	if c.Concurrency != 3 { // file beats default
		t.Errorf("concurrency %d", c.Concurrency)
	}
	if c.Log.Format != "text" || c.GPU.Mode != "auto" { // defaults
		t.Errorf("defaults lost: %+v", c)
	}
	if len(c.Shapes) != 1 || c.Shapes[0] != "tiny" {
		t.Errorf("shapes %v", c.Shapes)
	}
}

// TestConfigErrors: every error names the field (and where the value came from).
func TestConfigErrors(t *testing.T) {
	base := `"rpcUrl":"http://x","deployment":{"manager":"0x0000000000000000000000000000000000000001","providers":"0x0000000000000000000000000000000000000002"},"providerKeyFile":"k"`
	for _, c := range []struct {
		file, env, field string
	}{
		{`{` + base + `,"shapes":["tiny","nope"]}`, "", "shapes[1]"},
		{`{` + base + `,"shapes":["tiny","tiny"]}`, "", "shapes[1]"},
		{`{` + base + `,"shapes":[]}`, "", "shapes"},
		{`{` + base + `,"minPrice":"-1"}`, "", "minPrice"},
		{`{` + base + `,"minPrice":"1e18"}`, "", "minPrice"},
		{`{` + base + `,"executor":{"kind":"command","timeout":"1m"}}`, "", "executor.command"},
		{`{` + base + `,"executor":{"kind":"gpu","timeout":"1m"}}`, "", "executor.kind"},
		{`{` + base + `,"gpu":{"mode":"none","requireCC":true,"interval":"1s"}}`, "", "gpu.requireCC"},
		{`{` + base + `,"rpc":{"retries":3,"backoffMin":"1s","backoffMax":"1ms","txStuckAfter":"1m","feeBumpPercent":20}}`, "", "rpc.backoffMin"},
		{`{` + base + `,"rpc":{"retries":3,"backoffMin":"1ms","backoffMax":"1s","txStuckAfter":"1m","feeBumpPercent":5}}`, "", "rpc.feeBumpPercent"},
		{`{` + base + `,"log":{"format":"xml","level":"info"}}`, "", "log.format"},
		{`{` + base + `,"detectionFloorBps":10000}`, "", "detectionFloorBps"},
		{`{` + base + `,"concurrency":0}`, "", "concurrency"},
		{`{` + base + `,"pollInterval":"soon"}`, "", ""},
		{`{` + base + `,"concurrency":"two"}`, "", "concurrency"},
		{`{` + base + `,"bogus":1}`, "", "bogus"},
		{`{"deployment":{}}`, "", "rpcUrl"},
		{`{"rpcUrl":"http://x"}`, "", "deployment.manager"},
		{`{` + base + `}`, "PROBITY_MANAGER=nothex", "deployment.manager"},
		{`{` + base + `}`, "PROBITY_FIX_SEED=maybe", "fixSeed"},
		{`{` + base + `}`, "PROBITY_CONCURRENCY=-2", "concurrency"},
		{`{` + base + `} trailing`, "", "(file)"},
	} {
		file := filepath.Join(t.TempDir(), "c.json")
		os.WriteFile(file, []byte(c.file), 0o644)
		var env []string
		if c.env != "" {
			env = []string{c.env}
		}
		_, err := prover.LoadConfig(file, env, nil)
		var ce *prover.ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, prover.ErrConfig) {
			t.Errorf("%s %s: error %v is not a ConfigError", c.file, c.env, err)
			continue
		}
		if c.field != "" && ce.Field != c.field {
			t.Errorf("%s %s: field %q, want %q (%v)", c.file, c.env, ce.Field, c.field, err)
		}
		if c.env != "" && !strings.Contains(err.Error(), "env PROBITY_") {
			t.Errorf("%s: error does not say the env var: %v", c.env, err)
		}
	}
	if _, err := prover.LoadConfig(filepath.Join(t.TempDir(), "missing.json"), nil, nil); !errors.Is(err, prover.ErrConfig) {
		t.Errorf("missing file: %v", err)
	}
}

// TestSettingsUnique: flag names and env vars are unique and documented in docs/prover.md.
func TestSettingsUnique(t *testing.T) {
	doc, err := os.ReadFile("../docs/prover.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range prover.Settings() {
		if seen[s.Flag] {
			t.Errorf("duplicate flag %s", s.Flag)
		}
		seen[s.Flag] = true
		if !strings.Contains(string(doc), "--"+s.Flag) || !strings.Contains(string(doc), s.Env()) {
			t.Errorf("docs/prover.md does not document --%s / %s", s.Flag, s.Env())
		}
	}
}

// FuzzConfigFile: no file crashes the loader, and an accepted file validates.
func FuzzConfigFile(f *testing.F) {
	ex, _ := os.ReadFile("testdata/config.example.json")
	f.Add(ex)
	f.Add([]byte(`{"rpcUrl":"x","shapes":["tiny"]}`))
	f.Add([]byte(`{"gpu":{"interval":"-1s"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Skip()
		}
		c, err := prover.LoadConfig(file, nil, nil)
		if err != nil {
			if !errors.Is(err, prover.ErrConfig) {
				t.Fatalf("error outside ErrConfig: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails validation: %v", err)
		}
	})
}

func TestRunCLICheckConfig(t *testing.T) {
	var out strings.Builder
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fv := prover.BindFlags(fs)
	fs.Parse([]string{"--log-format", "json"})
	err := prover.RunCLI(t.Context(), prover.CLI{ConfigPath: "testdata/config.example.json", Flags: fv, Stdout: &out, Stderr: &out, CheckConfig: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"format": "json"`) || !strings.Contains(out.String(), `"txStuckAfter": "2m0s"`) {
		t.Fatalf("effective config:\n%s", out.String())
	}
	err = prover.RunCLI(t.Context(), prover.CLI{ConfigPath: "testdata/config.example.json", Environ: []string{"PROBITY_GPU=sometimes"}, Stdout: &out, Stderr: &out})
	var ce *prover.ConfigError
	if !errors.As(err, &ce) || ce.Field != "gpu.mode" {
		t.Fatalf("bad env through the CLI: %v", err)
	}
}

// TestConfigDeploymentFile: the addresses can come from a deployment file as `probity deploy`
// writes it, never from both places at once.
func TestConfigDeploymentFile(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "deployment.json")
	require.NoError(t, os.WriteFile(dep, []byte(`{"token":"0x0000000000000000000000000000000000000001","providers":"0x0000000000000000000000000000000000000002",
		"shapes":"0x0000000000000000000000000000000000000003","manager":"0x0000000000000000000000000000000000000004"}`), 0o644))
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
		return p
	}
	good := write("good.json", `{"rpcUrl":"http://x","providerKeyFile":"k","deploymentFile":"`+dep+`"}`)
	c, err := prover.LoadConfig(good, nil, nil)
	require.NoError(t, err)
	require.Equal(t, "0x0000000000000000000000000000000000000004", strings.ToLower(c.Deployment.Manager.Hex()))
	require.Equal(t, "0x0000000000000000000000000000000000000003", strings.ToLower(c.Deployment.Shapes.Hex()))

	// From the environment, with the rest of the config from flags.
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fv := prover.BindFlags(fs)
	require.NoError(t, fs.Parse([]string{"--rpc-url", "http://x", "--provider-key-file", "k"}))
	c, err = prover.LoadConfig("", []string{"PROBITY_DEPLOYMENT_FILE=" + dep}, fv)
	require.NoError(t, err)
	require.Equal(t, "0x0000000000000000000000000000000000000002", strings.ToLower(c.Deployment.Providers.Hex()))

	partial := write("partial.json", `{"token":"0x0000000000000000000000000000000000000001","manager":"0x0000000000000000000000000000000000000004"}`)
	for name, tc := range map[string]struct{ doc, want string }{
		"both":    {`{"rpcUrl":"http://x","providerKeyFile":"k","deploymentFile":"` + dep + `","deployment":{"manager":"0x0000000000000000000000000000000000000009"}}`, "not both"},
		"missing": {`{"rpcUrl":"http://x","providerKeyFile":"k","deploymentFile":"` + filepath.Join(dir, "nope.json") + `"}`, "no such file"},
		"partial": {`{"rpcUrl":"http://x","providerKeyFile":"k","deploymentFile":"` + partial + `"}`, `no "providers" address`},
	} {
		_, err := prover.LoadConfig(write("config-"+name+".json", tc.doc), nil, nil)
		var ce *prover.ConfigError
		require.ErrorAs(t, err, &ce, name)
		require.Equal(t, "deploymentFile", ce.Field, name)
		require.ErrorContains(t, err, tc.want, name)
	}
}
