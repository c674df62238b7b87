package main

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
)

// ---- settlement.json ----

// settlementVectors pins the encodings of settlement (specs/settlement.md): the request's
// hashStruct and job id under a domain, the commitment, the v2 seed with and without the
// buyer's secret, the receipt digest, and the packed result words with their digest. The
// forge test contracts/test/SettlementVectors.t.sol checks the contract against the same file.
func settlementVectors() any {
	var cases []map[string]any
	for i, c := range []struct {
		chain   int64
		manager string
		tokens  []uint32
		secret  string
	}{
		{31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", []uint32{14, 12, 9, 9}, ""},
		{31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "buyer secret"},
		{1, "0x00000000000000000000000000000000000000ff", []uint32{50256, 0, 1<<24 - 1}, ""},
	} {
		d := protocol.Domain{ChainID: big.NewInt(c.chain), Contract: common.HexToAddress(c.manager)}
		var secret [32]byte
		var commitment [32]byte
		if c.secret != "" {
			secret = crypto.Keccak256Hash([]byte(c.secret))
			commitment = protocol.SeedCommitment(secret)
		}
		req := protocol.Request{
			Buyer:           common.BigToAddress(big.NewInt(int64(0xb0 + i))),
			ClassID:         crypto.Keccak256Hash([]byte("universal-small")),
			ModelRoot:       new(big.Int).Sub(protocol.R, big.NewInt(int64(1+i))),
			JobDigest:       new(big.Int).SetBytes(crypto.Keccak256([]byte{byte(i)})[:31]),
			NewTokens:       uint32(len(c.tokens)),
			Price:           new(big.Int).Lsh(big.NewInt(1), 95),
			LockBy:          1_800_000_000 + uint64(i),
			ExecWindow:      3600,
			ProveWindow:     7200,
			ChallengeWindow: uint32(600 * i),
			SeedCommitment:  commitment,
			Salt:            big.NewInt(int64(1000 + i)),
		}
		reqHash := req.Hash()
		jobID := d.JobID(req)
		traceRoot := new(big.Int).SetBytes(crypto.Keccak256([]byte("trace"), []byte{byte(i)})[:31])
		att := crypto.Keccak256Hash([]byte("attestation"))
		prov := common.BigToAddress(big.NewInt(0xa11ce))
		stake := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 96), big.NewInt(int64(1+i)))
		com := protocol.Commitment(prov, stake, traceRoot, att)
		blockHash := crypto.Keccak256Hash([]byte("block"), []byte{byte(i)})
		seed := protocol.SeedV2(d.ChainID, d.Contract, jobID, com, blockHash, secret)
		words := must(protocol.PackResult(c.tokens))
		toks := make([]int32, len(c.tokens))
		for k, t := range c.tokens {
			toks[k] = int32(t)
		}
		rd := commit.ToBig(must(jobs.ResultDigest(toks)))
		rc := protocol.Receipt{
			JobID: jobID, Provider: prov, ModelRoot: req.ModelRoot,
			JobDigest: req.JobDigest, TraceRoot: traceRoot, AttestationDigest: att, Seed: seed,
			ResultDigest: rd, ProofHash: crypto.Keccak256Hash([]byte("proof")),
		}
		rcDigest := rc.Digest(d)
		sep := d.Separator()
		ws := make([]string, len(words))
		for k, w := range words {
			ws[k] = w.String()
		}
		cases = append(cases, map[string]any{
			"chainId": c.chain, "manager": c.manager, "domainSeparator": hexb(sep[:]),
			"request": map[string]any{
				"buyer": req.Buyer.Hex(), "classId": hexb(req.ClassID[:]), "modelRoot": req.ModelRoot.String(),
				"jobDigest": req.JobDigest.String(), "newTokens": req.NewTokens, "price": req.Price.String(),
				"lockBy": req.LockBy, "execWindow": req.ExecWindow, "proveWindow": req.ProveWindow,
				"challengeWindow": req.ChallengeWindow, "seedCommitment": hexb(req.SeedCommitment[:]),
				"salt": req.Salt.String(),
			},
			"requestHash": hexb(reqHash[:]), "jobId": jobID.String(),
			"provider": prov.Hex(), "stake": stake.String(),
			"traceRoot": traceRoot.String(), "attestationDigest": att.Hex(), "commitment": hexb(com[:]),
			"blockHash": blockHash.Hex(), "secret": hexb(secret[:]), "seed": seed.String(),
			"tokens": c.tokens, "resultWords": ws, "resultDigest": rd.String(),
			"receipt":       map[string]any{"provider": rc.Provider.Hex(), "proofHash": hexb(rc.ProofHash[:])},
			"receiptDigest": hexb(rcDigest[:]),
		})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "settlement (specs/settlement.md): Request hashStruct and job id (its EIP-712 digest, domain version \"1\"), commitment keccak256(abi.encode(provider, stake, traceRoot, attestationDigest)), seed probity/seed/v2 from the block hash and the secret (zero when none), Receipt digest, result words (ten 24-bit tokens per word) and result digest",
		"requestType": protocol.RequestType,
		"receiptType": protocol.ReceiptType,
		"cases":       cases,
	}
}
