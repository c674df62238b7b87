package receipt

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/protocol"
)

// Domain is the EIP-712 domain of the receipt's manager (settlement.md §2).
func (rc *Receipt) Domain() protocol.Domain {
	return protocol.Domain{ChainID: rc.ChainID.Big(), Contract: rc.Manager}
}

// ProofHash is keccak256 of the 256-byte proof, the Receipt struct's proofHash.
func (rc *Receipt) ProofHash() common.Hash { return crypto.Keccak256Hash(rc.Proof) }

// Commitment is what the provider's commit bound on chain (settlement.md §3): provider, stake,
// trace root and attestation digest, hashed.
func (rc *Receipt) Commitment() [32]byte {
	return protocol.Commitment(rc.Provider, rc.Stake.Big(), rc.TraceRoot.Big(), rc.AttestationDigest)
}

// EIP712 returns the signed struct (settlement.md §6) built from the document's fields: its
// jobId as stated, the request's model root and job digest, the committed trace root and
// attestation digest, the seed value, the result digest and the proof's hash.
func (rc *Receipt) EIP712() protocol.Receipt {
	return protocol.Receipt{
		JobID: rc.JobID.Big(), Provider: rc.Provider, ModelRoot: new(big.Int).Set(rc.Request.ModelRoot),
		JobDigest: new(big.Int).Set(rc.Request.JobDigest), TraceRoot: rc.TraceRoot.Big(), AttestationDigest: rc.AttestationDigest,
		Seed: rc.Seed.Value.Big(), ResultDigest: rc.Result.Digest.Big(), ProofHash: rc.ProofHash(),
	}
}

// Digest is the EIP-712 digest the node key signs and the manager emits in JobProved.
func (rc *Receipt) Digest() common.Hash { return common.Hash(rc.EIP712().Digest(rc.Domain())) }

// PublicInputs are the proof's five public inputs rebuilt from the receipt's fields, in circuit
// order (specs/circuit.md §1): model root, job digest, trace root, result digest, seed.
func (rc *Receipt) PublicInputs() [5]*big.Int {
	return [5]*big.Int{new(big.Int).Set(rc.Request.ModelRoot), new(big.Int).Set(rc.Request.JobDigest), rc.TraceRoot.Big(),
		rc.Result.Digest.Big(), rc.Seed.Value.Big()}
}

// Nonce is the nonce a confidential-computing GPU signs for this job: protocol.md §9.3's nonce
// with the job's committed trace root as its one output root, i.e. attestation.Nonce(chainId,
// manager, jobId, NonceOutputsDigest([traceRoot])). The trace root is known before the commit
// that carries the attestation digest, so the report can bind it.
func (rc *Receipt) Nonce() [32]byte {
	return attestation.Nonce(rc.ChainID.Big(), rc.Manager, rc.JobID.Big(),
		attestation.NonceOutputsDigest([]*big.Int{rc.TraceRoot.Big()}))
}

// Sign sets NodeKey and Signature from key: r || s || v with v in {27, 28}, the form ecrecover,
// OpenZeppelin's ECDSA and the manager's verifyReceipt accept. Every signed field must be set.
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

// Signer recovers the address that signed the receipt's digest. High-s signatures are refused,
// as the contract refuses them, so a key has one valid signature per receipt.
func (rc *Receipt) Signer() (common.Address, error) {
	if len(rc.Signature) != 65 {
		return common.Address{}, fmt.Errorf("%w: want 65 bytes, got %d", ErrSignature, len(rc.Signature))
	}
	sig := append([]byte(nil), rc.Signature...)
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
		return fmt.Errorf("%w: signed by %s, nodeKey is %s", ErrSignature, got.Hex(), rc.NodeKey.Hex())
	}
	return nil
}
