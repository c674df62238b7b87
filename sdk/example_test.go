package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/sdk"
	"github.com/probitylabs/probity/tensor"
)

// A buyer posts a job on an in-process chain: the SDK commits the files, publishes them with a
// manifest, escrows the price and posts the spec. Governance first registers the tiny shape
// with a development key (a real deployment registers ceremony keys once).
func Example() {
	ctx := context.Background()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	tiny, _ := circuits.Lookup("tiny")
	keys, err := circuits.DevSetup(tiny)
	if err != nil {
		panic(err)
	}
	gov, _ := sim.Client(ctx, sim.Governance)
	if _, err := gov.RegisterShape(ctx, tiny, keys.VK); err != nil {
		panic(err)
	}

	dir, _ := os.MkdirTemp("", "probity-example-")
	defer os.RemoveAll(dir)
	input, model := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "m.safetensors")
	_ = tensor.SaveActivations(input, tensor.RandomInput(1, 8, 16)) // 8 rows of 16 int8
	m, _ := tensor.RandomModel(1, 16, 4)                            // one layer, 16 -> 4
	_ = tensor.SaveModel(model, m)

	buyer, _ := sim.Client(ctx, sim.Accounts[0])
	job, err := buyer.PostJob(ctx, sdk.JobRequest{
		InputFile: input, ModelFile: model,
		PublishDir: filepath.Join(dir, "job"),
		Shapes:     []string{"tiny"},
		Price:      big.NewInt(1e18),
	})
	if err != nil {
		panic(err)
	}
	state, _ := buyer.JobState(ctx, job.ID)
	fmt.Println("job", job.ID, "is", state)

	// Until a provider locks it, the buyer may cancel and withdraw the escrow.
	if err := buyer.Cancel(ctx, job.ID); err != nil {
		panic(err)
	}
	refund, _ := buyer.Withdraw(ctx)
	fmt.Println("refunded", refund)
	// Output:
	// job 1 is Open
	// refunded 1000000000000000000
}

// Contract reverts come back typed, with the custom error's arguments.
func ExampleWrongStateError() {
	ctx := context.Background()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	buyer, _ := sim.Client(ctx, sim.Accounts[0])

	err = buyer.Cancel(ctx, big.NewInt(42)) // no such job: its state is None
	var ws *sdk.WrongStateError
	if errors.As(err, &ws) {
		fmt.Println("job", ws.JobID, "state", ws.State)
	}
	// Output:
	// job 42 state None
}
