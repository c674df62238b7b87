package prover

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/jobs"
)

// jobFileLimit is the largest job file a served class can take: the encoding of a job with
// the longest prompt the class's trace holds and a sampling table, with room for the
// metadata. Anything longer is refused before it is read (Fetch.MaxFileBytes, meant for
// model files, is gigabytes).
func jobFileLimit(classes map[[32]byte]*universal.Class) int64 {
	var most int64
	for _, cl := range classes {
		j := &jobs.GenJob{ModelRoot: *new(fr.Element).SetUint64(1), Prompt: make([]int32, cl.MaxRows()), New: 1,
			Select: jobs.Selection{Sample: true, K: 1, Seed: 1<<64 - 1}}
		b, err := jobs.EncodeJob(j)
		if err != nil {
			return 1 << 20 // not reached: a job of zero tokens encodes
		}
		most = max(most, int64(len(b)))
	}
	return most + 16<<10
}
