package main

import (
	"sort"
	"strings"
	"testing"
)

// Every command and subcommand answers -h with exit 0: a usage line, a description, and its
// flags (none of them a deprecated alias); the group commands list their subcommands.
func TestEveryCommandHasHelp(t *testing.T) {
	var paths [][]string
	for name := range commands {
		if subs := subcommandNames[name]; subs != nil {
			for s := range subs {
				paths = append(paths, []string{name, s})
			}
		}
		paths = append(paths, []string{name})
	}
	sort.Slice(paths, func(i, j int) bool { return strings.Join(paths[i], " ") < strings.Join(paths[j], " ") })
	for _, p := range paths {
		name := strings.Join(p, " ")
		code, out, errs := runCLI(t, append(p, "-h")...)
		help := out + errs
		if code != exitOK {
			t.Errorf("%s -h: exit %d", name, code)
			continue
		}
		if !strings.HasPrefix(help, "Usage: probity "+p[0]) {
			t.Errorf("%s -h does not start with its usage line: %q", name, firstLine(help))
		}
		head, _, _ := strings.Cut(help, "\nFlags:\n")
		if lines := strings.Count(strings.TrimSpace(head), "\n"); lines < 2 {
			t.Errorf("%s -h has no description: %q", name, head)
		}
		if strings.Contains(help, deprecatedUsage) {
			t.Errorf("%s -h shows a deprecated alias", name)
		}
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
