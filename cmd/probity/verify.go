package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/verifier"
	"github.com/probitylabs/probity/verifier/attest"
)

func init() {
	register("verify", "audit receipts offline under a policy (a file or a directory of *.json)", runVerify)
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "verify [flags] RECEIPT.json|DIR\n\nAudits probity.receipt.v0 and probity.receipt.v1 documents (read from their \"version\").\nExit status: 0 all passed, 1 a receipt failed, 2 usage, 3 could not run.", stderr)
	var (
		asJSON     = fs.Bool("json", false, "print the reports as JSON")
		policyFile = fs.String("policy", "", "policy `file` (JSON; flags below override it); default: the default policy. v1: {\"chainId\", \"manager\", \"classes\": [{\"name\", \"vk\"}], \"allowNoAttestation\", \"minSlots\", \"minInstance\", ...}")
		modelFile  = fs.String("model", "", "v1: the model `file` (safetensors) whose root is the request's: check the job against it and recompute the detection bounds")
		requireCC  = fs.Bool("require-cc", false, "accept only verified confidential-computing attestation")
		allowNone  = fs.Bool("allow-no-attestation", false, `accept attestation mode "none" (no GPU evidence)`)
		unsafeAll  = fs.Bool("unsafe-accept-all", false, "check cryptography and bindings only: any chain, contract, attestation mode, k")
		minK       = fs.Uint("min-k", 0, "least samples per layer")
		minDet     = fs.Uint("min-detection-bps", 0, "least detection probability, basis points")
		floorBps   = fs.Uint("floor-bps", 0, "the deployment's detection floor, basis points (receipts must state it)")
		chainID    = fs.String("chain-id", "", "expected chain id (refuse receipts from other chains)")
		contract   = fs.String("contract", "", "expected SLA manager `address`")
		vkFile     = fs.String("vk", "", "verifying key `file` (gnark binary) for every layer (v1: for every accepted class the policy gives no key); default: the circuits key cache")
		tensors    = fs.String("tensors", "", "job `dir` with input.safetensors, model.safetensors[, out/layer-L.safetensors] (a published job or a provider's work dir): recompute the samples")
		rpc        = fs.String("rpc", "", "RPC `url`: cross-check the job on chain (needs --deployment)")
		deployment = fs.String("deployment", "", "deployment addresses `file` for --rpc (JSON: token, providers, shapes, manager; v1: token, providers, classes, hasher, manager)")
		workers    = fs.Int("workers", 0, "parallel audits in directory mode (0: one per CPU)")
	)
	var allowGPU, rims, switchRIMs stringList
	fs.Var(&allowGPU, "allow-gpu", "accepted GPU `name` (repeatable)")
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

	records, err := recordsFromFlags(rims, switchRIMs, *topology, verifier.Records{AllowDevTools: *allowDevTools, RequireRIMs: *requireRIMs,
		AllowUnsignedRIMsUnsafe: *unsignedRIMs, AllowMissingOCSPUnsafe: *noOCSP, Chains: &attest.ChainCache{}})
	if err != nil {
		return err
	}
	v1, err := sniffV1(target)
	if err != nil {
		return err
	}
	if v1 {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		return runVerifyV1(ctx, target, v1Flags{
			set: set, asJSON: *asJSON, policyFile: *policyFile, modelFile: *modelFile, unsafeAll: *unsafeAll,
			requireCC: *requireCC, allowNone: *allowNone, allowGPU: allowGPU, chainID: *chainID, manager: *contract,
			vkFile: *vkFile, rpc: *rpc, deployment: *deployment, workers: *workers, records: records,
		}, stdout)
	}
	if *modelFile != "" {
		return usageError{"--model is for v1 receipts (the model whose root the request names); v0 receipts take --tensors"}
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
			return withHint(err, "a policy file is JSON, e.g. {\"expectedChainId\": 1, \"minK\": 8, \"requireCC\": true}")
		}
		policy = p
	}
	policy.RequireCC = policy.RequireCC || *requireCC
	policy.AllowNoAttestation = policy.AllowNoAttestation || *allowNone
	policy.AllowedGPUModels = append(policy.AllowedGPUModels, allowGPU...)
	if *minK > 0 {
		if *minK > 65535 {
			return usageError{"--min-k above 65535"}
		}
		policy.MinK = uint16(*minK)
	}
	if *minDet > 0 {
		if *minDet > 10000 {
			return usageError{"--min-detection-bps above 10000"}
		}
		policy.MinDetectionBps = uint32(*minDet)
	}
	if *floorBps > 0 {
		if *floorBps >= 10000 {
			return usageError{"--floor-bps must be below 10000"}
		}
		policy.ExpectedFloorBps = uint32(*floorBps)
	}
	if *chainID != "" {
		id, ok := new(big.Int).SetString(*chainID, 10)
		if !ok || id.Sign() <= 0 {
			return usageError{fmt.Sprintf("--chain-id %q is not a positive decimal integer", *chainID)}
		}
		policy.ExpectedChainID = id
	}
	if *contract != "" {
		a, err := parseAddress("--contract", *contract)
		if err != nil {
			return err
		}
		policy.ExpectedContract = &a
	}

	opts := verifier.Options{}
	opts.Attestation = records
	var keyView verifier.KeyView
	if *rpc != "" {
		if *deployment == "" {
			return usageError{"--rpc needs --deployment FILE (the deployment's addresses)"}
		}
		view, c, err := dialChainView(ctx, *rpc, *deployment)
		if err != nil {
			return withHint(err, "check that the RPC answers and the deployment file matches it")
		}
		opts.Chain, keyView = view, c
	}
	switch {
	case *vkFile != "":
		opts.Keys = &verifier.KeyFile{Path: *vkFile}
	case keyView != nil:
		// Against a chain, proofs are checked with the key its verifier holds, never with a
		// local cache that may hold another setup's keys.
		opts.Keys = &verifier.ChainKeys{Ctx: ctx, View: keyView}
	default:
		keys, err := verifier.DefaultCacheKeys()
		if err != nil {
			return withHint(err, "pass --vk FILE")
		}
		opts.Keys = keys
	}
	if *tensors != "" {
		tf, err := verifier.TensorDir(*tensors)
		if err != nil {
			return err
		}
		opts.Tensors = tf
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
				printReport(stdout, r)
			}
			fmt.Fprintf(stdout, "%d passed, %d failed\n", s.Passed, s.Failed)
		}
		if !s.OK() {
			return failedError{fmt.Errorf("%d of %d receipts failed", s.Failed, len(s.Reports))}
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
		printReport(stdout, r)
	}
	if !r.OK() {
		return failedError{fmt.Errorf("%s failed verification", target)}
	}
	return nil
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

func dialChainView(ctx context.Context, url, deploymentFile string) (verifier.ChainView, *chain.Client, error) {
	addrs, err := loadDeployment(deploymentFile)
	if err != nil {
		return nil, nil, err
	}
	ec, err := dial(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	// Reads only: an ephemeral key satisfies the client's sender and never signs.
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	c, err := chain.NewClient(ctx, ec, addrs, key)
	if err != nil {
		return nil, nil, err
	}
	return verifier.NewChainView(ec, c), c, nil
}

// recordsFromFlags completes the attestation record checks with the RIM files and the
// topology the flags name; v0 and v1 audits share them.
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
