package gadgets

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/selector"
)

// VarHash returns S(tag; xs[0..n)) for a length n known only to the prover, given by its
// prefix mask in (in[t] = 1 for t < n, boolean and prefix-shaped: the caller constrains it,
// e.g. with opcheck.Prefix). Elements past n must already be zero (the caller's padding
// check guarantees it for packed rows): they are absorbed as zeros into the last block, which
// is what S does with an odd count. It costs ceil(len(xs)/2) permutations whatever n is: the
// state after block ceil(n/2) (at least 1, since S of no inputs is one permutation of the
// initial state) is selected with a mux.
func (s *Sponge) VarHash(tag uint64, xs, in []frontend.Variable) frontend.Variable {
	api := s.api
	if len(in) != len(xs) {
		panic("gadgets: VarHash needs one mask bit per element")
	}
	var n frontend.Variable = 0
	for _, b := range in {
		n = api.Add(n, b)
	}
	c := new(big.Int).Lsh(new(big.Int).SetUint64(tag), 64)
	st := []frontend.Variable{api.Add(c, n), 0, 0}
	blocks := max(1, (len(xs)+1)/2)
	outs := make([]frontend.Variable, blocks+1)
	outs[0] = 0
	// ends[b] = 1 when block b-1 is the last one, i.e. b = max(1, ceil(n/2)): in[2b-2] = 1 and
	// in[2b] = 0 (with in[-1] = 1 and in[len] = 0), a difference of prefix-mask bits.
	bit := func(t int) frontend.Variable {
		if t < 0 {
			return 1
		}
		if t >= len(in) {
			return 0
		}
		return in[t]
	}
	for b := 0; b < blocks; b++ {
		if 2*b < len(xs) {
			st[1] = api.Add(st[1], xs[2*b])
		}
		if 2*b+1 < len(xs) {
			st[2] = api.Add(st[2], xs[2*b+1])
		}
		s.permute(st)
		outs[b+1] = st[1]
	}
	var out frontend.Variable = 0
	for b := 1; b <= blocks; b++ {
		last := api.Sub(bit(2*b-2), bit(2*b))
		if b == 1 {
			last = api.Sub(1, bit(2))
		}
		out = api.Add(out, api.Mul(last, outs[b]))
	}
	return out
}

// VarMerkleRoot is MerkleRoot for a tree whose depth d <= len(siblings) is known only to the
// prover: it walks the path to the full height and returns the node at height d. The index
// bits (boolean-constrained by the caller) above d must be zero, so an index is below 2^d and
// names one leaf; siblings above d are unused.
func VarMerkleRoot(api frontend.API, sp *Sponge, leaf frontend.Variable, indexBits, siblings []frontend.Variable, depth frontend.Variable) frontend.Variable {
	if len(indexBits) != len(siblings) {
		panic("gadgets: VarMerkleRoot needs one index bit per sibling")
	}
	nodes := make([]frontend.Variable, len(siblings)+1)
	nodes[0] = leaf
	cur := leaf
	for h, sib := range siblings {
		l := api.Select(indexBits[h], sib, cur)
		r := api.Sub(api.Add(cur, sib), l)
		cur = sp.Node(l, r)
		nodes[h+1] = cur
	}
	// above[h] = [h >= depth] as a decoded suffix mask; index bit h must vanish there.
	ind := selector.Decoder(api, len(nodes), depth)
	var above, root frontend.Variable = 0, 0
	for h := range nodes {
		above = api.Add(above, ind[h])
		if h < len(indexBits) {
			api.AssertIsEqual(api.Mul(above, indexBits[h]), 0)
		}
		root = api.Add(root, api.Mul(ind[h], nodes[h]))
	}
	return root
}
