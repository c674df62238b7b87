package protocol

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// EIP-712 type strings (§6.1, §8.2). The referenced struct Layer is appended to JobSpec's
// encodeType, as EIP-712 requires for referenced types (sorted by name).
const (
	DomainName    = "Probity"
	DomainVersion = "0"
	DomainType    = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
	LayerType     = "Layer(bytes32 shapeId,uint256 weightsRoot,uint256 epilogue)"
	JobSpecType   = "JobSpec(uint256 inputRoot,uint32 rows,Layer[] layers)" + LayerType
)

var (
	DomainTypeHash  = crypto.Keccak256Hash([]byte(DomainType))
	LayerTypeHash   = crypto.Keccak256Hash([]byte(LayerType))
	JobSpecTypeHash = crypto.Keccak256Hash([]byte(JobSpecType))
)

// Layer is one layer of a job spec: which circuit shape proves it, the commitment to its
// parameters (§4.3, kind 2) and its epilogue word (§3.2).
type Layer struct {
	ShapeID     [32]byte
	WeightsRoot *big.Int
	Epilogue    *big.Int
}

// JobSpec is the EIP-712 struct a buyer posts (§6.1).
type JobSpec struct {
	InputRoot *big.Int
	Rows      uint32
	Layers    []Layer
}

// Validate checks that every field is encodable and that roots and epilogue words are field
// elements (they become public inputs of the proofs).
func (j JobSpec) Validate() error {
	if err := CheckField("inputRoot", j.InputRoot); err != nil {
		return err
	}
	if len(j.Layers) == 0 {
		return fmt.Errorf("job spec: %w: no layers", ErrOutOfRange)
	}
	for l, ly := range j.Layers {
		if err := CheckField(fmt.Sprintf("layers[%d].weightsRoot", l), ly.WeightsRoot); err != nil {
			return err
		}
		if _, err := ParseEpilogueWord(ly.Epilogue); err != nil {
			return fmt.Errorf("layers[%d].epilogue: %w", l, err)
		}
	}
	return nil
}

// Hash returns hashStruct(Layer).
func (ly Layer) Hash() [32]byte {
	return crypto.Keccak256Hash(LayerTypeHash[:], ly.ShapeID[:], word(ly.WeightsRoot), word(ly.Epilogue))
}

// Hash returns the EIP-712 hashStruct(JobSpec), the specHash stored by the contract. It panics
// on a field that is not a uint256 (nil or negative); call Validate on untrusted specs first.
func (j JobSpec) Hash() [32]byte {
	cat := make([]byte, 0, 32*len(j.Layers))
	for _, ly := range j.Layers {
		h := ly.Hash()
		cat = append(cat, h[:]...)
	}
	layers := crypto.Keccak256Hash(cat)
	rows := new(big.Int).SetUint64(uint64(j.Rows))
	return crypto.Keccak256Hash(JobSpecTypeHash[:], word(j.InputRoot), word(rows), layers[:])
}

// Domain is the EIP-712 domain of one SLA manager deployment (§8.2).
type Domain struct {
	ChainID  *big.Int
	Contract common.Address
}

// Separator returns the EIP-712 domain separator of a v0 manager.
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
