// Command buy asks a provider on an in-process chain for 24 tokens of the shipped model after
// a prompt, reads the text from the chain and audits the provider's receipt.
package main

import (
	"context"
	"fmt"
	"log"
	"math/big"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/models"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/verifier"
)

func main() {
	ctx := context.Background()
	class, m := universal.Small(), must(models.KJV()) // the shipped model and its width class
	sim := must(sdk.NewSimulated(ctx, sdk.SimulatedConfig{Classes: []*universal.Class{class}}))
	defer sim.Close()
	provider := must(sim.StartProvider(ctx, sdk.ProviderConfig{Models: []*model.Model{m}}))
	defer provider.Close()
	buyer := must(sim.Client(ctx, sim.Accounts[0]))
	job := must(buyer.Prepare(ctx, sdk.Generation{Model: m, Text: "And God said, ", NewTokens: 24,
		Price: big.NewInt(1e18), Class: class, JobDir: sim.Dir("job")}))
	if err := buyer.Deposit(ctx, job.Request.Price); err != nil { // the escrow, taken at the post
		log.Fatal(err)
	}
	must(buyer.Post(ctx, job))
	res := must(buyer.Result(ctx, job)) // reveals the seed secret, waits for JobProved
	fmt.Printf("text: %q\n", res.Text)
	rc := must(buyer.WaitReceipt(ctx, job)) // JobProved's receipt, its fields checked against the chain
	policy := verifier.Policy{ChainID: buyer.ChainID(), Manager: &sim.Addresses.Manager,
		Classes: []verifier.Class{{Class: class}}, AllowNoAttestation: true} // no GPU evidence in process
	rep := must(verifier.Audit(ctx, rc, policy, verifier.Options{Model: m,
		Chain: verifier.MarketChain{Market: buyer.Market(), Headers: sim.Chain}}))
	fmt.Println("audit:", verifier.Verdict(rep))
}

// must stops the program at the first error.
func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}
