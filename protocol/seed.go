package protocol

import (
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Seed derives the challenge seed (§6.2):
// keccak256(abi.encodePacked("probity/seed/v1", uint256 chainid, address manager, uint256 jobId,
// bytes32 outputsDigest, bytes32 blockhash(seedBlock), bytes32 secret)) mod R, where secret is the
// buyer's revealed seed secret, or zero when the seed was fixed without it. chainID and jobID
// must be uint256 values.
func Seed(chainID *big.Int, manager common.Address, jobID *big.Int, outputsDigest, blockHash, secret [32]byte) *big.Int {
	h := crypto.Keccak256([]byte("probity/seed/v1"), word(chainID), manager[:], word(jobID), outputsDigest[:], blockHash[:], secret[:])
	return new(big.Int).Mod(new(big.Int).SetBytes(h), R)
}

// SeedCommitment is keccak256(abi.encode(bytes32 secret)): what a buyer posts with a job so
// that revealing secret after the commit mixes entropy nobody else knew into the seed.
func SeedCommitment(secret [32]byte) [32]byte { return crypto.Keccak256Hash(secret[:]) }

// LayerSeed is uint256(keccak256(abi.encodePacked(uint256 seed, uint32 l))) mod R (§6.2).
func LayerSeed(seed *big.Int, l uint32) *big.Int {
	h := crypto.Keccak256(word(seed), binary.BigEndian.AppendUint32(nil, l))
	return new(big.Int).Mod(new(big.Int).SetBytes(h), R)
}

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
