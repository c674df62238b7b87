package jobs

import (
	"errors"
	"fmt"

	"github.com/probitylabs/probity/model"
)

// Fault is an element of a committed trace and result that the job's own equations refuse
// (specs/trace.md §8): the element a watcher challenges, and one no targeted proof answers.
type Fault struct {
	Element Element
	// Reason says what the element holds and what its equation gives.
	Reason string
}

// FindFault checks every element of a trace and its tokens, as a watcher does with the
// provider's published files: every input row against the prompt and the tokens, every row of
// every op recomputed from the trace's own operands, and every token against the selection
// over its logits row. It returns the first element that fails, in causal order (row by row;
// in a row the input, then the ops in order, then the token selected there), or nil when
// every element holds. Everything before the first fault is what the job computes, so that
// element's own equation fails from correct operands: its targeted proof does not exist.
//
// An error means the trace cannot be checked at all (its shape is not the job's, or a
// recomputation fails before any fault), which no challenge of a single element resolves.
func (c *Checked) FindFault(tr *model.Trace, tokens []int32) (*Fault, error) {
	m, j := c.Model, c.Job
	P, T := len(j.Prompt), j.Rows()
	if tr.T != T || len(tokens) != j.New {
		return nil, fmt.Errorf("%w: a trace of %d rows and %d tokens, the job has %d rows and %d tokens", model.ErrMismatch, tr.T, len(tokens), T, j.New)
	}
	p, err := model.Over(m, tr)
	if err != nil {
		return nil, err
	}
	ids := tr.Tensors[0].I32.Data
	logits := tr.Output().I8
	for r := range T {
		if want := j.inputID(r, tokens); ids[r] != want {
			return &Fault{Element{Kind: ElementInput, Row: uint32(r)},
				fmt.Sprintf("input row %d is %d, the prompt and tokens give %d", r, ids[r], want)}, nil
		}
		for i := range m.Ops {
			err := p.CheckRows(i, r, r+1)
			var me *model.MismatchError
			if errors.As(err, &me) {
				return &Fault{Element{Kind: ElementOp, Op: uint32(me.Op), Row: uint32(me.Row), Col: uint32(me.Col)}, me.Error()}, nil
			}
			if err != nil {
				return nil, err
			}
		}
		if q := r - (P - 1); q >= 0 {
			g, err := c.selected(logits, q)
			if err != nil {
				return nil, err
			}
			if g != tokens[q] {
				return &Fault{Element{Kind: ElementToken, Row: uint32(q)},
					fmt.Sprintf("token %d is %d, the selection over logits row %d gives %d", q, tokens[q], r, g)}, nil
			}
		}
	}
	return nil, nil
}
