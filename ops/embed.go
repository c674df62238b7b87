package ops

import (
	"fmt"

	"github.com/probitylabs/probity/tensor"
)

// Embed is specs/ops.md §9: out[t] = table[ids[t]], int8 [T, D]. The first id outside
// [0, V) is a *TokenError; nothing is gathered then.
func Embed(table *tensor.Int8, ids *tensor.Int32) (*tensor.Int8, error) {
	V, D, err := table.Matrix()
	if err != nil {
		return nil, fmt.Errorf("embed: table: %w", err)
	}
	if V < 1 {
		return nil, fmt.Errorf("embed: %w: empty table", tensor.ErrShape)
	}
	if err := ids.Check(); err != nil || len(ids.Shape) != 1 {
		return nil, fmt.Errorf("embed: %w: ids must be a vector, have shape %v", tensor.ErrShape, ids.Shape)
	}
	for t, id := range ids.Data {
		if id < 0 || int64(id) >= int64(V) {
			return nil, &TokenError{Pos: t, ID: id, Vocab: V}
		}
	}
	out := tensor.NewInt8(len(ids.Data), D)
	for t, id := range ids.Data {
		copy(out.Data[t*D:(t+1)*D], table.Data[int(id)*D:(int(id)+1)*D])
	}
	return out, nil
}
