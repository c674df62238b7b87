package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
)

func init() {
	register("verify", "audit receipts offline under a policy (a file or a directory of *.json)", runVerify)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runVerify audits receipts and exits 0 only for a receipt whose verdict is OK. An audit
// without --rpc cannot confirm the seed block's hash (so neither the seed nor what the
// detection bounds promise): its verdict is "unconfirmed" and it exits 1 (exitFailed) like a
// failed one, saying so, unless the policy file sets "allowUnconfirmed": true. Verifying keys
// are pinned: a policy class's "vk" file or "vkHash", --vk, or with --rpc the class's
// on-chain verifier (which a pinned key must equal); a catalogue class with none of these
// fails its proof check instead of trusting the local key cache.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "verify [flags] RECEIPT.json|DIR\n\n"+
		"Audits probity.receipt.v1 documents (settlement.md §9) under a policy: a file, or every\n"+
		"*.json in DIR and its subdirectories (a buyer directory), naming the ones that fail.\n"+
		"Receipts of development networks carry no GPU evidence: --allow-no-attestation.\n"+
		"Exit status: 0 all passed, 1 a receipt failed, 2 usage, 3 could not run.", stderr)
	var (
		asJSON     = fs.Bool("json", false, "print the reports as JSON")
		policyFile = fs.String("policy", "", "policy `file` (JSON; flags below override it); default: the default policy. {\"chainId\", \"manager\", \"classes\": [{\"name\", \"vk\"}], \"allowNoAttestation\", \"allowUnconfirmed\", \"minSlots\", \"minInstance\", ...}")
		modelFile  = fs.String("model", "", "the model `file` (safetensors) whose root is the request's: check the job against it and recompute the detection bounds")
		requireCC  = fs.Bool("require-cc", false, "accept only verified confidential-computing attestation")
		allowNone  = fs.Bool("allow-no-attestation", false, `accept attestation mode "none" (no GPU evidence)`)
		unsafeAll  = fs.Bool("unsafe-accept-all", false, "check cryptography and bindings only: any chain, contract, attestation mode, detection bound")
		chainID    = fs.String("chain-id", "", "expected chain id (refuse receipts from other chains)")
		contract   = fs.String("contract", "", "expected SLA manager `address`")
		vkFile     = fs.String("vk", "", "verifying key `file` (gnark binary) for every accepted class the policy gives no key")
		rpc        = fs.String("rpc", os.Getenv(envRPC), "RPC `url`: cross-check the job on chain (needs --deployment; env "+envRPC+")")
		deployment = fs.String("deployment", os.Getenv(envDeployment), "deployment addresses `file` for --rpc (JSON: chainId, token, providers, classes, hasher, manager; env "+envDeployment+")")
		workers    = fs.Int("workers", 0, "parallel audits in directory mode (0: one per CPU)")
	)
	var allowGPU, allowChip, allowBoard, rims, switchRIMs stringList
	fs.Var(&allowGPU, "allow-gpu", "accepted GPU `name` (repeatable)")
	fs.Var(&allowChip, "allow-chip", "accepted GPU `chip` as its signed certificate chain names it, e.g. GH100 (repeatable; needs CC evidence, checked on every GPU)")
	fs.Var(&allowBoard, "allow-board", "accepted GPU `board` as its signed report names it, PROJECT_PROJECTSKU_CHIPSKU, e.g. 1010_0200_882 (repeatable; needs CC evidence, checked on every GPU)")
	fs.Var(&rims, "rim", "NVIDIA RIM `file` (one driver and one VBIOS RIM): its signature and chain to NVIDIA's RIM root are verified, its version bound to the report, and CC measurements must match its golden values")
	fs.Var(&switchRIMs, "switch-rim", "NVIDIA NVSwitch BIOS RIM `file` for the switches of multi-GPU records (repeatable), checked as --rim is")
	requireRIMs := fs.Bool("require-rims", false, "fail CC records unless --rim gives their driver and VBIOS RIMs (and --switch-rim the switches')")
	topology := fs.String("topology", "", "require a protected-PCIe multi-GPU system of `GPUSxSWITCHES` (e.g. 8x4, NVIDIA's HGX), wired as NVIDIA's ppcie verifier checks")
	unsignedRIMs := fs.Bool("unsigned-rims-unsafe", false, "accept RIMs whose XML signature or certificate chain does not verify (NVIDIA test RIMs, forensics)")
	noOCSP := fs.Bool("no-ocsp-unsafe", false, "accept CC records without stapled OCSP responses (revocation unchecked; stapled ones must still say good)")
	allowDevTools := fs.Bool("allow-devtools", false, "accept CC reports from GPUs in devtools (non-confidential) mode")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"verify takes one receipt file or directory"}
	}
	target := fs.Arg(0)

	records, err := recordsFromFlags(rims, switchRIMs, *topology, verifier.Records{AllowDevTools: *allowDevTools, AllowedChips: allowChip, AllowedBoards: allowBoard, RequireRIMs: *requireRIMs,
		AllowUnsignedRIMsUnsafe: *unsignedRIMs, AllowMissingOCSPUnsafe: *noOCSP, Chains: &attest.ChainCache{}})
	if err != nil {
		return err
	}
	policy := verifier.DefaultPolicy()
	switch {
	case *unsafeAll && *policyFile != "":
		return usageError{"--unsafe-accept-all and --policy exclude each other"}
	case *unsafeAll:
		policy = verifier.PolicyUnsafeAcceptAll()
	case *policyFile != "":
		p, err := verifier.LoadPolicy(*policyFile)
		if err != nil {
			return withHint(err, `a policy file is JSON, e.g. {"chainId": "1", "manager": "0x...", "classes": [{"name": "small", "vk": "small.vk"}], "minInstance": 0.5}`)
		}
		policy = p
	}
	policy.RequireCC = policy.RequireCC || *requireCC
	policy.AllowNoAttestation = policy.AllowNoAttestation || *allowNone
	policy.AllowedGPUModels = append(policy.AllowedGPUModels, allowGPU...)
	if *chainID != "" {
		id, ok := new(big.Int).SetString(*chainID, 10)
		if !ok || id.Sign() <= 0 {
			return usageError{fmt.Sprintf("--chain-id %q is not a positive decimal integer", *chainID)}
		}
		policy.ChainID = id
	}
	if *contract != "" {
		a, err := parseAddress("--contract", *contract)
		if err != nil {
			return err
		}
		policy.Manager = &a
	}

	opts := verifier.Options{Attestation: &records}
	if *modelFile != "" {
		m, err := model.ReadFile(*modelFile)
		if err != nil {
			return fmt.Errorf("--model: %w", err)
		}
		opts.Model = m
	}
	if *rpc != "" {
		if *deployment == "" {
			return usageError{"--rpc needs --deployment FILE (the deployment's addresses)"}
		}
		c, _, err := dialChain(ctx, *rpc, *deployment)
		if err != nil {
			return withHint(err, "check that the RPC answers and the deployment file matches it")
		}
		// Against a chain, a class the policy gives no key is checked with the key of the
		// verifier the chain registered for it, and a key it gives must be that one.
		opts.Chain = c
	}
	if *vkFile != "" {
		vk, err := verifier.ReadVerifyingKeyFile(*vkFile)
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
		s, err := verifier.AuditDir(ctx, target, policy, opts, *workers)
		if err != nil {
			return err
		}
		if *asJSON {
			if err := writeJSON(stdout, s); err != nil {
				return err
			}
		} else {
			for _, r := range s.Reports {
				printReportVerdict(stdout, r)
			}
			fmt.Fprintf(stdout, "%d passed, %d failed\n", s.Passed, s.Failed)
		}
		if !s.OK() {
			var failed []string
			unconfirmed := 0
			for _, r := range s.Reports {
				switch verifier.Verdict(r) {
				case verifier.VerdictOK:
					continue
				case verifier.VerdictUnconfirmed:
					unconfirmed++
				}
				failed = append(failed, r.Source)
			}
			list := strings.Join(failed, ", ")
			if unconfirmed > 0 {
				return failedError{fmt.Errorf("%d of %d receipts failed: %s (%d of them only unconfirmed: %s)", s.Failed, len(s.Reports), list, unconfirmed, unconfirmedHint)}
			}
			return attestationHint(s.Reports, failedError{fmt.Errorf("%d of %d receipts failed: %s", s.Failed, len(s.Reports), list)})
		}
		return nil
	}
	r, err := verifier.AuditFile(ctx, target, policy, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, r); err != nil {
			return err
		}
	} else {
		printReportVerdict(stdout, r)
	}
	switch verifier.Verdict(r) {
	case verifier.VerdictOK:
		return nil
	case verifier.VerdictUnconfirmed:
		return failedError{fmt.Errorf("%s is unconfirmed: %s", target, unconfirmedHint)}
	}
	return attestationHint([]*verifier.Report{r}, failedError{fmt.Errorf("%s failed verification", target)})
}

// attestationHint adds to err, when a report failed only because the receipt carries no GPU
// evidence (attestation mode none: every development network, the demo, a node with
// gpu.mode none) and the policy requires it, the flag that accepts that.
func attestationHint(reports []*verifier.Report, err error) error {
	for _, r := range reports {
		for _, c := range r.Checks {
			if c.Status == verifier.Fail && errors.Is(c.Err, verifier.ErrNoAttestation) {
				return withHint(err, "the provider attached no GPU evidence (attestation mode none, as on development networks and `probity demo`): "+
					"--allow-no-attestation (or \"allowNoAttestation\": true in the policy) accepts that")
			}
		}
	}
	return err
}

const unconfirmedHint = `not checked against the chain; audit with --rpc and --deployment, or set "allowUnconfirmed": true in the policy`

// printReportVerdict prints a report as printReport does and, for an unconfirmed one, says that
// only the chain check is missing.
func printReportVerdict(w io.Writer, r *verifier.Report) {
	printReport(w, r)
	if verifier.Verdict(r) == verifier.VerdictUnconfirmed {
		fmt.Fprintln(w, "  UNCONFIRMED: every other check passed; the seed block's hash (so the seed and the detection bounds) is the provider's word until checked against the chain")
	}
}

// dialChain connects the on-chain cross-check; tests replace it with a simulated chain.
var dialChain = func(ctx context.Context, url, deploymentFile string) (verifier.Chain, *chain.Market, error) {
	addrs, err := chain.ReadAddresses(deploymentFile)
	if err != nil {
		return nil, nil, withHint(err, "a deployment file is JSON: {\"token\", \"providers\", \"classes\", \"hasher\", \"manager\"}")
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
	return verifier.MarketChain{Market: m, Headers: ec}, m, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printReport(w io.Writer, r *verifier.Report) {
	title := r.Source
	if r.JobID != "" {
		title += fmt.Sprintf(" (job %s, chain %s, contract %s)", r.JobID, r.ChainID, r.Contract)
	}
	fmt.Fprintln(w, strings.TrimSpace(title))
	for _, c := range r.Checks {
		switch c.Status {
		case verifier.Pass:
			fmt.Fprintf(w, "  ✓ %-14s %s\n", c.Name, c.Detail)
		case verifier.Fail:
			fmt.Fprintf(w, "  ✗ %-14s %v\n", c.Name, c.Err)
		default:
			fmt.Fprintf(w, "  - %-14s skipped: %s\n", c.Name, c.Detail)
		}
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "  %s in %v\n", verdict, r.Elapsed.Round(1000))
}

// recordsFromFlags completes the attestation record checks with the RIM files and the
// topology the flags name.
func recordsFromFlags(rims, switchRIMs stringList, topology string, records verifier.Records) (verifier.Records, error) {
	for _, set := range []struct {
		flag  string
		paths stringList
		dst   *[][]byte
	}{{"--rim", rims, &records.RIMs}, {"--switch-rim", switchRIMs, &records.SwitchRIMs}} {
		for _, path := range set.paths {
			b, err := os.ReadFile(path)
			if err != nil {
				return records, err
			}
			if _, err := attest.ParseRIM(b); err != nil {
				return records, fmt.Errorf("%s %s: %w", set.flag, path, err)
			}
			*set.dst = append(*set.dst, b)
		}
	}
	if topology != "" {
		var g, sw int
		if n, err := fmt.Sscanf(topology, "%dx%d", &g, &sw); err != nil || n != 2 || g < 1 || sw < 1 || fmt.Sprintf("%dx%d", g, sw) != topology {
			return records, usageError{fmt.Sprintf("--topology %q is not GPUSxSWITCHES, e.g. 8x4", topology)}
		}
		records.Topology = &attest.TopologyPolicy{GPUs: g, Switches: sw}
	}
	return records, nil
}
