// Package settings loads the configuration of a long-running process (the prover node, the
// watcher) in layers: defaults, a JSON file (unknown fields refused), environment variables
// PROBITY_<FLAG> and flags --<flag>, with precedence flags > env > file > defaults. An error
// names the field at fault and where its value came from.
package settings

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// Error names the configuration field at fault and where its value came from; it matches
// its process's base error (prover.ErrConfig, ...) and the cause.
type Error struct {
	Field  string // the JSON path, e.g. "executor.timeout"
	Source string // "file", "env PROBITY_...", "flag --...", "" for a combination
	Err    error
	// Base is the process's error kind the error matches.
	Base error
}

func (e *Error) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config %s (from %s): %v", e.Field, e.Source, e.Err)
	}
	return fmt.Sprintf("config %s: %v", e.Field, e.Err)
}

func (e *Error) Unwrap() []error {
	if e.Base == nil {
		return []error{e.Err}
	}
	return []error{e.Base, e.Err}
}

// Setting is one field of C settable from a flag and an environment variable.
type Setting[C any] struct {
	Flag, Field, Help string
	Set               func(*C, string) error
}

// S is a Setting (a constructor, so lists of settings need no field names).
func S[C any](flag, field, help string, set func(*C, string) error) Setting[C] {
	return Setting[C]{Flag: flag, Field: field, Help: help, Set: set}
}

// Env is the setting's environment variable.
func (s Setting[C]) Env() string {
	return "PROBITY_" + strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))
}

// Flags binds settings to a flag.FlagSet; Load applies the flags that were set.
type Flags struct{ vals map[string]*flagVal }

type flagVal struct {
	v   string
	set bool
}

func (f *flagVal) String() string     { return f.v }
func (f *flagVal) Set(v string) error { f.v, f.set = v, true; return nil }

// Bind registers one flag per setting on fs.
func Bind[C any](fs *flag.FlagSet, list []Setting[C]) *Flags {
	out := &Flags{vals: map[string]*flagVal{}}
	for _, s := range list {
		v := &flagVal{}
		out.vals[s.Flag] = v
		fs.Var(v, s.Flag, s.Help+" (env "+s.Env()+")")
	}
	return out
}

// BindDefaults is Bind with each flag's default taken from defaults (the process's default
// configuration, as its JSON encodes the setting's field), so that -h shows it.
func BindDefaults[C any](fs *flag.FlagSet, list []Setting[C], defaults C) *Flags {
	out := Bind(fs, list)
	def, err := fieldStrings(defaults)
	if err != nil {
		return out // a configuration type without a JSON form: -h shows no defaults
	}
	for _, s := range list {
		if d := def[s.Field]; d != "" {
			fs.Lookup(s.Flag).DefValue = d
		}
	}
	return out
}

// fieldStrings flattens v's JSON into "a.b" paths and their values as a flag would take
// them: strings as is, lists comma-separated.
func fieldStrings(v any) (map[string]string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x)
			}
		case []any:
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = fmt.Sprint(x)
			}
			out[prefix] = strings.Join(parts, ",")
		case nil:
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", doc)
	return out, nil
}

// Load applies, over the defaults in c, the JSON file at path (if any), the environment
// (environ as os.Environ) and the flags set in fs (may be nil). base is the error kind every
// returned *Error matches.
func Load[C any](c *C, path string, environ []string, fs *Flags, list []Setting[C], base error) error {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return &Error{Field: "(file)", Source: path, Err: err, Base: base}
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return &Error{Field: "(file)", Source: path, Err: err, Base: base}
		}
		if dec.More() {
			return &Error{Field: "(file)", Source: path, Err: errors.New("trailing data after the JSON object"), Base: base}
		}
	}
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, s := range list {
		if v, ok := env[s.Env()]; ok {
			if err := s.Set(c, v); err != nil {
				return &Error{Field: s.Field, Source: "env " + s.Env(), Err: err, Base: base}
			}
		}
		if fs != nil {
			if v := fs.vals[s.Flag]; v != nil && v.set {
				if err := s.Set(c, v.v); err != nil {
					return &Error{Field: s.Field, Source: "flag --" + s.Flag, Err: err, Base: base}
				}
			}
		}
	}
	return nil
}

// List parses a comma-separated list, dropping empty entries.
func List(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// SetInt, SetBool, SetUint64 and SetDuration parse a setting's value into p.
func SetInt(p *int, v string) error {
	n, err := strconv.Atoi(v)
	if err == nil {
		*p = n
	}
	return err
}

func SetBool(p *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err == nil {
		*p = b
	}
	return err
}

func SetUint64(p *uint64, v string) error {
	n, err := strconv.ParseUint(v, 10, 64)
	if err == nil {
		*p = n
	}
	return err
}

func SetDuration(p *Duration, v string) error { return p.UnmarshalText([]byte(v)) }

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

// Log chooses the log format and level.
type Log struct {
	Format string `json:"format"` // "text" or "json"
	Level  string `json:"level"`  // "debug", "info", "warn", "error"
}

// Validate checks the format and level.
func (c Log) Validate() error {
	switch c.Format {
	case "text", "json":
	default:
		return fmt.Errorf("%q: want text or json", c.Format)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("level %q: want debug, info, warn or error", c.Level)
	}
	return nil
}

// NewLogger builds the slog logger a config asks for.
func NewLogger(c Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	o := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// ReadKeyFile reads a hex secp256k1 key (with or without 0x) from path.
func ReadKeyFile(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
