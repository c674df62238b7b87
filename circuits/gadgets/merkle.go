package gadgets

import "github.com/consensys/gnark/frontend"

// MerkleRoot recomputes the tree root T from a leaf hash, the index bits (least significant
// first, one per level; bit h set means the node at height h is a right child) and the
// siblings from the leaf upwards (§4.3). The bits must already be boolean-constrained.
func MerkleRoot(api frontend.API, sp *Sponge, leaf frontend.Variable, indexBits, siblings []frontend.Variable) frontend.Variable {
	if len(indexBits) != len(siblings) {
		panic("gadgets: MerkleRoot needs one index bit per sibling")
	}
	cur := leaf
	for h, sib := range siblings {
		// One constraint per level: l = bit ? sib : cur, and r is the other one.
		l := api.Select(indexBits[h], sib, cur)
		r := api.Sub(api.Add(cur, sib), l)
		cur = sp.Node(l, r)
	}
	return cur
}
