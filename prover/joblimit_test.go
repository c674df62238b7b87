package prover

import (
	"testing"

	"github.com/probitylabs/probity/circuits/universal"
)

// The job-file limit of a class is the encoding of its longest job: far below the gigabytes
// model downloads are allowed.
func TestJobFileLimit(t *testing.T) {
	cl := universal.Small()
	limit := jobFileLimit(map[[32]byte]*universal.Class{cl.ID(): cl})
	if limit < 1<<10 || limit > 4<<20 {
		t.Fatalf("job-file limit %d for class %s, want between 1 KiB and a few MiB", limit, cl.Name)
	}
}
