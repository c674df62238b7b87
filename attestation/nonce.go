package attestation

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/protocol"
)

// NonceTag is the domain tag hashed in front of the nonce fields.
const NonceTag = "probity/cc-nonce/v0"

// Nonce derives the 32-byte nonce passed to the GPU's attestation report:
//
//	keccak256(abi.encodePacked("probity/cc-nonce/v0", uint256 chainId, address manager,
//	          uint256 jobId, bytes32 outputsDigest))
//
// chainID and jobID are uint256 values; a negative or wider value is a programming error and
// panics, as it cannot come from the chain.
func Nonce(chainID *big.Int, manager common.Address, jobID *big.Int, outputsDigest [32]byte) [32]byte {
	return crypto.Keccak256Hash([]byte(NonceTag), u256(chainID, "chainId"), manager[:], u256(jobID, "jobId"), outputsDigest[:])
}

// NonceOutputsDigest is the outputsDigest that Nonce takes for a job: the §6.2 formula with
// a zero attestation digest. The §6.2 value itself commits to the attestation digest, which
// commits to the nonce, so the nonce cannot depend on it; it binds the output roots instead.
func NonceOutputsDigest(outputRoots []*big.Int) [32]byte {
	return protocol.OutputsDigest(outputRoots, [32]byte{})
}

func u256(x *big.Int, name string) []byte {
	if x == nil || x.Sign() < 0 || x.BitLen() > 256 {
		panic("attestation: " + name + " is not a uint256")
	}
	return x.FillBytes(make([]byte, 32))
}
