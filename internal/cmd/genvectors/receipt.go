package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/receipt/receipttest"
)

// ---- receipt-v1.json ----

// receiptV1 asks for the receipt vector. It is not among generate()'s files: its proof is
// randomized and the class's one-party setup differs per machine, so -check could never
// reproduce it; the verifying key it was proved with travels beside it instead.
var receiptV1 = flag.Bool("receipt-v1", false, "write the receipt vector (receipt-v1.json with its key, policy and model) into -dir and exit")

// writeReceipt writes a real receipt of a real job: universaltest.Model(1) under
// universaltest.Class(), a prompt of four tokens and five new ones, committed, seeded from a
// fixed block hash and the buyer's revealed secret, proved with the class's development keys,
// and signed by a fixed node key. Beside it: receipt-v1.vk.bin (the key that verifies the proof),
// receipt-v1.policy.json (a policy accepting exactly that class and key, on the vector's
// chain and manager), receipt-v1.model.safetensors (the model, for the detection check).
func writeReceipt(dir string) {
	cl := universaltest.Class()
	keys := must(universal.Setup(cl))
	m := must(universaltest.Model(1))
	job := must(receipttest.Run(keys, m, []int32{3, 1, 4, 1}, 5))
	key := func(s string) common.Address {
		return crypto.PubkeyToAddress(must(crypto.ToECDSA(crypto.Keccak256([]byte(s)))).PublicKey)
	}
	nodeKey := must(crypto.ToECDSA(crypto.Keccak256([]byte("probity receipt-v1 vector: node key"))))
	secret := crypto.Keccak256Hash([]byte("probity receipt-v1 vector: buyer secret"))
	ether := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	d := protocol.Domain{ChainID: big.NewInt(31337), Contract: common.HexToAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3")}
	req := job.Request(key("probity receipt-v1 vector: buyer"), new(big.Int).Mul(big.NewInt(100), ether), 1_800_000_000,
		protocol.SeedCommitment(secret), big.NewInt(1))
	rc := must(job.Receipt(&receipttest.Settlement{
		Domain: d, Request: req, Provider: key("probity receipt-v1 vector: provider"), Stake: new(big.Int).Mul(big.NewInt(250), ether),
		SeedBlock: 42, BlockHash: crypto.Keccak256Hash([]byte("probity receipt-v1 vector: block 42")), Secret: secret,
	}, nodeKey))
	var vk bytes.Buffer
	must(keys.VK.WriteTo(&vk))
	slots := cl.Slots[1:]
	policy := map[string]any{
		"chainId": d.ChainID.String(), "manager": d.Contract, "allowNoAttestation": true, "minSlots": 1, "minInstance": 0.1,
		"classes": []map[string]any{{"name": cl.Name, "elems": cl.Elems, "rowDepth": cl.RowDepth, "opDepth": cl.OpDepth,
			"paramDepth": cl.ParamDepth, "slots": slots, "vk": "receipt-v1.vk.bin"}},
	}
	pj := must(json.MarshalIndent(policy, "", "  "))
	files := map[string][]byte{
		"receipt-v1.json":              must(rc.MarshalIndent()),
		"receipt-v1.vk.bin":            vk.Bytes(),
		"receipt-v1.policy.json":       append(pj, '\n'),
		"receipt-v1.model.safetensors": must(model.Encode(m)),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			fatal(err)
		}
	}
}
