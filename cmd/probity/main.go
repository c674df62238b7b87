// Command probity is the one command-line tool of Probity: a thin layer over the sdk, prover,
// verifier and circuits packages. Every subcommand parses its flags, calls one package function
// and prints the result; errors are printed as "probity: error: ..." with an optional
// "probity: hint: ..." and a non-zero exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	gnarklog "github.com/consensys/gnark/logger"
)

// Exit statuses scripts can rely on.
const (
	exitOK       = 0
	exitFailed   = 1 // the command ran and the answer is "no" (e.g. a receipt failed verification)
	exitUsage    = 2 // bad flags or arguments
	exitInternal = 3 // the command could not run (I/O, RPC, bad input files)
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary: summary, run: run}
}

// usageError marks errors in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// hintError carries a hint printed after the error.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Unwrap() error { return e.err }

// failedError marks a negative answer rather than a failure to run.
type failedError struct{ err error }

func (e failedError) Error() string { return e.err.Error() }
func (e failedError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return hintError{err: err, hint: hint} }

func main() {
	// gnark logs every proof and verification at debug level to stdout through a global
	// logger (muted only inside `go test`). Stdout carries command results such as
	// `verify --json`, and the node logs through slog per its config; the commands report
	// their own timings, so gnark's lines are dropped.
	gnarklog.Disable()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	applyDeprecatedEnv(stderr)
	switch {
	case len(args) == 0:
		printUsage(stderr)
		return exitUsage
	case args[0] == "-h" || args[0] == "--help":
		printUsage(stdout)
		return exitOK
	case args[0] == "help":
		return help(ctx, args[1:], stdout, stderr)
	case args[0] == "__complete": // the completion scripts' helper (help.go)
		if len(args) > 1 && args[1] == "--" {
			args = args[1:]
		}
		complete(ctx, args[1:], stdout)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "probity: error: unknown command %q\nprobity: hint: run `probity help` for the list of commands\n", args[0])
		return exitUsage
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "probity: error: %v\n", err)
	var h hintError
	if errors.As(err, &h) {
		fmt.Fprintf(stderr, "probity: hint: %s\n", h.hint)
	}
	var u usageError
	var f failedError
	switch {
	case errors.As(err, &u):
		name := args[0]
		if len(args) > 1 && !strings.HasPrefix(args[1], "-") && subcommandOf(args[0], args[1]) {
			name += " " + args[1] // a subcommand's own flags
		}
		fmt.Fprintf(stderr, "probity: hint: run `probity %s -h` for usage\n", name)
		return exitUsage
	case errors.As(err, &f):
		return exitFailed
	default:
		return exitInternal
	}
}

// subcommandOf reports whether sub is a subcommand of name (registered with subcommands).
func subcommandOf(name, sub string) bool {
	return subcommandNames[name][sub]
}

// subcommandNames lists each command's subcommands, filled by subcommands().
var subcommandNames = map[string]map[string]bool{}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Probity: verifiable GPU compute.\n\nUsage: probity <command> [flags]; `probity help <command>` (or `probity <command> -h`) for each\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
}
