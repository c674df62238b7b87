package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/verifier"
)

// The whole round trip on an in-process chain: a simulated chain with the test width class
// registered, a provider node running in process, and a buyer that posts a prompt, reads the
// generated tokens from the chain and audits the provider's receipt.
func Example_postAndAudit() {
	ctx := context.Background()
	class := universaltest.Class() // a tiny width class; the shipped model needs universal.Small()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Classes: []*universal.Class{class}})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	m, _ := universaltest.Model(1)
	provider, err := sim.StartProvider(ctx, sdk.ProviderConfig{Models: []*model.Model{m}})
	if err != nil {
		panic(err)
	}
	defer provider.Close()

	buyer, _ := sim.Client(ctx, sim.Accounts[0])
	job, err := buyer.Prepare(ctx, sdk.Generation{Model: m, Prompt: []int32{1, 2, 3}, NewTokens: 6,
		Price: big.NewInt(1e18), Class: class, JobDir: sim.Dir("job")})
	if err != nil {
		panic(err)
	}
	if err := buyer.Deposit(ctx, job.Request.Price); err != nil { // the escrow
		panic(err)
	}
	if _, err := buyer.Post(ctx, job); err != nil {
		panic(err)
	}
	res, err := buyer.Result(ctx, job) // reveals the seed secret, waits for JobProved
	if err != nil {
		panic(err)
	}
	fmt.Println("tokens:", res.Tokens)

	rc, err := buyer.WaitReceipt(ctx, job) // authenticated: JobProved's digest, checked against the chain
	if err != nil {
		panic(err)
	}
	rep, err := verifier.Audit(ctx, rc, verifier.Policy{ChainID: buyer.ChainID(), Manager: &sim.Addresses.Manager,
		Classes: []verifier.Class{{Class: class}}, AllowNoAttestation: true}, // no GPU evidence here
		verifier.Options{Model: m, Chain: verifier.MarketChain{Market: buyer.Market(), Headers: sim.Chain}})
	if err != nil {
		panic(err)
	}
	fmt.Println("audit passed:", rep.OK())
	// Output:
	// tokens: [3 3 3 3 3 3]
	// audit passed: true
}

// A buyer asks for six tokens of a model on an in-process chain. Governance first registers
// the width class with its development keys (a real deployment registers ceremony keys
// once). The buyer prepares the job (job file, request, seed commitment), offers it in an
// order book without sending a transaction, revokes it, then posts another, cancels it, and
// withdraws the refunded escrow.
func Example() {
	ctx := context.Background()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	class := universaltest.Class()
	keys, err := universal.Setup(class)
	if err != nil {
		panic(err)
	}
	cache, err := circuits.DefaultCache()
	if err != nil {
		panic(err)
	}
	targeted, err := cache.Setup(universal.TargetedClass{Class: class})
	if err != nil {
		panic(err)
	}
	gov, _ := sim.Client(ctx, sim.Governance)
	classID, err := gov.RegisterClass(ctx, class, keys.VK, targeted.VK)
	if err != nil {
		panic(err)
	}

	dir, _ := os.MkdirTemp("", "probity-example-")
	defer os.RemoveAll(dir)
	book := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, "book"))}).String()
	m, _ := universaltest.Model(1)

	buyer, _ := sim.Client(ctx, sim.Accounts[0])
	ask := sdk.Generation{
		Model: m, Prompt: []int32{1, 2, 3}, NewTokens: 6,
		Price: big.NewInt(1e18), ClassID: classID, Class: class,
		JobDir: filepath.Join(dir, "job"),
	}
	job, err := buyer.Prepare(ctx, ask)
	if err != nil {
		panic(err)
	}
	// The escrow is taken when a provider locks the offer: deposit it first.
	if err := buyer.Deposit(ctx, job.Request.Price); err != nil {
		panic(err)
	}
	if _, err := buyer.Offer(ctx, job, book); err != nil {
		panic(err)
	}
	var br jobs.BookReader
	names, _ := br.List(ctx, book)
	fmt.Println("offers in the book:", len(names))
	if _, err := buyer.Cancel(ctx, job); err != nil { // revoked: no provider can lock it now
		panic(err)
	}
	names, _ = br.List(ctx, book)
	fmt.Println("after revoking:", len(names))

	ask.JobDir = filepath.Join(dir, "job2")
	posted, err := buyer.Prepare(ctx, ask)
	if err != nil {
		panic(err)
	}
	if _, err := buyer.Post(ctx, posted); err != nil {
		panic(err)
	}
	state, _ := buyer.Market().JobState(ctx, posted.ID)
	fmt.Println("posted job is", state)
	if _, err := buyer.Cancel(ctx, posted); err != nil {
		panic(err)
	}
	refund, _ := buyer.Withdraw(ctx)
	fmt.Println("withdrew", refund)
	// Output:
	// offers in the book: 1
	// after revoking: 0
	// posted job is Open
	// withdrew 1000000000000000000
}

// Contract reverts come back typed, with the custom error's arguments, and still match
// chain.ErrReverted.
func ExampleNothingToWithdrawError() {
	ctx := context.Background()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	c, _ := sim.Client(ctx, sim.Accounts[0])

	_, err = c.Withdraw(ctx)
	var nothing *sdk.NothingToWithdrawError
	if errors.As(err, &nothing) {
		fmt.Println(nothing.Args.Account == c.Address(), errors.Is(err, chain.ErrReverted))
	}
	// Output:
	// true true
}

// Watch is a range loop over a job's events, ending at its final one; an error (the chain
// unreadable, ctx ended first) comes once, with a nil event.
func ExampleClient_Watch() {
	ctx := context.Background()
	class := universaltest.Class()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Classes: []*universal.Class{class}})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	m, _ := universaltest.Model(1)
	buyer, _ := sim.Client(ctx, sim.Accounts[0])
	job, err := buyer.Prepare(ctx, sdk.Generation{Model: m, Prompt: []int32{1, 2, 3}, NewTokens: 6,
		Price: big.NewInt(1e18), Class: class, JobDir: sim.Dir("job")})
	if err != nil {
		panic(err)
	}
	if err := buyer.Deposit(ctx, job.Request.Price); err != nil {
		panic(err)
	}
	if _, err := buyer.Post(ctx, job); err != nil {
		panic(err)
	}
	if _, err := buyer.Cancel(ctx, job); err != nil { // nobody locked it: the escrow is credited back
		panic(err)
	}
	for ev, err := range buyer.Watch(ctx, job.ID) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%T\n", ev)
	}
	// Output:
	// sdk.Posted
	// sdk.Cancelled
}
