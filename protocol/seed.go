package protocol

import (
	"math/big"

	"github.com/ethereum/go-ethereum/crypto"
)

// SeedCommitment is keccak256(abi.encode(bytes32 secret)): what a buyer posts with a job so
// that revealing secret after the commit mixes entropy nobody else knew into the seed.
func SeedCommitment(secret [32]byte) [32]byte { return crypto.Keccak256Hash(secret[:]) }

// OutputsDigest is keccak256(abi.encode(uint256[] outputRoots, bytes32 attestationDigest)) (§6.2).
// The ABI head holds the array's offset (0x40) and the bytes32; the tail holds the array length
// and its elements.
func OutputsDigest(outputRoots []*big.Int, attestationDigest [32]byte) [32]byte {
	return crypto.Keccak256Hash(EncodeOutputs(outputRoots, attestationDigest))
}

// EncodeOutputs returns abi.encode(uint256[] outputRoots, bytes32 attestationDigest).
func EncodeOutputs(outputRoots []*big.Int, attestationDigest [32]byte) []byte {
	b := make([]byte, 0, 32*(3+len(outputRoots)))
	b = append(b, word(big.NewInt(0x40))...)
	b = append(b, attestationDigest[:]...)
	b = append(b, word(big.NewInt(int64(len(outputRoots))))...)
	for _, r := range outputRoots {
		b = append(b, word(r)...)
	}
	return b
}
