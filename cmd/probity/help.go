package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
)

// `probity help [CMD [SUB]]`, `probity version` and `probity completion SHELL` (with the
// hidden `probity __complete`, which the completion scripts call).

func init() {
	register("version", "print this build's version, commit and Go version", runVersion)
	register("completion", "print a shell completion script: bash, zsh or fish", runCompletion)
}

// help runs `probity help`: the command list, or CMD's (or CMD SUB's) -h on stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stdout)
		return exitOK
	}
	if _, ok := commands[args[0]]; !ok {
		fmt.Fprintf(stderr, "probity: error: unknown command %q\nprobity: hint: run `probity help` for the list of commands\n", args[0])
		return exitUsage
	}
	return run(ctx, append(append([]string{}, args...), "-h"), stdout, stdout)
}

// versionReport is `version --json`.
type versionReport struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Protocol string `json:"protocol"`
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version [--json]\n\n"+
		"Prints the module version (\"(devel)\" for a build from a checkout), the VCS commit it was\n"+
		"built from, the Go version and the protocol version it speaks.", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	r := versionReport{Version: "(unknown)", Protocol: "v1"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		r.Version, r.Go = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				r.Commit = s.Value
			case "vcs.modified":
				r.Modified = s.Value == "true"
			}
		}
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	commit := r.Commit
	if commit == "" {
		commit = "unknown commit"
	} else if r.Modified {
		commit += ", modified"
	}
	fmt.Fprintf(stdout, "probity %s (%s), %s, protocol %s\n", r.Version, commit, r.Go, r.Protocol)
	return nil
}

// completionScripts call `probity __complete -- WORD...` with the words after `probity`, the
// last one the word being completed, and offer what it prints, one candidate a line.
var completionScripts = map[string]string{
	"bash": `# bash completion for probity: source <(probity completion bash)
_probity() {
	local IFS=$'\n'
	COMPREPLY=($(probity __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _probity probity
`,
	"zsh": `#compdef probity
# zsh completion for probity: source <(probity completion zsh)
_probity() {
	local -a candidates
	candidates=(${(f)"$(probity __complete -- ${words[2,CURRENT]} 2>/dev/null)"})
	compadd -a candidates
}
compdef _probity probity
`,
	"fish": `# fish completion for probity: probity completion fish | source
complete -c probity -f -a '(probity __complete -- (commandline -opc)[2..-1] (commandline -ct))'
`,
}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("completion", "completion bash|zsh|fish\n\n"+
		"Prints a completion script for the shell: commands, subcommands and each one's flags.\n"+
		"  bash: source <(probity completion bash)   (or save it in ~/.local/share/bash-completion/completions/probity)\n"+
		"  zsh:  source <(probity completion zsh)    (or save it as _probity in a directory of $fpath)\n"+
		"  fish: probity completion fish > ~/.config/fish/completions/probity.fish", stderr)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"completion takes one shell: bash, zsh or fish"}
	}
	script, ok := completionScripts[fs.Arg(0)]
	if !ok {
		return usageError{fmt.Sprintf("no completion for shell %q: bash, zsh or fish", fs.Arg(0))}
	}
	_, err := io.WriteString(stdout, script)
	return err
}

// flagLine is a flag in -h output ("  -name value").
var flagLine = regexp.MustCompile(`(?m)^  -([a-zA-Z0-9][a-zA-Z0-9-]*)`)

// complete prints the candidates for the last of words (the words after `probity`): a
// command, a group's subcommand, or a flag of the command, read from its own -h.
func complete(ctx context.Context, words []string, stdout io.Writer) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	var candidates []string
	switch {
	case len(before) == 0:
		for n := range commands {
			candidates = append(candidates, n)
		}
		candidates = append(candidates, "help")
	case len(before) == 1 && subcommandNames[before[0]] != nil && !strings.HasPrefix(cur, "-"):
		for s := range subcommandNames[before[0]] {
			candidates = append(candidates, s)
		}
	case strings.HasPrefix(cur, "-") && commands[before[0]].run != nil:
		path := before[:1]
		if len(before) > 1 && subcommandOf(before[0], before[1]) {
			path = before[:2]
		}
		var usage bytes.Buffer
		run(ctx, append(append([]string{}, path...), "-h"), io.Discard, &usage)
		for _, m := range flagLine.FindAllStringSubmatch(usage.String(), -1) {
			candidates = append(candidates, "--"+m[1])
		}
	}
	sort.Strings(candidates)
	for _, c := range candidates {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(stdout, c)
		}
	}
}
