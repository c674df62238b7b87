package sdk_test

import (
	"context"
	"testing"
	"time"

	"github.com/probitylabs/probity/sdk"
)

func TestScratchInterval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := sdk.NewSimulated(ctx, sdk.SimulatedConfig{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sim.Close()
}
