package receipt

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/protocol"
)

// ReceiptType is the EIP-712 type string of spec §8.2.
const ReceiptType = "Receipt(uint256 jobId,address provider,bytes32 specHash,uint256[] outputRoots,bytes32 attestationDigest,uint256 seed,uint16 k,bytes32 proofsHash)"

var receiptTypeHash = crypto.Keccak256Hash([]byte(ReceiptType))

// ErrSignature reports a signature that is malformed or not from the expected key.
var ErrSignature = errors.New("receipt signature invalid")

// Domain returns the EIP-712 domain the receipt is signed under: its chain and SLA manager.
func (rc *Receipt) Domain() protocol.Domain {
	return protocol.Domain{ChainID: new(big.Int).Set(&rc.ChainID.Int), Contract: rc.Contract}
}

// ProofsHash is keccak256 of the concatenated 256-byte proofs, in layer order.
func (rc *Receipt) ProofsHash() common.Hash {
	var all []byte
	for _, p := range rc.Proofs {
		all = append(all, p.Proof...)
	}
	return crypto.Keccak256Hash(all)
}

// StructHash is hashStruct(Receipt) of EIP-712.
func (rc *Receipt) StructHash() common.Hash {
	roots := make([]byte, 0, 32*len(rc.OutputRoots))
	for _, r := range rc.OutputRoots {
		roots = append(roots, r[:]...)
	}
	var jobID, k [32]byte
	rc.JobID.FillBytes(jobID[:])
	new(big.Int).SetUint64(uint64(rc.K)).FillBytes(k[:])
	return crypto.Keccak256Hash(
		receiptTypeHash[:],
		jobID[:],
		common.LeftPadBytes(rc.Provider[:], 32),
		rc.SpecHash[:],
		crypto.Keccak256(roots),
		rc.AttestationDigest[:],
		rc.Seed[:],
		k[:],
		rc.ProofsHash().Bytes(),
	)
}

// Digest is the EIP-712 digest the node key signs: keccak256("\x19\x01" || domainSeparator || structHash).
func (rc *Receipt) Digest() common.Hash {
	return common.Hash(protocol.TypedDigest(rc.Domain().Separator(), rc.StructHash()))
}

// Sign sets NodeKey and Signature from key. The signature is r || s || v with v in {27, 28},
// the form ecrecover and OpenZeppelin's ECDSA accept.
func (rc *Receipt) Sign(key *ecdsa.PrivateKey) error {
	rc.NodeKey = crypto.PubkeyToAddress(key.PublicKey)
	d := rc.Digest()
	sig, err := crypto.Sign(d[:], key)
	if err != nil {
		return fmt.Errorf("signing receipt: %w", err)
	}
	sig[64] += 27
	rc.Signature = sig
	return nil
}

// Signer recovers the address that signed the receipt. High-s signatures are refused, as the
// contract refuses them, so a receipt has one valid signature per key.
func (rc *Receipt) Signer() (common.Address, error) {
	if len(rc.Signature) != 65 {
		return common.Address{}, fmt.Errorf("%w: want 65 bytes, got %d", ErrSignature, len(rc.Signature))
	}
	sig := make([]byte, 65)
	copy(sig, rc.Signature)
	if sig[64] != 27 && sig[64] != 28 {
		return common.Address{}, fmt.Errorf("%w: v = %d, want 27 or 28", ErrSignature, sig[64])
	}
	sig[64] -= 27
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(sig[64], r, s, true) {
		return common.Address{}, fmt.Errorf("%w: r or s out of range (high s?)", ErrSignature)
	}
	d := rc.Digest()
	pub, err := crypto.SigToPub(d[:], sig)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// VerifySignature checks that the receipt is signed by its NodeKey.
func (rc *Receipt) VerifySignature() error {
	got, err := rc.Signer()
	if err != nil {
		return err
	}
	if got != rc.NodeKey {
		return fmt.Errorf("%w: signed by %s, nodeKey is %s", ErrSignature, got, rc.NodeKey)
	}
	return nil
}
