package prover

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// CLI is what `probity prover` hands over after parsing its flags.
type CLI struct {
	ConfigPath  string
	Flags       *FlagSet
	Environ     []string  // os.Environ()
	Stdout      io.Writer // --check-config output
	Stderr      io.Writer // logs, and the progress line when it is a terminal
	CheckConfig bool      // print the effective configuration and exit
}

// isTerminal reports whether w is a character device (a TTY), where a live progress
// line helps; in files and pipes it would only add noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// RunCLI loads the configuration (flags > env > file > defaults), starts a node, builds
// or loads the keys of every served shape, and runs until ctx ends (SIGINT/SIGTERM).
func RunCLI(ctx context.Context, c CLI) error {
	cfg, err := LoadConfig(c.ConfigPath, c.Environ, c.Flags)
	if err != nil {
		return err
	}
	if c.CheckConfig {
		b, _ := json.MarshalIndent(cfg, "", "  ")
		_, err := fmt.Fprintf(c.Stdout, "%s\n", b)
		return err
	}
	o := Options{Config: cfg, Logger: NewLogger(cfg.Log, c.Stderr)}
	if isTerminal(c.Stderr) && cfg.Log.Format == "text" {
		o.Progress = c.Stderr
	}
	n, err := New(ctx, o)
	if err != nil {
		return err
	}
	n.log.Info("loading circuit keys", "shapes", cfg.Shapes)
	if err := n.WarmKeys(); err != nil {
		return err
	}
	return n.Run(ctx)
}
