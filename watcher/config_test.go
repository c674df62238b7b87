package watcher

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probitylabs/probity/internal/settings"
	"github.com/probitylabs/probity/jobs"
)

// The shipped example parses, and flags beat the environment, which beats the file.
func TestConfigExample(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "deployment.json")
	if err := os.WriteFile(dep, []byte(`{"token":"0x0000000000000000000000000000000000000001","providers":"0x0000000000000000000000000000000000000002","classes":"0x0000000000000000000000000000000000000003","hasher":"0x0000000000000000000000000000000000000004","manager":"0x0000000000000000000000000000000000000005"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	flags := BindFlags(fs)
	if err := fs.Parse([]string{"--deployment", dep, "--poll-interval", "5s"}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig("testdata/config.example.json", []string{"PROBITY_POLL_INTERVAL=9s", "PROBITY_MAX_BOND=7"}, flags)
	if err != nil {
		t.Fatal(err)
	}
	if c.PollInterval.D().Seconds() != 5 || c.MaxBond != "7" || c.Log.Format != "json" || len(c.Models) != 1 {
		t.Fatalf("%+v", c)
	}
}

// Every invalid value is refused naming its field, and matches ErrConfig.
func TestConfigErrorsNameTheField(t *testing.T) {
	for field, bad := range map[string]func(*Config){
		"dataDir":         func(c *Config) { c.DataDir = "" },
		"pollInterval":    func(c *Config) { c.PollInterval = 0 },
		"challengeMargin": func(c *Config) { c.ChallengeMargin = -1 },
		"maxBond":         func(c *Config) { c.MaxBond = "0" },
		"fetch":           func(c *Config) { c.MaxTraceBytes = 0 },
		"log":             func(c *Config) { c.Log.Format = "xml" },
		"deployment":      func(c *Config) {},
	} {
		c := DefaultConfig()
		if field != "deployment" {
			c.Deployment.Manager[19], c.Deployment.Token[19], c.Deployment.Providers[19], c.Deployment.Classes[19], c.Deployment.Hasher[19] = 5, 1, 2, 3, 4
		}
		bad(&c)
		err := c.Validate()
		var se *settings.Error
		if !errors.As(err, &se) || se.Field != field || !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := LoadConfig("", nil, nil); err == nil || !strings.Contains(err.Error(), "rpcUrl") {
		t.Errorf("no endpoint: %v", err)
	}
}

// A journal record parses strictly: a foreign version, job id or status, or an open
// challenge without an element word, is refused; what parses writes back the same.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"version":1,"jobId":"7","status":"honest","provedBlock":3,"payableAt":9}`))
	f.Add([]byte(`{"version":1,"jobId":"7","status":"challenged","element":"79228162514264337593543950335","respondBy":5}`))
	f.Add([]byte(`{"version":2,"jobId":"7","status":"honest"}`))
	f.Add([]byte(`{"version":1,"jobId":"-1","status":"pending"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			if !errors.Is(err, ErrJournal) && !errors.Is(err, jobs.ErrElement) {
				t.Fatalf("error %v matches neither ErrJournal nor jobs.ErrElement", err)
			}
			return
		}
		if r.ID() == nil || r.ID().Sign() <= 0 {
			t.Fatalf("job id %q accepted", r.JobID)
		}
		if !r.Status.Terminal() && r.Status != StatusPending {
			if _, err := r.Fault(); err != nil {
				t.Fatalf("open status %s without an element: %v", r.Status, err)
			}
		}
		b2, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if r2, err := parseRecord(b2); err != nil || r2.JobID != r.JobID || r2.Status != r.Status {
			t.Fatalf("round trip: %+v, %v", r2, err)
		}
	})
}
