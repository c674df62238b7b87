package watcher

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/fetch"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
)

// Proved is what the chain says about a proved job: its request and job URI (JobPosted),
// the committed trace root (JobCommitted), the tokens and their digest (JobProved).
type Proved struct {
	JobID        *big.Int
	ModelRoot    *big.Int
	JobDigest    *big.Int
	NewTokens    uint32
	JobURI       string
	TraceRoot    *big.Int
	ResultDigest *big.Int
	Tokens       []int32
}

// Verdict is what checking a proved job found.
type Verdict struct {
	// Status is StatusHonest, StatusSkipped, StatusWithheld, StatusChallenging with Fault, or
	// StatusSearching with Search.
	Status Status
	Reason string
	Fault  *jobs.Fault
	Search *jobs.Search
	// Elements is how many elements were recomputed.
	Elements int64
	// Retry says the verdict may change if asked again (a download failed, or the trace does
	// not open the commitment yet): the watcher asks again until the window closes.
	Retry bool
}

// maxJobFileBytes bounds a job file: the longest prompt any class takes encodes in far less.
const maxJobFileBytes = 64 << 20

// checker fetches and recomputes proved jobs of the models it holds.
type checker struct {
	fetch         *fetch.Fetcher
	models        map[string]*model.Model // by model root, decimal
	maxTraceBytes int64
	// search: a withheld trace is searched with data challenges (else reported withheld).
	search bool
}

// check decides one proved job (specs/trace.md §8): the job file must be the one the request
// names and its model one the watcher holds (else skipped), the published trace must open the
// committed trace root (else it is withheld: see withheld), and then FindFault names the first
// wrong element.
// An error is transient (the chain or a download failed for a reason worth retrying).
func (c *checker) check(ctx context.Context, p *Proved) (Verdict, error) {
	skip := func(format string, a ...any) (Verdict, error) {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf(format, a...)}, nil
	}
	m := c.models[p.ModelRoot.String()]
	if m == nil {
		return skip("model %#x is not held", p.ModelRoot)
	}
	b, err := c.fetch.Get(ctx, p.JobURI, maxJobFileBytes)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Verdict{}, err
		}
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("job file: %v", err), Retry: true}, nil
	}
	job, err := jobs.CheckJobFile(protocol.Request{ModelRoot: p.ModelRoot, JobDigest: p.JobDigest, NewTokens: p.NewTokens}, b)
	if err != nil {
		return skip("the job file at %s is not the request's: %v", p.JobURI, err)
	}
	ck, err := job.Check(m)
	if err != nil {
		return skip("job: %v", err)
	}
	// A trace file is its tensors and a header of one entry per tensor.
	data, err := job.TraceBytes(m)
	if err != nil {
		return skip("job: %v", err)
	}
	limit := min(c.maxTraceBytes, data+int64(len(m.Ops)+1)*256+4096)
	withheld := func(format string, a ...any) (Verdict, error) {
		return c.withheld(ck, p, fmt.Sprintf(format, a...))
	}
	u, err := jobs.TraceURL(p.JobURI, p.TraceRoot)
	if err != nil {
		return skip("%v", err)
	}
	tb, err := c.fetch.Get(ctx, u.String(), limit)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Verdict{}, err
		}
		return withheld("trace: %v", err)
	}
	tr, err := jobs.ParseTrace(m, tb)
	if err != nil {
		return withheld("trace at %s: %v", u.Redacted(), err)
	}
	if tr.T != job.Rows() {
		return withheld("trace at %s has %d rows, the job %d", u.Redacted(), tr.T, job.Rows())
	}
	g, err := ck.Commit(tr, p.Tokens)
	if err != nil {
		return withheld("trace at %s: %v", u.Redacted(), err)
	}
	if got := commit.ToBig(g.TraceRoot); got.Cmp(p.TraceRoot) != 0 {
		return withheld("the trace at %s opens root %#x, the commitment is %#x", u.Redacted(), got, p.TraceRoot)
	}
	if got := commit.ToBig(g.ResultDigest); got.Cmp(p.ResultDigest) != 0 {
		// Not reached for a JobProved event: the manager computed the digest of these tokens.
		return skip("the tokens give result digest %#x, the chain %#x", got, p.ResultDigest)
	}
	n := elements(tr, p.Tokens)
	f, err := ck.FindFault(tr, p.Tokens)
	if err != nil {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("recomputation: %v", err), Elements: n}, nil
	}
	if f == nil {
		return Verdict{Status: StatusHonest, Elements: n}, nil
	}
	return Verdict{Status: StatusChallenging, Fault: f, Reason: f.Reason, Elements: n}, nil
}

// withheld decides a job whose trace is not published (or does not open its root) from the
// honest recomputation: a committed root that is the job's own means the committed trace is
// the honest one, checked without the file (only the tokens can be wrong); any other root is
// searched with data challenges (settlement.md §10), unless searching is off, when the job is
// withheld and asked again (the provider may still publish).
func (c *checker) withheld(ck *jobs.Checked, p *Proved, why string) (Verdict, error) {
	tr, tokens, err := ck.Generate()
	if err != nil {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("recomputation: %v", err)}, nil
	}
	g, err := ck.Commit(tr, tokens)
	if err != nil {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("recomputation: %v", err)}, nil
	}
	n := elements(tr, p.Tokens)
	if commit.ToBig(g.TraceRoot).Cmp(p.TraceRoot) == 0 {
		f, err := ck.FindFault(tr, p.Tokens)
		switch {
		case err != nil:
			return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("recomputation: %v", err), Elements: n}, nil
		case f != nil:
			return Verdict{Status: StatusChallenging, Fault: f, Reason: f.Reason, Elements: n}, nil
		}
		return Verdict{Status: StatusHonest, Reason: why + "; the committed root is the job's own", Elements: n}, nil
	}
	if !c.search {
		return Verdict{Status: StatusWithheld, Reason: why, Retry: true}, nil
	}
	root, err := commit.FromBig(p.TraceRoot)
	if err != nil {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("trace root: %v", err)}, nil
	}
	s, err := ck.NewSearch(g, root, p.Tokens)
	if err != nil {
		return Verdict{Status: StatusSkipped, Reason: fmt.Sprintf("search: %v", err)}, nil
	}
	return Verdict{Status: StatusSearching, Search: s, Reason: why + "; its root is not the job's", Elements: n}, nil
}

// elements counts what FindFault recomputes: every input row, op result element and token.
func elements(tr *model.Trace, tokens []int32) int64 {
	n := int64(tr.T + len(tokens))
	for _, v := range tr.Tensors[1:] {
		if v.I32 != nil {
			n += int64(len(v.I32.Data))
		} else {
			n += int64(len(v.I8.Data))
		}
	}
	return n
}
