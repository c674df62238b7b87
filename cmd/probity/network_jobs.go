package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/sdk"
)

// Buyer commands: ask for a generation (a signed offer, or posted on chain), follow it,
// read its result and receipt, cancel it; and slash (anyone).

func init() {
	register("ask", "buyer: ask for n tokens of a model after a prompt: a signed offer (--book, no gas) or posted on chain", runAsk)
	registerGroup("job", "a job: status, result (its text from the chain), wait, reveal, cancel, receipt, finalize",
		sub{"status", "the job's state, parties, deadline, seed and commitment", runJobStatus},
		sub{"result", "the generated tokens and text from JobProved", runJobResult},
		sub{"wait", "follow the job, reveal the seed secret, print the result once proved", runJobWait},
		sub{"reveal", "reveal the job's seed secret from the buyer directory", runJobReveal},
		sub{"cancel", "cancel an open job (escrow credited) or revoke an offer", runJobCancel},
		sub{"receipt", "fetch the provider's receipt, accepted only as the one JobProved names", runJobReceipt},
		sub{"finalize", "settle a proved job whose challenge window ended (anyone)", runJobFinalize})
	register("slash", "slash a job whose provider missed its commit or proof deadline (anyone; earns the bounty)", runSlash)
}

// askReport is `ask --json`.
type askReport struct {
	JobID      string `json:"jobId"`
	ModelRoot  string `json:"modelRoot"`
	Class      string `json:"classId"`
	NewTokens  uint32 `json:"newTokens"`
	Price      string `json:"price"`
	LockBy     uint64 `json:"lockBy"`
	JobFile    string `json:"jobFile"`
	JobURI     string `json:"jobUri"`
	SeedSecret string `json:"seedSecretFile"`
	// Offer is the signed offer's file (--book); Posted the block of the JobPosted event.
	Offer  string `json:"offer,omitempty"`
	Posted uint64 `json:"postedBlock,omitempty"`
}

// seconds reads a window flag as whole seconds (0 keeps the SDK's default).
func seconds(name string, d time.Duration, max uint64) (uint64, error) {
	if d < 0 || d%time.Second != 0 || uint64(d/time.Second) > max {
		return 0, usageError{fmt.Sprintf("--%s %v: a whole number of seconds from 0 (the default) to %v", name, d, time.Duration(max)*time.Second)}
	}
	return uint64(d / time.Second), nil
}

// promptTokens reads --prompt-tokens: comma-separated token ids.
func promptTokens(s string) ([]int32, error) {
	var out []int32
	for i, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil || v < 0 {
			return nil, usageError{fmt.Sprintf("--prompt-tokens: item %d (%q) is not a token id (a non-negative integer)", i+1, f)}
		}
		out = append(out, int32(v))
	}
	return out, nil
}

func runAsk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("ask", "ask --model FILE (--prompt TEXT | --prompt-tokens 1,2,3) --tokens N --price X [--class NAME]\n"+
		"      [--book URI] [--job-uri-base URL] [--lock-within D] [--exec-window D] [--prove-window D]\n"+
		"      [--challenge-window D] [--buyer-dir DIR] [--json] --key FILE [--rpc URL] [--deployment FILE]\n"+
		"      "+hardwareSynopsis+"\n\n"+
		"Prepares a generation job (specs/trace.md): N new tokens of the model after the prompt\n"+
		"(--prompt: text for a byte-level model such as models/kjv-gpt2.safetensors), proved by\n"+
		"--class (default: the class the catalogue gives the model). It writes the job file into\n"+
		"the buyer directory and the job's random seed secret beside it (0600), then either\n"+
		"  --book URI  signs the request and writes the offer into that file:// order book: no\n"+
		"              transaction; the provider that takes it escrows --price from the escrow\n"+
		"              balance (`probity deposit`) or the allowance when it locks, or\n"+
		"  (no --book) posts the request on chain, escrowing --price now.\n"+
		"Prints the job id, the job file and the seed secret's file. `probity job wait ID` reveals\n"+
		"the secret once the job is committed and prints the text read from the chain.\n"+
		"Providers fetch the job file at its file:// URI unless --job-uri-base names where the\n"+
		"buyer directory's jobs/ is served (URL/<jobId>/job.safetensors).", stderr)
	n := addNetFlags(fs, true)
	buyerDir := addBuyerDir(fs)
	modelFile := fs.String("model", "", "model `file` (specs/model.md)")
	prompt := fs.String("prompt", "", "prompt `text` (byte-level models: one token per byte)")
	promptIDs := fs.String("prompt-tokens", "", "prompt as comma-separated token `ids`")
	newTokens := fs.Int("tokens", 0, "`n`, the number of tokens to generate (1 to 4096)")
	price := fs.String("price", "", "price: "+amountHelp)
	className := fs.String("class", "", "width class `name` that proves the job (default: the model's catalogue entry)")
	book := fs.String("book", "", "order book `uri` (file://DIR) to write a signed offer into; without it the job is posted on chain")
	uriBase := fs.String("job-uri-base", "", "`url` at which the buyer directory's jobs/ is served (default: file:// URIs)")
	lockWithin := fs.Duration("lock-within", 0, "how long from now a provider may lock (default 1h)")
	execWindow := fs.Duration("exec-window", 0, "lock to commit deadline (default 1h, at least the deployment's minimum: `probity params show`)")
	proveWindow := fs.Duration("prove-window", 0, "seed fixed to proof deadline (default 1h, at least the deployment's minimum)")
	challengeWindow := fs.Duration("challenge-window", 0, "proof to payment (default 0: paid with the proof)")
	asJSON := fs.Bool("json", false, "print JSON")
	hardware := addHardwareFlags(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	g := sdk.Generation{NewTokens: *newTokens}
	if g.Hardware, err = hardware.requirement(); err != nil {
		return err
	}
	switch {
	case (*prompt == "") == (*promptIDs == ""):
		return usageError{"give exactly one of --prompt TEXT and --prompt-tokens 1,2,3"}
	case *promptIDs != "":
		if g.Prompt, err = promptTokens(*promptIDs); err != nil {
			return err
		}
	default:
		g.Text = *prompt
	}
	if *newTokens < 1 || *newTokens > 4096 {
		return usageError{fmt.Sprintf("--tokens %d: the number of tokens to generate, 1 to 4096", *newTokens)}
	}
	if g.Price, err = parseAmount("price", *price); err != nil {
		return err
	}
	var lw, ew, pw, cw uint64
	if lw, err = seconds("lock-within", *lockWithin, 1<<40); err != nil {
		return err
	}
	if ew, err = seconds("exec-window", *execWindow, 30*86400); err != nil {
		return err
	}
	if pw, err = seconds("prove-window", *proveWindow, 30*86400); err != nil {
		return err
	}
	if cw, err = seconds("challenge-window", *challengeWindow, 30*86400); err != nil {
		return err
	}
	g.LockWithin, g.ExecWindow, g.ProveWindow, g.ChallengeWindow = lw, uint32(ew), uint32(pw), uint32(cw)
	if *className != "" {
		if g.Class, err = lookupClass("class", *className); err != nil {
			return err
		}
	}
	if *book != "" {
		if u, err := url.Parse(*book); err != nil || u.Scheme != "file" || u.Path == "" {
			return usageError{fmt.Sprintf("--book %q: an order book is a file:// directory URI (file:///abs/dir)", *book)}
		}
	}
	if *uriBase != "" {
		if u, err := url.Parse(*uriBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError{fmt.Sprintf("--job-uri-base %q: want an http(s) URL", *uriBase)}
		}
	}
	if g.Model, _, err = readModel("model", *modelFile); err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	buyerClient(c, *buyerDir)
	// Prepare writes the job file before the job id is known: into a fresh directory, renamed
	// to jobs/<jobId> once it is. The request does not carry the URI, so the id stays.
	if err := os.MkdirAll(filepath.Join(*buyerDir, "jobs"), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Join(*buyerDir, "jobs"), ".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after the rename; left only on failure
	g.JobDir = tmp
	job, err := c.Prepare(ctx, g)
	switch {
	case errors.Is(err, sdk.ErrGeneration):
		// The request is well formed but not one this model, class or deployment takes
		// (a prompt the model cannot read, a job over the class, a retired class): a "no".
		return failedError{err}
	case err != nil:
		return fromChain(err)
	}
	// Each job has its own directory, named by its id (the request's digest, which a fresh
	// salt makes unique): no job's files ever replace another's. One the chain refused is
	// removed again with its secret, so that the buyer directory lists only real jobs.
	dir := jobDir(*buyerDir, job.ID)
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	sent := false
	defer func() {
		if !sent {
			os.RemoveAll(dir)
			os.Remove(secretPath(*buyerDir, job.ID))
		}
	}()
	abs, err := filepath.Abs(filepath.Join(dir, "job.safetensors"))
	if err != nil {
		return err
	}
	job.JobURI = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	if *uriBase != "" {
		job.JobURI = strings.TrimRight(*uriBase, "/") + "/" + job.ID.String() + "/job.safetensors"
	}
	r := askReport{JobID: job.ID.String(), ModelRoot: job.Request.ModelRoot.String(), Class: common.Hash(job.Request.ClassId).Hex(),
		NewTokens: job.Request.NewTokens, Price: formatAmount(job.Request.Price), LockBy: job.Request.LockBy, JobFile: abs,
		JobURI: job.JobURI, SeedSecret: secretPath(*buyerDir, job.ID)}
	if abs, err := filepath.Abs(r.SeedSecret); err == nil {
		r.SeedSecret = abs
	}
	if *book != "" {
		o, err := c.Offer(ctx, job, *book)
		var esc *sdk.EscrowError
		switch {
		case errors.As(err, &esc):
			return failedError{withHint(err, fmt.Sprintf("`probity deposit --amount %s` escrows it ahead (no allowance needed)", formatAmount(job.Request.Price)))}
		case err != nil:
			return fromChain(err)
		}
		u, _ := url.Parse(*book)
		r.Offer = filepath.Join(filepath.FromSlash(u.Path), job.ID.String()+".json")
		_ = o
	} else {
		p, err := c.Post(ctx, job)
		if err != nil {
			return fromChain(err)
		}
		r.Posted = p.BlockNumber
	}
	sent = true
	if err := saveRecord(*buyerDir, job); err != nil {
		return fmt.Errorf("job %s is out, but its record could not be written: %w", job.ID, err)
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	row := func(k, v string) { fmt.Fprintf(stdout, "%-12s %s\n", k, v) }
	row("job", r.JobID)
	row("model root", r.ModelRoot)
	row("class", r.Class)
	row("tokens", fmt.Sprint(r.NewTokens))
	row("price", r.Price)
	row("lock by", unixTime(r.LockBy))
	row("job file", r.JobFile)
	row("job uri", r.JobURI)
	row("seed secret", r.SeedSecret+" (keep it from providers; `probity job wait "+r.JobID+"` reveals it)")
	if r.Offer != "" {
		row("offer", r.Offer+" (signed, no transaction; escrowed when a provider locks it)")
	} else {
		row("posted", fmt.Sprintf("block %d (price escrowed)", r.Posted))
	}
	return nil
}

// jobFlags are the flags of every `job` subcommand.
type jobFlags struct {
	net      *netFlags
	buyerDir *string
}

func parseJobCommand(name, synopsis string, args []string, stderr io.Writer, extra func(*jobCmd)) (*jobCmd, error) {
	fs := newCommandFlags(name, synopsis, stderr)
	j := &jobCmd{f: jobFlags{net: addNetFlags(fs, true), buyerDir: addBuyerDir(fs)}}
	j.fromBlock = fs.Uint64("from-block", 0, "first `block` searched for the job's events (at or before the one that created it)")
	j.fs = fs
	j.json = jsonFlag(fs)
	if extra != nil {
		extra(j)
	}
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return nil, err
	}
	if j.id, err = jobIDArg(pos); err != nil {
		return nil, err
	}
	return j, nil
}

type jobCmd struct {
	fs        *flag.FlagSet
	f         jobFlags
	fromBlock *uint64
	json      *bool
	id        *big.Int
	c         *sdk.Client
}

// client connects and attaches the buyer directory.
func (j *jobCmd) client(ctx context.Context, keyRequired bool) (*sdk.Client, error) {
	c, err := j.f.net.connect(ctx, keyRequired)
	if err != nil {
		return nil, err
	}
	c.FromBlock = *j.fromBlock
	buyerClient(c, *j.f.buyerDir)
	j.c = c
	return c, nil
}

// withTimeout bounds ctx by d (0: no bound).
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// jobEnd maps the SDK's final outcomes to exit 1 and a timeout to a hint.
func jobEnd(id *big.Int, err error) error {
	switch {
	case errors.Is(err, sdk.ErrJobSlashed), errors.Is(err, sdk.ErrJobCancelled), errors.Is(err, sdk.ErrRevealMissed):
		return failedError{fmt.Errorf("job %s: %w", id, err)}
	case errors.Is(err, context.DeadlineExceeded):
		return withHint(fmt.Errorf("job %s: gave up waiting (--timeout)", id), "`probity job status "+id.String()+"` shows where it stands")
	}
	return fromChain(err)
}

// textOf is tokens as text when every one is a byte (a byte-level model's output).
func textOf(tokens []uint32) (string, bool) {
	b := make([]byte, len(tokens))
	for i, t := range tokens {
		if t > 255 {
			return "", false
		}
		b[i] = byte(t)
	}
	return string(b), true
}
