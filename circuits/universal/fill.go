package universal

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/model"
)

// fillOpSlot assigns op slot si of kind k from a source whose model has n ops of that kind
// (n = 0: the source is the dummy, and the slot takes its rank-0 op).
func fillOpSlot(cl *Class, s *source, k model.Kind, si int, seed fr.Element, n int) (opSlot, error) {
	x := slotWords(seed, int(k), si)
	u := s.opOfRank(k, mod(x[0], n))
	if u < 0 {
		return opSlot{}, fmt.Errorf("no op of kind %s", k)
	}
	T := s.tr.T
	wOut := s.width(int(s.descs[u][2].Uint64()))
	return fillAt(cl, s, k, element{u: u, i: mod(x[1], T), j: mod(x[2], wOut), tie: mod(x[3], T)})
}

// element is what a slot checks: op u's result at (i, j), and the tie row of a P·V slot.
type element struct{ u, i, j, tie int }

// fillAt assigns a slot of kind k that checks element e of source s.
func fillAt(cl *Class, s *source, k model.Kind, e element) (opSlot, error) {
	u, i, j, tie := e.u, e.i, e.j, e.tie
	if u < 0 {
		return opSlot{}, fmt.Errorf("no op of kind %s", k)
	}
	op := &s.m.Ops[u]
	sl := newOpSlot(cl, k)
	sl.Op = descAt(cl, s, u)
	ids := append(append([]int{}, op.In...), u+1)
	if k == model.KindPosition {
		ids = []int{u + 1}
	}
	for r, id := range ids {
		sl.Tensors[r] = tensorAt(cl, s, id)
	}
	row := func(r, id, i int) error {
		o, err := rowAt(cl, s, id, i, cl.RowDepth)
		sl.Rows[r] = o
		return err
	}
	var err error
	switch k {
	case model.KindEmbed:
		if err = row(0, op.In[0], i); err == nil {
			err = row(1, u+1, i)
		}
		id := int(s.tr.Tensors[op.In[0]].I32.Data[i])
		sl.Param[0] = leafOpen(nil, 0, s.paramTree(u).Siblings(id), cl.ParamDepth)
	case model.KindPosition:
		err = row(0, u+1, i)
		sl.Param[0] = leafOpen(nil, 0, s.paramTree(u).Siblings(i), cl.ParamDepth)
	case model.KindLinear:
		if err = row(0, op.In[0], i); err == nil {
			err = row(1, u+1, i)
		}
		leaf := model.ParamTensor(op).Leaf(j) // pack(W[j]), b[j] + 2^31, m[j]
		packed := leaf[:len(leaf)-2]
		p := leafOpen(packed, cl.Elems+2, s.paramTree(u).Siblings(j), cl.ParamDepth)
		p.Elems[cl.Elems], p.Elems[cl.Elems+1] = leaf[len(leaf)-2], leaf[len(leaf)-1]
		sl.Param[0] = p
	case model.KindMatmul:
		bRow := tie
		if op.TransB {
			bRow = j
		}
		for _, o := range []struct{ r, id, i int }{{0, op.In[0], i}, {1, op.In[1], bRow}, {3, u + 1, i}} {
			if err == nil {
				err = row(o.r, o.id, o.i)
			}
		}
		colDepth := bitLen(cl.Width())
		if op.TransB {
			sl.Rows[2] = leafOpen(nil, cl.Elems, nil, colDepth)
		} else if err == nil {
			t, cerr := s.colTree(op.In[1])
			if err = cerr; err == nil {
				sl.Rows[2], err = treeLeaf(t, j, cl.Elems, colDepth)
			}
		}
	case model.KindLayerNorm, model.KindRMSNorm:
		if err = row(0, op.In[0], i); err == nil {
			err = row(1, u+1, i)
		}
		sl.Param[0] = leafOpen(model.ParamTensor(op).Leaf(j), 2, s.paramTree(u).Siblings(j), cl.ParamDepth)
	case model.KindAdd, model.KindMul, model.KindConcat:
		for r, id := range ids {
			if err == nil {
				err = row(r, id, i)
			}
		}
	default: // softmax, lut, slice, argmax: A and the result at row i
		if err = row(0, op.In[0], i); err == nil {
			err = row(1, u+1, i)
		}
	}
	return sl, err
}
