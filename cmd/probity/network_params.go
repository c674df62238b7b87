package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/probitylabs/probity/sdk"
)

// The SLA manager's governance parameters (settlement.md §10, §11).

func init() {
	registerGroup("params", "the SLA manager's governance parameters: show them, or set them (governance)",
		sub{"show", "the current parameters", runParamsShow},
		sub{"set", "change parameters (governance)", runParamsSet})
}

// paramsReport is `params show --json`.
type paramsReport struct {
	Manager           string `json:"manager"`
	DetectionFloorBps uint16 `json:"detectionFloorBps"`
	BountyBps         uint16 `json:"bountyBps"`
	AbandonBps        uint16 `json:"abandonBps"`
	MinExecWindow     uint32 `json:"minExecWindow"`  // seconds
	MinProveWindow    uint32 `json:"minProveWindow"` // seconds
}

func runParamsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("params show", "params show [--json] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints the SLA manager's governance parameters: the detection floor, the slashing bounty\n"+
		"and abandonment fee (fixed per job when it is locked) and the shortest exec and prove\n"+
		"windows a request may carry.", stderr)
	n := addNetFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	c, err := n.connect(ctx, false)
	if err != nil {
		return err
	}
	return showParams(ctx, c, *asJSON, stdout)
}

func showParams(ctx context.Context, c *sdk.Client, asJSON bool, w io.Writer) error {
	p, err := c.Market().Params(ctx)
	if err != nil {
		return fromChain(err)
	}
	r := paramsReport{Manager: c.Addresses().Manager.Hex(), DetectionFloorBps: p.DetectionFloorBps, BountyBps: p.BountyBps,
		AbandonBps: p.AbandonBps, MinExecWindow: p.MinExecWindow, MinProveWindow: p.MinProveWindow}
	if asJSON {
		return writeJSON(w, r)
	}
	bps := func(v uint16) string { return fmt.Sprintf("%d bps (%d.%02d%%)", v, v/100, v%100) }
	secs := func(v uint32) string { return (time.Duration(v) * time.Second).String() }
	fmt.Fprintf(w, "manager            %s\ndetection floor    %s (f0, settlement.md §7)\nslash bounty       %s of the stake, to the slasher\n"+
		"abandonment fee    %s of the stake, to the buyer\nmin exec window    %s\nmin prove window   %s\n",
		r.Manager, bps(r.DetectionFloorBps), bps(r.BountyBps), bps(r.AbandonBps), secs(r.MinExecWindow), secs(r.MinProveWindow))
	return nil
}

func runParamsSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("params set", "params set [--min-exec-window D] [--min-prove-window D] [--abandon-bps N] [--bounty-bps N]\n"+
		"       [--detection-floor-bps N] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Sets governance parameters of the SLA manager (its owner only) and prints them all. Window\n"+
		"minimums apply to requests posted or locked from now on; the bounty and abandonment fee to\n"+
		"jobs locked from now on. The contract bounds them (a revert names the bound).", stderr)
	n := addNetFlags(fs, true)
	minExec := fs.Duration("min-exec-window", 0, "shortest exec window (lock to commit) a request may carry")
	minProve := fs.Duration("min-prove-window", 0, "shortest prove window (seed fixed to proof) a request may carry")
	abandon := fs.Int("abandon-bps", -1, "abandonment fee, basis points of the stake")
	bounty := fs.Int("bounty-bps", -1, "slashing bounty, basis points of the stake")
	floor := fs.Int("detection-floor-bps", -1, "detection floor f0, basis points")
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["min-exec-window"] && !set["min-prove-window"] && !set["abandon-bps"] && !set["bounty-bps"] && !set["detection-floor-bps"] {
		return usageError{"nothing to set: give at least one of --min-exec-window, --min-prove-window, --abandon-bps, --bounty-bps, --detection-floor-bps"}
	}
	for name, d := range map[string]time.Duration{"min-exec-window": *minExec, "min-prove-window": *minProve} {
		if set[name] && (d < time.Second || d%time.Second != 0) {
			return usageError{fmt.Sprintf("--%s %v: a whole number of seconds, at least 1s", name, d)}
		}
	}
	for name, v := range map[string]int{"abandon-bps": *abandon, "bounty-bps": *bounty, "detection-floor-bps": *floor} {
		if set[name] && (v < 0 || v > 10000) {
			return usageError{fmt.Sprintf("--%s %d: basis points are 0 to 10000", name, v)}
		}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	m := c.Market()
	if set["min-exec-window"] || set["min-prove-window"] {
		// One call sets both: keep the one not given.
		p, err := m.Params(ctx)
		if err != nil {
			return fromChain(err)
		}
		exec, prove := p.MinExecWindow, p.MinProveWindow
		if set["min-exec-window"] {
			exec = uint32(minExec.Seconds())
		}
		if set["min-prove-window"] {
			prove = uint32(minProve.Seconds())
		}
		if _, err := m.SetMinWindows(ctx, exec, prove); err != nil {
			return fromChain(fmt.Errorf("set minimum windows: %w", err))
		}
	}
	if set["abandon-bps"] {
		if _, err := m.SetAbandonBps(ctx, uint16(*abandon)); err != nil {
			return fromChain(fmt.Errorf("set abandonment fee: %w", err))
		}
	}
	if set["bounty-bps"] {
		if _, err := m.SetBountyBps(ctx, uint16(*bounty)); err != nil {
			return fromChain(fmt.Errorf("set bounty: %w", err))
		}
	}
	if set["detection-floor-bps"] {
		if _, err := m.SetDetectionFloorBps(ctx, uint16(*floor)); err != nil {
			return fromChain(fmt.Errorf("set detection floor: %w", err))
		}
	}
	return showParams(ctx, c, *asJSON, stdout)
}
