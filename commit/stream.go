package commit

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/tensor"
)

// StreamBudget is how many bytes of rows CommitActivationsFile holds in memory at once.
var StreamBudget = 64 << 20

// CommitActivationsFile commits the 2-D I8 tensor name of a safetensors file, reading it in
// chunks of at most StreamBudget bytes, so tensors larger than memory can be committed. Only
// the tree (32 bytes per row and level) stays in memory; Open rereads the row from the file.
func CommitActivationsFile(path, name string, depth int) (*Tree, error) {
	rr, err := tensor.OpenRows(path, name)
	if err != nil {
		return nil, fmt.Errorf("commit activations: %w", err)
	}
	defer rr.Close()
	M, C := rr.Rows, rr.Cols
	if err := checkRows(M, depth); err != nil {
		return nil, fmt.Errorf("commit activations %s: %w", path, err)
	}
	leaves := make([]fr.Element, M)
	chunkRows := max(1, StreamBudget/max(C, 1))
	var buf []int8
	for lo := 0; lo < M; lo += chunkRows {
		hi := min(lo+chunkRows, M)
		buf, err = rr.ReadRows(lo, hi, buf)
		if err != nil {
			return nil, fmt.Errorf("commit activations %s: %w", path, err)
		}
		data := buf
		hashLeaves(leaves[lo:hi], func(i int) []fr.Element { return PackRow(data[i*C : (i+1)*C]) })
	}
	t := &Tree{kind: KindActivations, rows: M, cols: C, depth: depth}
	t.leaf = func(i int) ([]fr.Element, error) {
		r, err := tensor.OpenRows(path, name)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		if r.Rows != M || r.Cols != C {
			return nil, fmt.Errorf("%w: %s changed shape since it was committed", tensor.ErrShape, path)
		}
		row, err := r.ReadRows(i, i+1, nil)
		if err != nil {
			return nil, err
		}
		return PackRow(row), nil
	}
	t.build(leaves)
	return t, nil
}
