package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	receiptv1 "github.com/probitylabs/probity/receipt/v1"
	"github.com/probitylabs/probity/verifier"
	verifierv1 "github.com/probitylabs/probity/verifier/v1"
)

// sniffV1 reports whether target (a receipt file, or a directory of *.json receipts) holds v1
// receipts: a file whose "version" is probity.receipt.v1, or a directory with at least one.
// Anything else goes the v0 way, whose strict parser reports what is wrong with it.
func sniffV1(target string) (bool, error) {
	info, err := os.Stat(target)
	if err != nil {
		return false, err
	}
	files := []string{target}
	if info.IsDir() {
		files, err = filepath.Glob(filepath.Join(target, "*.json"))
		if err != nil {
			return false, err
		}
	}
	for _, f := range files {
		if versionOf(f) == receiptv1.Version {
			return true, nil
		}
	}
	return false, nil
}

// versionOf reads a document's top-level "version" leniently ("" when it has none or is not
// JSON): only to choose the parser, which then reads the document strictly.
func versionOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var doc struct {
		Version string `json:"version"`
	}
	if json.NewDecoder(io.LimitReader(f, receiptv1.MaxSize)).Decode(&doc) != nil {
		return ""
	}
	return doc.Version
}

type v1Flags struct {
	set                                     map[string]bool
	asJSON, unsafeAll, requireCC, allowNone bool
	policyFile, modelFile, chainID, manager string
	vkFile, rpc, deployment                 string
	allowGPU                                stringList
	workers                                 int
	records                                 verifier.Records
}

// v0Only are the flags of v0 audits that mean nothing for a v1 receipt.
var v0Only = []string{"min-k", "min-detection-bps", "floor-bps", "tensors"}

// dialV1Chain connects the on-chain cross-check; tests replace it with a simulated chain.
var dialV1Chain = func(ctx context.Context, url, deploymentFile string) (verifierv1.Chain, *chain.Market, error) {
	addrs, err := chain.ReadAddressesV1(deploymentFile)
	if err != nil {
		return nil, nil, withHint(err, "a v1 deployment file is JSON: {\"token\", \"providers\", \"classes\", \"hasher\", \"manager\"}")
	}
	ec, err := dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	// Reads only: an ephemeral key satisfies the market's sender and never signs.
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	m, err := chain.NewMarket(ctx, ec, addrs, key)
	if err != nil {
		return nil, nil, err
	}
	return verifierv1.MarketChain{Market: m, Headers: ec}, m, nil
}

// runVerifyV1 audits v1 receipts and exits 0 only for a receipt whose verdict is OK. An audit
// without --rpc cannot confirm the seed block's hash (so neither the seed nor what the
// detection bounds promise): its verdict is "unconfirmed" and it exits 1 (exitFailed) like a
// failed one, saying so, unless the policy file sets "allowUnconfirmed": true. Verifying keys
// are pinned: a policy class's "vk" file or "vkHash", --vk, or with --rpc the class's
// on-chain verifier (which a pinned key must equal); a catalogue class with none of these
// fails its proof check instead of trusting the local key cache.
func runVerifyV1(ctx context.Context, target string, f v1Flags, stdout io.Writer) error {
	for _, name := range v0Only {
		if f.set[name] {
			return usageError{fmt.Sprintf("--%s is for v0 receipts; a v1 policy file sets classes, minSlots and minInstance", name)}
		}
	}
	policy := verifierv1.DefaultPolicy()
	switch {
	case f.unsafeAll && f.policyFile != "":
		return usageError{"--unsafe-accept-all and --policy exclude each other"}
	case f.unsafeAll:
		policy = verifierv1.PolicyUnsafeAcceptAll()
	case f.policyFile != "":
		p, err := verifierv1.LoadPolicy(f.policyFile)
		if err != nil {
			return withHint(err, `a v1 policy file is JSON, e.g. {"chainId": "1", "manager": "0x...", "classes": [{"name": "small", "vk": "small.vk"}], "minInstance": 0.5}`)
		}
		policy = p
	}
	policy.RequireCC = policy.RequireCC || f.requireCC
	policy.AllowNoAttestation = policy.AllowNoAttestation || f.allowNone
	policy.AllowedGPUModels = append(policy.AllowedGPUModels, f.allowGPU...)
	if f.chainID != "" {
		id, ok := new(big.Int).SetString(f.chainID, 10)
		if !ok || id.Sign() <= 0 {
			return usageError{fmt.Sprintf("--chain-id %q is not a positive decimal integer", f.chainID)}
		}
		policy.ChainID = id
	}
	if f.manager != "" {
		a, err := parseAddress("--contract", f.manager)
		if err != nil {
			return err
		}
		policy.Manager = &a
	}

	opts := verifierv1.Options{Attestation: &f.records}
	if f.modelFile != "" {
		m, err := model.ReadFile(f.modelFile)
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		opts.Model = m
	}
	if f.rpc != "" {
		if f.deployment == "" {
			return usageError{"--rpc needs --deployment FILE (the v1 deployment's addresses)"}
		}
		c, _, err := dialV1Chain(ctx, f.rpc, f.deployment)
		if err != nil {
			return withHint(err, "check that the RPC answers and the deployment file matches it")
		}
		// Against a chain, a class the policy gives no key is checked with the key of the
		// verifier the chain registered for it, and a key it gives must be that one.
		opts.Chain = c
	}
	if f.vkFile != "" {
		vk, err := verifier.ReadVerifyingKeyFile(f.vkFile)
		if err != nil {
			return err
		}
		opts.Keys = func(*universal.Class) (*groth16bn254.VerifyingKey, error) { return vk, nil }
	}

	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	if info.IsDir() {
		s, err := verifierv1.AuditDir(ctx, target, policy, opts, f.workers)
		if err != nil {
			return err
		}
		if f.asJSON {
			if err := writeJSON(stdout, s); err != nil {
				return err
			}
		} else {
			for _, r := range s.Reports {
				printV1Report(stdout, r)
			}
			fmt.Fprintf(stdout, "%d passed, %d failed\n", s.Passed, s.Failed)
		}
		if !s.OK() {
			unconfirmed := 0
			for _, r := range s.Reports {
				if verifierv1.Verdict(r) == verifierv1.VerdictUnconfirmed {
					unconfirmed++
				}
			}
			if unconfirmed > 0 {
				return failedError{fmt.Errorf("%d of %d receipts failed (%d of them only unconfirmed: %s)", s.Failed, len(s.Reports), unconfirmed, unconfirmedHint)}
			}
			return failedError{fmt.Errorf("%d of %d receipts failed", s.Failed, len(s.Reports))}
		}
		return nil
	}
	r, err := verifierv1.AuditFile(ctx, target, policy, opts)
	if err != nil {
		return err
	}
	if f.asJSON {
		if err := writeJSON(stdout, r); err != nil {
			return err
		}
	} else {
		printV1Report(stdout, r)
	}
	switch verifierv1.Verdict(r) {
	case verifierv1.VerdictOK:
		return nil
	case verifierv1.VerdictUnconfirmed:
		return failedError{fmt.Errorf("%s is unconfirmed: %s", target, unconfirmedHint)}
	}
	return failedError{fmt.Errorf("%s failed verification", target)}
}

const unconfirmedHint = `not checked against the chain; audit with --rpc and --deployment, or set "allowUnconfirmed": true in the policy`

// printV1Report prints a report as printReport does and, for an unconfirmed one, says that
// only the chain check is missing.
func printV1Report(w io.Writer, r *verifier.Report) {
	printReport(w, r)
	if verifierv1.Verdict(r) == verifierv1.VerdictUnconfirmed {
		fmt.Fprintln(w, "  UNCONFIRMED: every other check passed; the seed block's hash (so the seed and the detection bounds) is the provider's word until checked against the chain")
	}
}
