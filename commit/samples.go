package commit

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Sample is one sampled output element: row I of the input and output, column J of the layer.
type Sample struct{ I, J int }

// Samples derives k sample positions for a layer with M rows and N output columns from the layer
// seed (§6.3): h = S(SAMPLE; seed_l, s), i = (h mod 2^64) mod M, j = ((h >> 64) mod 2^64) mod N.
// M and N must be positive.
func Samples(seedL fr.Element, k int, M, N int) []Sample {
	if M <= 0 || N <= 0 || k < 0 {
		panic(fmt.Sprintf("commit: Samples needs positive M, N and k >= 0, have M=%d N=%d k=%d", M, N, k))
	}
	out := make([]Sample, k)
	for s := range k {
		var se fr.Element
		se.SetUint64(uint64(s))
		h := Hash(TagSample, seedL, se)
		b := h.Bytes() // canonical, big-endian
		lo := beUint64(b[24:32])
		hi := beUint64(b[16:24])
		out[s] = Sample{I: int(lo % uint64(M)), J: int(hi % uint64(N))}
	}
	return out
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
