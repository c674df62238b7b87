package main

import (
	"bytes"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
)

// ---- offer.json ----

// offerVectors pins the signed offer document of settlement.md §8: for a fixed buyer key
// (secp256k1 signatures are deterministic, RFC 6979), a job file, the canonical offer over a
// request of its digest, and its job id; then documents a strict reader must refuse, each with
// the field its error names.
func offerVectors() any {
	key := must(crypto.ToECDSA(crypto.Keccak256([]byte("probity offer vector buyer"))))
	buyer := crypto.PubkeyToAddress(key.PublicKey)
	var valid []map[string]any
	var docs [][]byte
	for i, c := range []struct {
		chain   int64
		manager string
		prompt  string
		n       int
		sample  bool
		secret  string
		uri     string
	}{
		{31337, "0x5fbdb2315678afecb367f032d93f642f64180aa3", "And God said, ", 8, false, "buyer secret", "file:///var/probity/jobs/1/job.safetensors"},
		{1, "0x00000000000000000000000000000000000000ff", "In the beginning", 3, true, "", "https://jobs.example/a?b=1&c=<2>/job.safetensors"},
	} {
		// A root from a hash: a field element within 2^16 of R spells as a negative number in
		// fr.Element.String, which EncodeJob uses (reported, not this vector's subject).
		root := must(commit.FromBig(new(big.Int).SetBytes(crypto.Keccak256([]byte("model root"), []byte{byte(i)})[:31])))
		j := &jobs.GenJob{ModelRoot: root, Prompt: jobs.ByteTokens([]byte(c.prompt)), New: c.n}
		if c.sample {
			j.Select = jobs.Selection{Sample: true, K: 4, Seed: 42}
			for k := range j.Select.Table {
				j.Select.Table[k] = int32(1 << 16 >> (k / 32))
			}
		}
		file := must(jobs.EncodeJob(j))
		digest := must(j.Digest())
		var secret, commitment [32]byte
		if c.secret != "" {
			secret = crypto.Keccak256Hash([]byte(c.secret))
			commitment = protocol.SeedCommitment(secret)
		}
		req := protocol.Request{
			Buyer: buyer, ClassID: crypto.Keccak256Hash([]byte("universal-small")),
			ModelRoot: commit.ToBig(root), JobDigest: commit.ToBig(digest), NewTokens: uint32(c.n),
			Price: new(big.Int).Mul(big.NewInt(100+int64(i)), big.NewInt(1e18)), LockBy: 1_800_000_000 + uint64(i),
			ExecWindow: 3600, ProveWindow: 7200, ChallengeWindow: uint32(600 * i),
			SeedCommitment: commitment, Salt: new(big.Int).SetBytes(crypto.Keccak256([]byte("salt"), []byte{byte(i)})),
		}
		o := must(jobs.SignOffer(key, big.NewInt(c.chain), common.HexToAddress(c.manager), req, c.uri))
		doc := must(o.Encode())
		docs = append(docs, doc)
		valid = append(valid, map[string]any{
			"jobFile": hexb(file), "jobDigest": commit.ToBig(digest).String(), "secret": hexb(secret[:]),
			"offer": string(doc), "jobId": must(o.JobID()).String(),
		})
	}
	d := docs[0]
	replace := func(old, new string) string { return string(bytes.Replace(d, []byte(old), []byte(new), 1)) }
	var invalid []map[string]any
	for _, c := range []struct{ name, doc, field string }{
		{"duplicate key", replace(`,"jobURI"`, `,"signature":"0x00","jobURI"`), "signature: duplicate key"},
		{"unknown key", replace(`,"jobURI"`, `,"tip":"1","jobURI"`), "tip: unknown key"},
		{"missing key", replace(`"version":"probity.offer.v1",`, ``), "version: missing"},
		{"null", replace(`"price":"`, `"price":null,"x":"`), "request.price: null"},
		{"upper-case hex", replace(`"manager":"0x5fbdb`, `"manager":"0x5FBDB`), "manager"},
		{"short word", replace(`"salt":"0x`, `"salt":"0x0`), "request.salt"},
		{"price as number", replace(`"price":"100000000000000000000"`, `"price":100000000000000000000`), "request.price"},
		{"window as string", replace(`"execWindow":3600`, `"execWindow":"3600"`), "request.execWindow"},
		{"newTokens above uint32", replace(`"newTokens":8`, `"newTokens":4294967296`), "request.newTokens"},
		{"other version", replace(`offer.v1`, `offer.v2`), "version"},
		{"trailing data", string(d) + `{}`, "trailing data"},
		{"whitespace", replace(`,"chainId"`, `, "chainId"`), "canonical"},
		{"short signature", replace(`"signature":"0x`, `"signature":"0x00`), "signature"},
		{"jobURI scheme", replace(`"file:///`, `"ftp:///`), "jobURI"},
	} {
		invalid = append(invalid, map[string]any{"name": c.name, "offer": c.doc, "expect": c.field})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "signed offers (specs/settlement.md §8): the buyer key is keccak256(\"probity offer vector buyer\"); each valid case is a job file, the canonical offer over a request of its digest signed by that key (EIP-712, domain version \"1\"), and its job id; each invalid document must be refused with an error naming expect",
		"buyer":       hexAddrLower(buyer),
		"valid":       valid,
		"invalid":     invalid,
	}
}

func hexAddrLower(a common.Address) string { return hexb(a[:]) }
