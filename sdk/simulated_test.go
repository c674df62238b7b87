package sdk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/sdk"
)

// The zero config mines on its own (a committed job's seed block comes without traffic); a
// slower timer still deploys (receipts wait out go-ethereum's transaction indexing); a
// negative Interval leaves the chain still.
func TestSimulatedBlocks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct {
		iv    time.Duration
		moves bool
	}{{0, true}, {200 * time.Millisecond, true}, {-1, false}} {
		sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Interval: tc.iv})
		if err != nil {
			t.Fatalf("Interval %v: %v", tc.iv, err)
		}
		before, _ := sim.Chain.BlockNumber(ctx)
		time.Sleep(500 * time.Millisecond)
		after, _ := sim.Chain.BlockNumber(ctx)
		sim.Close()
		if moved := after > before; moved != tc.moves {
			t.Errorf("Interval %v: blocks %d -> %d in 500 ms, want moving %v", tc.iv, before, after, tc.moves)
		}
	}
}

func TestStartProviderRefuses(t *testing.T) {
	ctx := context.Background()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	for cfg, want := range map[*sdk.ProviderConfig]string{
		{}:                          "no model",
		{Models: []*model.Model{m}}: "registered no class (SimulatedConfig.Classes)",
	} {
		if _, err := sim.StartProvider(ctx, *cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("StartProvider(%+v): %v, want %q", *cfg, err, want)
		}
	}
}

// A provider stops on Close, once; a second Close says the same, and the provider account is
// registered with the node key that signs its receipts.
func TestStartProviderClose(t *testing.T) {
	ctx := context.Background()
	class := universaltest.Class()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Classes: []*universal.Class{class}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sim.StartProvider(ctx, sdk.ProviderConfig{Models: []*model.Model{m}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sim.Client(ctx, sim.Governance)
	st, err := c.Market().ProviderOf(ctx, p.Address)
	if err != nil || st.NodeKey != crypto.PubkeyToAddress(p.NodeKey.PublicKey) {
		t.Fatalf("provider %s: %+v (%v)", p.Address.Hex(), st, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := sim.StartProvider(ctx, sdk.ProviderConfig{Models: []*model.Model{m}}); err == nil || !strings.Contains(err.Error(), "all 1 provider accounts are taken") {
		t.Fatalf("a second provider without a key: %v", err)
	}
}
