package main

import (
	"errors"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/model/modeltest"
)

// ---- trace_opening.json ----
//
// Data-challenge answers (specs/settlement.md §10) on the trace.json decoder's argmax job:
// openings of a tensor leaf, an I32 row, an I8 row and a column, the openings that show an
// element names nothing, and tampered openings the contract must refuse.

type traceOpeningJSON struct {
	Rows       uint32   `json:"rows"`
	Tensors    uint32   `json:"tensors"`
	Depth      uint8    `json:"depth"`
	TensorRoot string   `json:"tensorRoot"`
	RowRoot    string   `json:"rowRoot"`
	ColRoot    string   `json:"colRoot"`
	TensorPath []string `json:"tensorPath"`
	TreeKind   uint8    `json:"treeKind"`
	TreeRows   uint32   `json:"treeRows"`
	TreeCols   uint32   `json:"treeCols"`
	TreeDepth  uint8    `json:"treeDepth"`
	TreeRoot   string   `json:"treeRoot"`
	Leaf       []string `json:"leaf"`
	Path       []string `json:"path"`
}

type openingCase struct {
	Name      string           `json:"name"`
	JobDigest string           `json:"jobDigest"`
	TraceRoot string           `json:"traceRoot"`
	Element   string           `json:"element"`
	Opening   traceOpeningJSON `json:"opening"`
	Valid     bool             `json:"valid"`
	Vacuous   bool             `json:"vacuous"`
}

func hexe(e fr.Element) string { return hexutil.EncodeBig(commit.ToBig(e)) }

func hexes(es []fr.Element) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = hexe(e)
	}
	return out
}

func openingVectors() any {
	m, err := modeltest.Decoder(model.DecoderConfig{Vocab: 16, Context: 10, Width: 8, Heads: 2, Blocks: 1}, 0x7472616365) // trace.json's
	if err != nil {
		fatal(err)
	}
	root := must(m.Root())
	j := &jobs.GenJob{ModelRoot: root, Prompt: []int32{3, 1, 4}, New: 4}
	ck := must(j.Check(m))
	tr, tokens, err := ck.Generate()
	if err != nil {
		fatal(err)
	}
	g := must(ck.Commit(tr, tokens))
	op := must(jobs.NewOpener(m, g))
	col := -1 // a tensor committed by columns too
	for t, r := range g.Roots {
		if !r.Col.IsZero() {
			col = t
			break
		}
	}
	if col < 0 {
		fatal(errors.New("the decoder commits no tensor by columns"))
	}
	L := uint32(len(m.Ops))
	var cases []openingCase
	add := func(name string, e jobs.Element, tamper func(o *jobs.TraceOpening)) {
		o := must(op.Open(e))
		if tamper != nil {
			tamper(o)
		}
		vac, err := o.Verify(g.TraceRoot, g.JobDigest, e)
		if (err == nil) != (tamper == nil) {
			fatal(err)
		}
		cases = append(cases, openingCase{Name: name, JobDigest: hexe(g.JobDigest), TraceRoot: hexe(g.TraceRoot),
			Element: hexutil.EncodeBig(e.Word()), Valid: err == nil, Vacuous: err == nil && vac,
			Opening: traceOpeningJSON{Rows: o.Rows, Tensors: o.Tensors, Depth: o.Depth, TensorRoot: hexe(o.TensorRoot),
				RowRoot: hexe(o.RowRoot), ColRoot: hexe(o.ColRoot), TensorPath: hexes(o.TensorPath),
				TreeKind: o.TreeKind, TreeRows: o.TreeRows, TreeCols: o.TreeCols, TreeDepth: o.TreeDepth,
				TreeRoot: hexe(o.TreeRoot), Leaf: hexes(o.Leaf), Path: hexes(o.Path)}})
	}
	tensor := func(t uint32) jobs.Element { return jobs.Element{Kind: jobs.ElementTensor, Op: t} }
	row := func(t, i uint32) jobs.Element { return jobs.Element{Kind: jobs.ElementRow, Op: t, Row: i} }
	column := func(t, c uint32) jobs.Element { return jobs.Element{Kind: jobs.ElementColumn, Op: t, Col: c} }
	one := func(e *fr.Element) { var x fr.Element; x.SetOne(); e.Add(e, &x) }

	add("tensor 0 (the input ids)", tensor(0), nil)
	add("the last tensor (the logits)", tensor(L), nil)
	add("input row 4 (I32 leaf, a generated token)", row(0, 4), nil)
	add("row 2 of op 0's result (I8 leaf)", row(1, 2), nil)
	add("the last row of the logits", row(L, uint32(tr.T-1)), nil)
	add("column 1 of a values tensor", column(uint32(col), 1), nil)
	add("vacuous: tensor L+1", tensor(L+1), nil)
	add("vacuous: a row of tensor 2^32-1", row(1<<32-1, 0), nil)
	add("vacuous: row T", row(1, uint32(tr.T)), nil)
	add("vacuous: a column of a tensor without a column tree", column(0, 0), nil)
	add("vacuous: a column past the values tensor's width", column(uint32(col), 1<<20), nil)
	add("refused: trace preimage with another T", row(1, 2), func(o *jobs.TraceOpening) { o.Rows++ })
	add("refused: a tensor path sibling changed", tensor(2), func(o *jobs.TraceOpening) { one(&o.TensorPath[0]) })
	add("refused: a tensor path one sibling short", tensor(2), func(o *jobs.TraceOpening) { o.TensorPath = o.TensorPath[1:] })
	add("refused: the row root changed", tensor(2), func(o *jobs.TraceOpening) { one(&o.RowRoot) })
	add("refused: a tree shape claiming fewer rows", row(1, 5), func(o *jobs.TraceOpening) { o.TreeRows = 5 })
	add("refused: a leaf word changed", row(1, 2), func(o *jobs.TraceOpening) { one(&o.Leaf[0]) })
	add("refused: a leaf word appended", row(1, 2), func(o *jobs.TraceOpening) { o.Leaf = append(o.Leaf, fr.Element{}) })
	add("refused: a leaf path sibling changed", row(L, 3), func(o *jobs.TraceOpening) { one(&o.Path[1]) })
	add("refused: a column claimed absent", column(uint32(col), 1), func(o *jobs.TraceOpening) { o.ColRoot = fr.Element{} })
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "data-challenge answers (specs/settlement.md §10) on trace.json's argmax job (T = 6): element (kind 4 tensor, 5 row, 6 column), the opening (uint256 values as 0x hex), valid (the contract accepts it) and vacuous (valid because the element names nothing)",
		"cases":       cases,
	}
}
