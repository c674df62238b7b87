package settings

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type conf struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Every Duration `json:"every"`
}

var errTest = errors.New("test config")

func list() []Setting[conf] {
	return []Setting[conf]{
		{Flag: "name", Field: "name", Help: "a name", Set: func(c *conf, v string) error { c.Name = v; return nil }},
		{Flag: "count", Field: "count", Help: "a count", Set: func(c *conf, v string) error { return SetInt(&c.Count, v) }},
		{Flag: "every", Field: "every", Help: "a period", Set: func(c *conf, v string) error { return SetDuration(&c.Every, v) }},
	}
}

// Flags beat the environment, which beats the file, which beats the defaults.
func TestLoadPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(`{"name":"file","count":1,"every":"1s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	flags := Bind(fs, list())
	if err := fs.Parse([]string{"--name", "flag"}); err != nil {
		t.Fatal(err)
	}
	c := conf{Name: "default", Count: 9}
	if err := Load(&c, path, []string{"PROBITY_NAME=env", "PROBITY_COUNT=2"}, flags, list(), errTest); err != nil {
		t.Fatal(err)
	}
	if c.Name != "flag" || c.Count != 2 || c.Every.D().Seconds() != 1 {
		t.Fatalf("%+v", c)
	}
}

// A bad value names its field and its source and matches the base error; unknown file
// fields and trailing data are refused.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	var c conf
	err := Load(&c, "", []string{"PROBITY_COUNT=many"}, nil, list(), errTest)
	var se *Error
	if !errors.As(err, &se) || se.Field != "count" || se.Source != "env PROBITY_COUNT" || !errors.Is(err, errTest) {
		t.Fatalf("bad env value: %v", err)
	}
	for body, want := range map[string]string{`{"nmae":"x"}`: "unknown field", `{"name":"x"} {}`: "trailing data"} {
		path := filepath.Join(dir, "c.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Load(&c, path, nil, nil, list(), errTest); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, errTest) {
			t.Fatalf("%s: %v", body, err)
		}
	}
	if err := (Log{Format: "xml", Level: "info"}).Validate(); err == nil {
		t.Fatal("log format xml accepted")
	}
	if err := (Log{Format: "json", Level: "loud"}).Validate(); err == nil {
		t.Fatal("log level loud accepted")
	}
}

// -h shows each setting's default from the default configuration.
func TestBindDefaults(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	BindDefaults(fs, list(), conf{Name: "node", Count: 3, Every: Duration(2e9)})
	for flagName, want := range map[string]string{"name": "node", "count": "3", "every": "2s"} {
		if got := fs.Lookup(flagName).DefValue; got != want {
			t.Errorf("--%s default %q, want %q", flagName, got, want)
		}
	}
	var help strings.Builder
	fs.SetOutput(&help)
	fs.PrintDefaults()
	if !strings.Contains(help.String(), "(default 2s)") {
		t.Fatalf("-h without the default:\n%s", help.String())
	}
}
