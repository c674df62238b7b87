package main

// Vectors for the points a second implementation of the spec found unclear (issue 12):
// the Poseidon2 constants, the receipt's detection figure and field spellings, the model-file
// rules and metadata integers, the contract interface, and the chain data of an offline audit.

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/attestation"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// ---- poseidon2.json: constants ----

// poseidonConstants states how the constants of §4.1 are made and lists them, read from the
// parameters gnark-crypto builds (the ones commit.Permute and the circuits use).
func poseidonConstants() any {
	p := poseidon2.NewParameters(commit.Width, commit.FullRounds, commit.PartialRounds)
	keys := make([][]string, len(p.RoundKeys))
	for i, rk := range p.RoundKeys {
		keys[i] = decs(rk)
	}
	return map[string]any{
		"seed":       p.String(),
		"derivation": "h_0 = keccak256(seed); h_n = keccak256(h_{n-1}) for n >= 1; the n-th constant (n = 1, 2, ...) is h_n read as a big-endian 256-bit integer mod R; constants are taken round by round and, in a full round, word by word",
		"roundKeys":  keys,
		"external":   [][]int{{2, 1, 1}, {1, 2, 1}, {1, 1, 2}},
		"internal":   [][]int{{2, 1, 1}, {1, 2, 1}, {1, 1, 3}},
		"rounds":     "state = E*state; rounds 0..3 full, 4..59 partial (key and S-box on word 0 only, then I*state), 60..63 full; a full round adds its 3 keys, applies x^5 to every word, then E*state",
	}
}

// ---- modelfile.json ----

func safetensorsBytes(tensors map[string]any, md map[string]string, trailing []byte) string {
	var buf bytes.Buffer
	if err := tensor.Write(&buf, tensors, md); err != nil {
		fatal(err)
	}
	buf.Write(trailing)
	return hexb(buf.Bytes())
}

// modelFileVectors pins which model files a reader accepts (§3.1): whole files in hex, each
// with its expect class.
func modelFileVectors() any {
	w := &tensor.Int8{Shape: []int{2, 3}, Data: []int8{1, -2, 3, -128, 127, 0}}
	b := &tensor.Int32{Shape: []int{2}, Data: []int32{5, -7}}
	w1 := &tensor.Int8{Shape: []int{1, 2}, Data: []int8{4, -4}}
	b1 := &tensor.Int32{Shape: []int{1}, Data: []int32{0}}
	meta := func(ls ...int) map[string]string {
		md := map[string]string{}
		for _, l := range ls {
			md[fmt.Sprintf("layers.%d.multiplier", l)] = "1073741824"
			md[fmt.Sprintf("layers.%d.shift", l)] = "31"
			md[fmt.Sprintf("layers.%d.zero_point", l)] = "-3"
			md[fmt.Sprintf("layers.%d.relu", l)] = "true"
		}
		return md
	}
	with := func(md map[string]string, k, v string) map[string]string {
		md[k] = v
		return md
	}
	two := func() map[string]any {
		return map[string]any{"layers.0.weight": w, "layers.0.bias": b, "layers.1.weight": w1, "layers.1.bias": b1}
	}
	withT := func(ts map[string]any, k string, v any) map[string]any {
		ts[k] = v
		return ts
	}
	cases := []struct {
		name, expect string
		ts           map[string]any
		md           map[string]string
		trailing     []byte
	}{
		{"two layers", "ok", two(), meta(0, 1), nil},
		{"foreign metadata key (ignored)", "ok", two(), with(meta(0, 1), "format", "pt"), nil},
		{"extra tensor", "invalid", withT(two(), "layers.1.scale", b1), meta(0, 1), nil},
		{"extra tensor pair", "invalid", withT(withT(two(), "extra.a", b1), "extra.b", b1), meta(0, 1), nil},
		{"layer numbering gap (0, 2)", "invalid", map[string]any{"layers.0.weight": w, "layers.0.bias": b, "layers.2.weight": w1, "layers.2.bias": b1}, meta(0, 2), nil},
		{"layer numbered 01", "invalid", map[string]any{"layers.0.weight": w, "layers.0.bias": b, "layers.01.weight": w1, "layers.01.bias": b1}, meta(0, 1), nil},
		{"metadata of a missing layer", "invalid", two(), meta(0, 1, 2), nil},
		{"metadata layer numbered 01", "invalid", two(), with(meta(0, 1), "layers.01.shift", "31"), nil},
		{"unknown layer metadata", "invalid", two(), with(meta(0, 1), "layers.0.scale", "1"), nil},
		{"missing metadata", "invalid", two(), meta(0), nil},
		{"trailing byte after the data", "invalid", two(), meta(0, 1), []byte{0}},
		{"widths do not chain", "invalid", map[string]any{"layers.0.weight": w, "layers.0.bias": b, "layers.1.weight": w, "layers.1.bias": b}, meta(0, 1), nil},
	}
	var out []map[string]any
	for _, c := range cases {
		out = append(out, map[string]any{"name": c.name, "expect": c.expect, "file": safetensorsBytes(c.ts, c.md, c.trailing)})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "model files (§3.1) in hex; expect ok (the model reads) or invalid (readers MUST refuse it)",
		"cases":       out,
	}
}

// ---- metadata.json ----

// metadataVectors pins the integer grammar of §3.1: one epilogue field at a time is set to
// value, the others are valid.
func metadataVectors() any {
	type c struct {
		field, value, expect string
	}
	var cases []c
	ok := func(f string, vs ...string) {
		for _, v := range vs {
			cases = append(cases, c{f, v, "ok"})
		}
	}
	bad := func(f string, vs ...string) {
		for _, v := range vs {
			cases = append(cases, c{f, v, "invalid"})
		}
	}
	ok("multiplier", "1", "9", "10", "1073741824", "2147483647")
	bad("multiplier", "0", "2147483648", "4294967296", "01", "+1", "-1", "1.0", "1e3", " 1", "1 ", "0x10", "1_000", "", "٣")
	ok("shift", "1", "31", "62")
	bad("shift", "0", "63", "256", "07", "+7", "-7")
	ok("zero_point", "0", "-128", "127", "-1", "5")
	bad("zero_point", "-0", "+5", "128", "-129", "007", "-07", "00", "- 1", "--1")
	ok("relu", "true", "false")
	bad("relu", "True", "1", "0", "", "yes", " true")
	out := make([]map[string]string, len(cases))
	for i, x := range cases {
		out[i] = map[string]string{"field": x.field, "value": x.value, "expect": x.expect}
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "metadata integers of model files (§3.1): layers.{l}.<field> = value with the other fields valid; expect ok or invalid",
		"base":        map[string]string{"multiplier": "1073741824", "shift": "31", "zero_point": "-3", "relu": "true"},
		"cases":       out,
	}
}

// ---- contracts.json ----

type abiEntry struct {
	Signature  string `json:"signature"`
	Selector   string `json:"selector,omitempty"`
	Topic0     string `json:"topic0,omitempty"`
	Mutability string `json:"stateMutability,omitempty"`
}

// contractVectors lists every external function, event and custom error of the protocol's
// contracts with its selector or topic, read from the committed bindings (regenerated from the
// contracts by contracts/bindings' own check).
func contractVectors() any {
	out := map[string]any{}
	for _, c := range []struct {
		name string
		md   *bind.MetaData
	}{
		{"SLAManager", &bindings.SLAManagerMetaData},
		{"ProviderRegistry", &bindings.ProviderRegistryMetaData},
		{"ClassRegistry", &bindings.ClassRegistryMetaData},
		{"ResultHasher", &bindings.ResultHasherMetaData},
		{"Groth16Verifier", &bindings.Groth16VerifierMetaData},
		{"ChallengeManager", &bindings.ChallengeManagerMetaData},
	} {
		a := must(c.md.ParseABI())
		fns, evs, errs := []abiEntry{}, []abiEntry{}, []abiEntry{}
		for _, m := range a.Methods {
			fns = append(fns, abiEntry{Signature: m.Sig, Selector: hexb(m.ID), Mutability: m.StateMutability})
		}
		for _, e := range a.Events {
			evs = append(evs, abiEntry{Signature: e.Sig, Topic0: e.ID.Hex()})
		}
		for _, e := range a.Errors {
			errs = append(errs, abiEntry{Signature: e.Sig, Selector: hexb(e.ID[:4])})
		}
		for _, l := range [][]abiEntry{fns, evs, errs} {
			slices.SortFunc(l, func(x, y abiEntry) int { return strings.Compare(x.Signature, y.Signature) })
		}
		out[c.name] = map[string]any{"functions": fns, "events": evs, "errors": errs}
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "contract interface (§8.4): selector = keccak256(signature)[0:4] for functions and errors, topic0 = keccak256(signature) for events; tuples are written (t1,t2,...)",
		"contracts":   out,
	}
}

// ---- audit.json ----

// auditVectors pins the CC nonce of protocol.md §9.3 that an auditor recomputes from the
// receipt: over the job's committed roots (a generation job's one root is its trace root,
// receipt.Receipt.Nonce).
func auditVectors() any {
	mgr := common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	var cases []map[string]any
	for _, c := range []struct {
		chain, job int64
		roots      []*big.Int
	}{
		{31337, 1, []*big.Int{big.NewInt(7)}},
		{31337, 2, []*big.Int{big.NewInt(7), new(big.Int).Sub(protocol.R, big.NewInt(1))}},
		{1, 1 << 40, []*big.Int{new(big.Int).SetBytes(crypto.Keccak256([]byte("o0"))[:31])}},
	} {
		rs := make([]string, len(c.roots))
		for i, r := range c.roots {
			rs[i] = r.String()
		}
		nod := attestation.NonceOutputsDigest(c.roots)
		nonce := attestation.Nonce(big.NewInt(c.chain), mgr, big.NewInt(c.job), nod)
		cases = append(cases, map[string]any{
			"chainId": fmt.Sprint(c.chain), "manager": strings.ToLower(mgr.Hex()), "jobId": fmt.Sprint(c.job),
			"outputRoots": rs, "nonceOutputsDigest": hexb(nod[:]), "nonce": hexb(nonce[:]),
		})
	}
	return map[string]any{
		"generatedBy": generatedBy,
		"description": "the CC nonce (protocol.md §9.3) over nonceOutputsDigest = keccak256(abi.encode(outputRoots, bytes32(0))); a generation job's outputRoots is [traceRoot]",
		"cases":       cases,
	}
}
