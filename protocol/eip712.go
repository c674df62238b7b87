package protocol

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The EIP-712 domain of an SLA manager (specs/settlement.md §2).
const (
	DomainName    = "Probity"
	DomainVersion = "1"
	DomainType    = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

// DomainTypeHash is keccak256(DomainType).
var DomainTypeHash = crypto.Keccak256Hash([]byte(DomainType))

// Domain is the EIP-712 domain of one SLA manager deployment (§8.2).
type Domain struct {
	ChainID  *big.Int
	Contract common.Address
}

// Separator returns the EIP-712 domain separator of the manager.
func (d Domain) Separator() [32]byte { return d.separator(DomainVersion) }

func (d Domain) separator(version string) [32]byte {
	return crypto.Keccak256Hash(DomainTypeHash[:],
		crypto.Keccak256([]byte(DomainName)),
		crypto.Keccak256([]byte(version)),
		word(d.ChainID),
		common.LeftPadBytes(d.Contract[:], 32))
}

// TypedDigest is keccak256("\x19\x01" || domainSeparator || structHash), the digest that is signed.
func TypedDigest(domainSep, structHash [32]byte) [32]byte {
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, domainSep[:], structHash[:])
}
