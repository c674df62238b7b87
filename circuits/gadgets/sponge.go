package gadgets

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Sponge tags (§4.1); they mirror commit.Tag*.
const (
	TagLeaf   uint64 = 1
	TagNode   uint64 = 2
	TagRoot   uint64 = 3
	TagSample uint64 = 4
)

// Sponge is S(tag; x_1..x_n) of §4.1 over gnark's Poseidon2 (t=3, rF=8, rP=56).
type Sponge struct {
	api  frontend.API
	perm *poseidon2.Permutation
}

// NewSponge builds the sponge for api.
func NewSponge(api frontend.API) (*Sponge, error) {
	p, err := poseidon2.NewPoseidon2FromParameters(api, 3, 8, 56)
	if err != nil {
		return nil, fmt.Errorf("poseidon2: %w", err)
	}
	return &Sponge{api: api, perm: p}, nil
}

// Hash returns S(tag; xs...): the capacity starts at tag*2^64 + n so domains and lengths never
// collide, pairs are absorbed into the two rate elements.
func (s *Sponge) Hash(tag uint64, xs ...frontend.Variable) frontend.Variable {
	c := new(big.Int).Lsh(new(big.Int).SetUint64(tag), 64)
	c.Add(c, big.NewInt(int64(len(xs))))
	st := []frontend.Variable{c, 0, 0}
	if len(xs) == 0 {
		s.permute(st)
		return st[1]
	}
	for i := 0; i < len(xs); i += 2 {
		st[1] = s.api.Add(st[1], xs[i])
		if i+1 < len(xs) {
			st[2] = s.api.Add(st[2], xs[i+1])
		}
		s.permute(st)
	}
	return st[1]
}

// Node is S(NODE; l, r).
func (s *Sponge) Node(l, r frontend.Variable) frontend.Variable {
	return s.Hash(TagNode, l, r)
}

func (s *Sponge) permute(st []frontend.Variable) {
	if err := s.perm.Permutation(st); err != nil {
		// The width is fixed at 3 by construction, so this is a programming error.
		panic(err)
	}
}
