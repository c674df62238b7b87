package main

import (
	"flag"
	"fmt"
	"io"
)

// Every command that reports something takes --json and prints the same facts as one JSON
// object on stdout instead of its text; amounts are decimal token units, as on the command
// line.

// jsonFlag is the --json flag.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print the result as one JSON object instead of text")
}

// emit prints v as JSON with --json, else the text line format renders.
func emit(w io.Writer, asJSON bool, v any, format string, args ...any) error {
	if asJSON {
		return writeJSON(w, v)
	}
	_, err := fmt.Fprintf(w, format+"\n", args...)
	return err
}

// wantJSON reports whether fs's --json flag (jsonFlag) was set.
func wantJSON(fs *flag.FlagSet) bool {
	f := fs.Lookup("json")
	return f != nil && f.Value.String() == "true"
}
