package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/probitylabs/probity/convert"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/models"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

func init() {
	registerGroup("model", "import a Hugging Face GPT-2 checkpoint as an integer model (and report its agreement)",
		sub{"import", "convert a GPT-2 checkpoint to an integer model file and measure its agreement", runModelImport})
	register("generate", "run a generation job locally (reference or command executor), check it and print the text", runGenerate)
	register("check-generation", "audit a delivered generation (trace and result) against your model and job, by full recomputation", runCheckGeneration)
}

func runCheckGeneration(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check-generation", "check-generation --model MODEL.safetensors --job JOB.safetensors DIR\n\n"+
		"Checks DIR/trace.safetensors and DIR/result.safetensors against your own model and job\n"+
		"files (never ones from DIR): both files' rules, the input rows and every token against the\n"+
		"trace's logits, and every row of every op recomputed with the reference ops. Prints the\n"+
		"tokens (text for a byte-level model), the trace root and the result digest.\n"+
		"Exit status: 0 the delivery checks, 1 it does not, 2 usage, 3 could not run.", stderr)
	modelPath := fs.String("model", "", "your integer model `file`")
	jobPath := fs.String("job", "", "your generation job `file`")
	asJSON := jsonFlag(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *modelPath == "":
		return usageError{"--model is required"}
	case *jobPath == "":
		return usageError{"--job is required"}
	case fs.NArg() != 1:
		return usageError{"check-generation takes the delivery directory"}
	}
	jb, err := os.ReadFile(*jobPath)
	if err != nil {
		return err
	}
	j, err := jobs.ParseJob(jb)
	if err != nil {
		return fmt.Errorf("%s: %w", *jobPath, err)
	}
	g, err := sdk.CheckDelivery(*modelPath, j, fs.Arg(0))
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) && filepath.Dir(pe.Path) == filepath.Clean(fs.Arg(0)) {
		return failedError{fmt.Errorf("the delivery in %s is incomplete: no %s", fs.Arg(0), filepath.Base(pe.Path))}
	}
	if errors.Is(err, model.ErrMismatch) || errors.Is(err, jobs.ErrFile) {
		return failedError{err}
	}
	if err != nil {
		return err
	}
	text, textOK := jobs.ByteText(append(append([]int32(nil), j.Prompt...), g.Tokens...))
	if *asJSON {
		r := generationReport{Tokens: g.Tokens, TraceRoot: g.TraceRoot.String(), ResultDigest: g.ResultDigest.String()}
		if textOK {
			r.Text = &text
		}
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "ok: %d tokens, every row of every op recomputed\n", len(g.Tokens))
	if textOK && plainText(text) {
		fmt.Fprintf(stdout, "text          %s\n", text)
	} else {
		fmt.Fprintf(stdout, "tokens        %v\n", g.Tokens)
	}
	fmt.Fprintf(stdout, "trace root    %s\nresult digest %s\n", g.TraceRoot.String(), g.ResultDigest.String())
	return nil
}

// readTokens reads calibration or held-out tokens: the bytes of a text file for a byte-level
// vocabulary (256 entries), or the I32 tensor "ids" of a safetensors file for any vocabulary.
func readTokens(path string, vocab int) ([]int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".safetensors") {
		f, err := tensor.Read(strings.NewReader(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		t, err := f.Int32("ids")
		if err != nil {
			return nil, fmt.Errorf("%s: want an I32 tensor \"ids\" [n]: %w", path, err)
		}
		if len(t.Shape) != 1 {
			return nil, fmt.Errorf("%s: tensor \"ids\" has shape %v, want [n]", path, t.Shape)
		}
		for i, id := range t.Data {
			if id < 0 || int(id) >= vocab {
				return nil, fmt.Errorf("%s: token %d at %d outside the vocabulary [0, %d)", path, id, i, vocab)
			}
		}
		return t.Data, nil
	}
	if vocab != 256 {
		return nil, withHint(fmt.Errorf("%s: text is read as bytes, but this vocabulary has %d entries", path, vocab),
			"tokenize the text with the checkpoint's tokenizer and pass the ids as a .safetensors file with an I32 tensor \"ids\"")
	}
	return jobs.ByteTokens(b), nil
}

func runModelImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("model import", "model import --checkpoint DIR --calibration FILE --heldout FILE --out MODEL.safetensors\n\n"+
		"Converts a float GPT-2 checkpoint in the Hugging Face layout (DIR/config.json and\n"+
		"DIR/model.safetensors; F32, F16 or BF16) into a Probity integer model (specs/model.md):\n"+
		"per-column weight scales, activation scales calibrated on the calibration tokens, softmax\n"+
		"and GELU tables. It then measures the integer model against the float one on the held-out\n"+
		"tokens (next-token top-1 agreement and cross-entropy) and prints the figures. Token files are\n"+
		"text (its bytes, for a byte-level vocabulary of 256) or .safetensors with an I32 tensor \"ids\".", stderr)
	ckpt := fs.String("checkpoint", "", "Hugging Face checkpoint `dir` (config.json, model.safetensors)")
	calib := fs.String("calibration", "", "calibration token `file`")
	held := fs.String("heldout", "", "held-out token `file` for the agreement figures")
	out := fs.String("out", "", "integer model `file` to write")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *ckpt == "":
		return usageError{"--checkpoint is required"}
	case *calib == "":
		return usageError{"--calibration is required"}
	case *held == "":
		return usageError{"--heldout is required"}
	case *out == "":
		return usageError{"--out is required"}
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	// Fail before the work, not after it, when the output cannot be written.
	if st, err := os.Stat(filepath.Dir(*out)); err != nil || !st.IsDir() {
		return fmt.Errorf("--out %s: the directory %s does not exist", *out, filepath.Dir(*out))
	}
	start := time.Now()
	g, err := convert.Load(*ckpt)
	if errors.Is(err, os.ErrNotExist) {
		return withHint(err, "--checkpoint is a Hugging Face save_pretrained directory with config.json and model.safetensors (a pytorch_model.bin-only checkpoint must be saved as safetensors first)")
	}
	if err != nil {
		return err
	}
	cal, err := readTokens(*calib, g.Vocab)
	if err != nil {
		return err
	}
	ho, err := readTokens(*held, g.Vocab)
	if err != nil {
		return err
	}
	const fewTokens = 1024
	if len(cal) < fewTokens || len(ho) < fewTokens {
		fmt.Fprintf(stderr, "probity: warning: %d calibration and %d held-out tokens: scales and agreement figures from fewer than %d tokens are unreliable\n", len(cal), len(ho), fewTokens)
	}
	st, err := convert.Calibrate(g, convert.Windows(cal, g.Positions))
	if err != nil {
		return err
	}
	m, logitScale, err := convert.Quantize(g, st)
	if err != nil {
		return err
	}
	a, err := convert.Agree(g, m, logitScale, convert.Windows(ho, g.Positions))
	if err != nil {
		return err
	}
	root, err := m.Root()
	if err != nil {
		return err
	}
	if err := model.WriteFile(*out, m); err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"model": *out, "modelRoot": root.String(), "ops": len(m.Ops), "logitScale": logitScale,
			"calibrationTokens": len(cal), "heldoutTokens": len(ho), "agreement": a, "seconds": time.Since(start).Seconds(),
			"checkpoint": map[string]any{"dir": *ckpt, "vocab": g.Vocab, "context": g.Positions, "width": g.Width, "heads": g.Heads, "blocks": g.Layers},
		})
	}
	fmt.Fprintf(stdout, "checkpoint  %s: GPT-2, vocab %d, context %d, width %d, %d heads, %d blocks\n",
		*ckpt, g.Vocab, g.Positions, g.Width, g.Heads, g.Layers)
	fmt.Fprintf(stdout, "calibrated  on %d tokens; held out %d tokens\n", len(cal), len(ho))
	fmt.Fprintf(stdout, "agreement   %s\n", a)
	fmt.Fprintf(stdout, "logit scale %.6g (for `probity generate --logit-scale` with --temperature)\n", logitScale)
	fmt.Fprintf(stdout, "wrote       %s: %d ops, model root %s (%v)\n", *out, len(m.Ops), root.String(), time.Since(start).Round(time.Millisecond))
	return nil
}

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", "generate --model MODEL.safetensors (--prompt TEXT | --prompt-ids 1,2,3) --new N --out DIR\n\n"+
		"Writes the generation job (DIR/job.safetensors), runs it on the executor (the Go reference\n"+
		"by default, or --exec-command, run as `CMD... MODEL JOB OUTDIR` per specs/trace.md §7),\n"+
		"checks the executor's trace and result as a node does, and prints the tokens (as text for\n"+
		"a byte-level model), the trace root and the result digest. Selection is argmax unless\n"+
		"--temperature is given (then top-k sampling with --top-k, --seed and the model's --logit-scale).", stderr)
	modelPath := fs.String("model", "", "integer model `file`")
	prompt := fs.String("prompt", "", "prompt `text` (byte-level models)")
	promptIDs := fs.String("prompt-ids", "", "prompt token `ids`, comma-separated")
	n := fs.Int("new", 32, "`number` of tokens to generate")
	out := fs.String("out", "", "job `dir` for job.safetensors, trace.safetensors and result.safetensors")
	temp := fs.Float64("temperature", 0, "sampling `temperature` (0: argmax)")
	topK := fs.Int("top-k", 40, "sample among the `k` largest logits")
	seed := fs.Uint64("seed", 1, "sampling `seed` (the buyer's; part of the job)")
	logitScale := fs.Float64("logit-scale", 0, "the model's logit `scale`, as `probity model import` prints it (needed with --temperature)")
	execCmd := fs.String("exec-command", "", "executor `command` (split on spaces; model, job and output dir are appended)")
	asJSON := jsonFlag(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	switch {
	case *modelPath == "":
		return usageError{"--model is required"}
	case *out == "":
		return usageError{"--out is required"}
	case (*prompt == "") == (*promptIDs == ""):
		return usageError{"give one of --prompt and --prompt-ids"}
	case *temp < 0:
		return usageError{"--temperature must be positive (0 or absent: argmax)"}
	case *temp > 0 && *logitScale <= 0:
		return withHint(usageError{"--temperature needs --logit-scale"},
			fmt.Sprintf("`probity model import` prints the model's logit scale; the shipped models/kjv-gpt2.safetensors has %v", models.KJVLogitScale))
	case fs.NArg() > 0:
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *temp == 0 {
		var stray []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "top-k" || f.Name == "seed" || f.Name == "logit-scale" {
				stray = append(stray, "--"+f.Name)
			}
		})
		if len(stray) > 0 {
			return usageError{fmt.Sprintf("%s: sampling flags, which need --temperature", strings.Join(stray, ", "))}
		}
	}
	m, err := model.ReadFile(*modelPath)
	if errors.Is(err, model.ErrLayout) {
		return withHint(err, "--model is a Probity integer model; convert a Hugging Face checkpoint with `probity model import` first")
	}
	if err != nil {
		return err
	}
	root, err := m.Root()
	if err != nil {
		return err
	}
	j := &jobs.GenJob{ModelRoot: root, New: *n}
	if *prompt != "" {
		j.Prompt = jobs.ByteTokens([]byte(*prompt))
	} else {
		for _, s := range strings.Split(*promptIDs, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil {
				return usageError{fmt.Sprintf("--prompt-ids: %q is not a token id", s)}
			}
			j.Prompt = append(j.Prompt, int32(v))
		}
	}
	if *temp > 0 {
		j.Select = jobs.Selection{Sample: true, Table: model.ExpTableFor(*logitScale / *temp), K: *topK, Seed: *seed}
	}
	c, err := j.Check(m)
	if errors.Is(err, jobs.ErrInvalidJob) {
		// The job is what the flags asked for: a usage error, named in flag terms.
		msg := strings.Replace(err.Error(), "sample k", "--top-k", 1)
		return usageError{msg}
	}
	if err != nil {
		return err
	}
	jb, err := jobs.EncodeJob(j)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	jobPath := filepath.Join(*out, jobs.JobFile)
	if err := os.WriteFile(jobPath, jb, 0o644); err != nil {
		return err
	}
	var ex prover.Executor = prover.ReferenceExecutor{}
	if *execCmd != "" {
		ex = prover.CommandExecutor{Args: append(strings.Fields(*execCmd), "{model}", "{job}", "{out}")}
	}
	start := time.Now()
	g, err := prover.Generate(ctx, ex, *modelPath, jobPath, *out)
	if err != nil {
		return err
	}
	el := time.Since(start)
	if *asJSON {
		r := generationReport{Tokens: g.Tokens, TraceRoot: g.TraceRoot.String(), ResultDigest: g.ResultDigest.String(),
			Rows: g.Trace.T, Seconds: el.Seconds()}
		if text, ok := jobs.ByteText(append(append([]int32(nil), j.Prompt...), g.Tokens...)); ok && c.Vocab == 256 {
			r.Text = &text
		}
		return writeJSON(stdout, r)
	}
	if text, ok := jobs.ByteText(append(append([]int32(nil), j.Prompt...), g.Tokens...)); c.Vocab == 256 && ok && plainText(text) {
		fmt.Fprintf(stdout, "%s\n", text) // the prompt and its continuation
	} else if c.Vocab == 256 {
		fmt.Fprintf(stdout, "%q\n", text)
	} else {
		fmt.Fprintf(stdout, "tokens        %v\n", g.Tokens)
	}
	fmt.Fprintf(stdout, "trace root    %s (%d rows, %d tensors)\n", g.TraceRoot.String(), g.Trace.T, len(g.Roots))
	fmt.Fprintf(stdout, "result digest %s\n", g.ResultDigest.String())
	fmt.Fprintf(stdout, "generated     %d tokens in %v (%.1f tokens/s, executor and checks; the node rechecks %d rows of every op, `probity check-generation` all of them)\n",
		len(g.Tokens), el.Round(time.Millisecond), float64(len(g.Tokens))/el.Seconds(), prover.GenerationChecks)
	return nil
}

// generationReport is `generate --json` and `check-generation --json`: Text (the prompt and
// its continuation) only for a byte-level model.
type generationReport struct {
	Tokens       []int32 `json:"tokens"`
	Text         *string `json:"text,omitempty"`
	TraceRoot    string  `json:"traceRoot"`
	ResultDigest string  `json:"resultDigest"`
	Rows         int     `json:"rows,omitempty"`
	Seconds      float64 `json:"seconds,omitempty"`
}

// plainText is true for text without control characters other than newline and tab, so it is
// printed as is; anything else is quoted.
func plainText(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
