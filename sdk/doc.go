// Package sdk is the Go API a dApp uses to buy verifiable text generation on Probity
// (specs/settlement.md, protocol v1): ask for n tokens of a model after a prompt, get them
// back from the chain with a proof behind them, and pay only for a valid proof.
//
// A session starts with Connect (any EVM RPC) or, for tests and demos, NewSimulated (an
// in-process chain with the contracts deployed, funded accounts and registered width
// classes), where StartProvider runs a provider node in process:
//
//	sim, _ := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Classes: []*universal.Class{class}})
//	provider, _ := sim.StartProvider(ctx, sdk.ProviderConfig{Models: []*model.Model{m}})
//	buyer, _ := sim.Client(ctx, sim.Accounts[0])
//	job, _ := buyer.Prepare(ctx, sdk.Generation{
//		Model: m, Text: "And God said, ", NewTokens: 24,
//		Price: big.NewInt(1e18), Class: class, JobDir: sim.Dir("job"),
//	})
//	_ = buyer.Deposit(ctx, job.Request.Price)
//	_, _ = buyer.Post(ctx, job) // or buyer.Offer(ctx, job, "file:///var/probity/book")
//	res, _ := buyer.Result(ctx, job) // reveals the seed, waits for the proof
//	fmt.Println(res.Text)
//	_ = provider.Close()
//
// Buyers should name the width class (Generation.Class): a class taken from the model
// catalogue was chosen by whoever catalogued the model first, so Prepare uses it only when the
// client knows its parameters, the job fits it and it has Generation.MinSlots slots.
//
// Prepare checks the job against the model (and, given one, its width class), writes the job
// file (specs/trace.md §1.1) into JobDir, and builds the request: the model root, the job
// digest that binds prompt, n and selection, the class, the price and windows, a fresh
// random seed secret's commitment and a random salt. The request's EIP-712 digest is the job
// id. The job then reaches the chain one of two ways (settlement.md §2, §8):
//
//   - Offer signs the request and writes a signed offer into an order book. The buyer sends
//     no transaction: a provider that wants the job fetches the job file, checks it against
//     the signed digest, runs it, and creates, escrows and commits the job in one
//     lockAndCommit (or locks first with lockRequest). The escrow is taken at lock from the
//     buyer's manager balance (Deposit) or by transferFrom (Approve), which Offer checks.
//   - Post posts the request with its job URI; any provider locks it.
//
// Then Result follows the job: as soon as the provider has committed and the seed block is
// mined it reveals the seed secret (settlement.md §4: the seed then depends on something
// neither the provider nor the seed block's builder knew), and it returns the tokens of the
// JobProved event, which the manager emits only for a valid proof of exactly those tokens.
// Watch yields a job's events (a range loop, errors included); WaitSettled waits for the
// payment; Receipt fetches the provider's receipt document (specs/settlement.md §9) from next to the job file and accepts
// it only when its EIP-712 digest is the one JobProved emitted and every field the digest
// does not cover checks against the chain (package verifier's audit: job file, commitment, seed,
// class, proof against the on-chain key, attestation digest, node key). A job nobody locked is
// cancelled (an offer revoked) with Cancel; a job whose provider missed a deadline is slashed
// by anyone with Slash, crediting the buyer the price and the stake less a bounty; Withdraw
// pays out the buyer's balance.
//
// Seed secrets live in the client's Secrets, and in a directory when it has one
// (NewSecrets), written before the request leaves the client, so a restarted buyer can still
// reveal (LoadJob rebuilds a job from the chain). A buyer that does not reveal within
// RevealBlocks blocks only delays its job: the seed is then fixed without the secret.
//
// Errors: contract reverts come back typed, as *chain.ContractError of the struct abigen
// generated for the custom error, its arguments in Args (*WrongStateError,
// *DeadlineNotPassedError, *RevealClosedError, ... name the ones a buyer meets); match them
// with errors.As. Every one also matches errors.As(err, **chain.RevertError) and
// errors.Is(err, chain.ErrReverted).
//
// Importing the package silences gnark's global logger (package circuits), which otherwise
// prints every proof and verification to the program's stdout.
package sdk
