package protocol

import (
	"encoding/binary"

	"github.com/ethereum/go-ethereum/crypto"
)

// ShapeID is keccak256(abi.encodePacked("probity/shape/v0", uint32 K, uint32 N, uint8 D, uint16 k)) (§5).
func ShapeID(K, N uint32, D uint8, k uint16) [32]byte {
	b := make([]byte, 0, 16+4+4+1+2)
	b = append(b, "probity/shape/v0"...)
	b = binary.BigEndian.AppendUint32(b, K)
	b = binary.BigEndian.AppendUint32(b, N)
	b = append(b, D)
	b = binary.BigEndian.AppendUint16(b, k)
	return crypto.Keccak256Hash(b)
}
