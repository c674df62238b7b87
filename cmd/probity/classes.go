package main

import (
	"context"
	"fmt"
	"io"

	"github.com/probitylabs/probity/circuits/universal"
)

func init() {
	register("classes", "list the universal circuit's width classes and which keys are cached", runClasses)
}

type classRow struct {
	Name        string `json:"name"`
	ID          string `json:"id"`
	Label       string `json:"label"`
	Width       int    `json:"width"`
	Rows        int    `json:"rows"`
	Ops         int    `json:"ops"`
	ParamRows   int    `json:"paramRows"`
	Slots       []int  `json:"slots"`
	Constraints int    `json:"constraints,omitempty"`
	KeysCached  bool   `json:"keysCached"`
	KeyDir      string `json:"keyDir"`
}

func runClasses(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classes", "classes [--json] [--count] [--keys-dir DIR]\n\n"+
		"Lists the universal circuit's width classes (specs/circuit.md §2): the widest row, the\n"+
		"longest trace, the most ops and parameter rows one circuit takes, its sample slots per\n"+
		"family (op kinds 1..13, input, select), and whether keys are in the key cache. A class's\n"+
		"name is what `probity setup`, `vk`, `export-verifier` and `ceremony` take as --class.", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	count := fs.Bool("count", false, "compile every class to count its constraints (gpt2-small: minutes and GBs)")
	dir := keysDirFlag(fs, "dir")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	cache, err := keyCache(*dir)
	if err != nil {
		return err
	}
	var rows []classRow
	for _, c := range universal.Classes() {
		r := classRow{Name: c.Name, ID: idHex(c), Label: c.String(), Width: c.Width(), Rows: c.MaxRows(),
			Ops: 1<<c.OpDepth - 1, ParamRows: 1 << c.ParamDepth, Slots: c.Slots[1:],
			KeysCached: cached(cache, c), KeyDir: cache.EntryDir(c)}
		if *count {
			if r.Constraints, err = countConstraints(ctx, c); err != nil {
				return err
			}
		}
		rows = append(rows, r)
	}
	if *asJSON {
		return writeJSON(stdout, rows)
	}
	fmt.Fprintf(stdout, "%-11s %6s %5s %5s %7s %12s  %-6s  %s\n", "NAME", "WIDTH", "ROWS", "OPS", "PARAMS", "CONSTRAINTS", "KEYS", "CLASS ID")
	for _, r := range rows {
		cons, keys := cacheCells(r.Constraints, r.KeysCached)
		fmt.Fprintf(stdout, "%-11s %6d %5d %5d %7d %12s  %-6s  %s\n", r.Name, r.Width, r.Rows, r.Ops, r.ParamRows, cons, keys, r.ID)
	}
	return nil
}
