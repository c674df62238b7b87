// Package sdk is the Go API a dApp uses to buy verifiable inference on Probity
// (specs/protocol.md): post a job with escrow, follow it through the SLA state machine, and
// collect a receipt that the buyer can check without trusting anyone.
//
// A session with a deployment starts with Connect (any EVM RPC) or, for tests and demos,
// NewSimulated (an in-process chain with the contracts deployed and funded accounts):
//
//	sim, _ := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
//	buyer, _ := sim.Client(ctx, sim.Accounts[0])
//	job, _ := buyer.PostJob(ctx, sdk.JobRequest{
//		InputFile: "input.safetensors", ModelFile: "model.safetensors",
//		PublishDir: "jobs/1", Shapes: []string{"demo-64", "demo-64"},
//		Price: big.NewInt(1e18),
//	})
//	for ev := range buyer.Watch(ctx, job.ID) { fmt.Println(ev) }
//	rc, _ := buyer.WaitReceipt(ctx, job.ID)
//
// PostJob commits the input and every layer's parameters (Poseidon2 Merkle roots, spec §4)
// from the safetensors files, builds the EIP-712 JobSpec, publishes the files with a job
// manifest, approves and escrows the price and posts the job. A provider locks it, commits its
// outputs, the chain fixes a random seed, and the provider proves k sampled outputs per layer;
// the contract pays only when the proofs verify, and slashes the provider's stake to the buyer
// when they do not or a deadline passes.
//
// Seed secret (spec §6.2): PostJob draws a random secret and posts its commitment with the job
// (Job.SeedSecret; persist it if the process may restart). Once the provider has committed
// and the seed block is mined, WaitReceipt reveals it (or call RevealSeed), so that the seed
// depends on something neither the provider nor the producer of the seed block knew. A buyer
// that does not reveal within protocol.RevealBlocks blocks only delays the job: anyone may
// then fix the seed without the secret. JobRequest.NoSeedCommitment opts out, for a weaker
// seed.
//
// Receipts (spec §8.3): the provider writes the receipt document to receipts/<jobId>.json
// next to the job manifest. Transport is untrusted: WaitReceipt accepts a document only when
// its EIP-712 digest equals the receiptDigest that the contract emitted in JobSettled, and the
// verifier package audits it further under an explicit policy.
//
// Errors: contract reverts come back as typed errors carrying the custom error's arguments
// (*WrongStateError, *UnauthorizedError, *DeadlinePassedError, ...); every one also matches
// errors.As(err, **chain.RevertError) and errors.Is(err, chain.ErrReverted).
package sdk
