package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/models"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
)

// Generation is the text act's outcome: the buyer's prompt, the text the provider generated
// with the shipped model, the commitments it is bound to, and whether a cheating executor's
// delivery was refused.
type Generation struct {
	Prompt       string        `json:"prompt"`
	Text         string        `json:"text"`
	Tokens       int           `json:"tokens"`
	ModelRoot    string        `json:"modelRoot"`
	TraceRoot    string        `json:"traceRoot"`
	ResultDigest string        `json:"resultDigest"`
	Elapsed      time.Duration `json:"elapsedNs"`
	CheatRefused bool          `json:"cheatRefused"`
}

// demoPrompt and demoNew are the text act's job.
const (
	demoPrompt = "And God said, "
	demoNew    = 48
)

// generateAct: a buyer asks the shipped model for text; the provider's node runs the
// generation job on its executor and checks it; the buyer receives the tokens with the trace
// and checks them by recomputation; a falsified delivery is refused.
func (r *run) generateAct(ctx context.Context) error {
	r.printf("\nAct 7: a buyer asks a model for text; the provider generates it, the buyer checks it\n")
	m, err := models.KJV()
	if err != nil {
		return err
	}
	root, _ := m.Root()
	// The buyer keeps its model and job; the provider gets copies and delivers into its own
	// directory, so nothing the provider writes can change what the buyer checks against.
	buyerDir := filepath.Join(r.dir, "jobs", "4-generate-buyer")
	provDir := filepath.Join(r.dir, "jobs", "4-generate")
	for _, d := range []string{buyerDir, provDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := model.WriteFile(filepath.Join(d, "model.safetensors"), m); err != nil {
			return err
		}
	}
	buyerModel := filepath.Join(buyerDir, "model.safetensors")
	job, err := sdk.NewGeneration(buyerModel, sdk.BytePrompt(demoPrompt), demoNew, jobs.Selection{}, buyerDir)
	if err != nil {
		return err
	}
	jb, err := os.ReadFile(filepath.Join(buyerDir, jobs.JobFile))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(provDir, jobs.JobFile), jb, 0o644); err != nil {
		return err
	}
	r.printf("  buyer:    prompt %q, %d new tokens, argmax; model kjv-gpt2 (root %s)\n", demoPrompt, demoNew, abbrev(root.String()))
	start := time.Now()
	g, err := prover.Generate(ctx, prover.ReferenceExecutor{}, filepath.Join(provDir, "model.safetensors"), filepath.Join(provDir, jobs.JobFile), provDir)
	if err != nil {
		return fmt.Errorf("demo: generate: %w", err)
	}
	el := time.Since(start)
	r.printf("  provider: prefill and %d decode steps in %v; trace root %s, result digest %s\n",
		demoNew-1, el.Round(time.Millisecond), abbrev(g.TraceRoot.String()), abbrev(g.ResultDigest.String()))
	got, err := sdk.ReceiveGeneration(buyerModel, job, provDir)
	if err != nil {
		return fmt.Errorf("%w: the honest generation failed the buyer's check: %w", ErrUnexpected, err)
	}
	r.printf("  buyer:    every row of every op recomputed, roots match; the text is\n    %q\n", demoPrompt+got.Text())
	r.sum.Generation = Generation{Prompt: demoPrompt, Text: got.Text(), Tokens: len(got.Tokens), ModelRoot: root.String(),
		TraceRoot: got.TraceRoot, ResultDigest: got.ResultDigest, Elapsed: el}

	// A provider whose executor hands over made-up logits: the buyer's recomputation refuses
	// the delivery.
	cheat := filepath.Join(r.dir, "jobs", "5-generate-falsified")
	if err := os.MkdirAll(cheat, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cheat, jobs.JobFile), jb, 0o644); err != nil {
		return err
	}
	if err := prover.RunGenerationReference(ctx, filepath.Join(provDir, "model.safetensors"), filepath.Join(cheat, jobs.JobFile), cheat, 0.01, 7); err != nil {
		return err
	}
	_, err = sdk.ReceiveGeneration(buyerModel, job, cheat)
	if !errors.Is(err, model.ErrMismatch) {
		return fmt.Errorf("%w: a delivery with 1%% of its logits falsified was accepted (%v)", ErrUnexpected, err)
	}
	r.sum.Generation.CheatRefused = true
	r.printf("  a delivery with 1%% of its logits falsified is refused: %s\n", firstLine(strings.TrimPrefix(err.Error(), "delivered generation in "+cheat+": "), 100))
	r.printf("  (generation jobs are checked off chain by recomputation until their one-proof circuit settles them)\n")
	return nil
}

// abbrev shortens a decimal field element for a line of output.
func abbrev(s string) string {
	if len(s) <= 14 {
		return s
	}
	return s[:6] + "…" + s[len(s)-6:]
}
