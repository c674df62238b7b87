package chain_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/testenv"
)

// anvil's first default account (public test key).
var anvilKey0 = testenv.AnvilDevKeys[0]

// TestDeployOnAnvil deploys from the committed bytecode to a real node over
// JSON-RPC and checks a revert comes back typed through the node's error data.
func TestDeployOnAnvil(t *testing.T) {
	url := testenv.StartAnvil(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	key, err := crypto.HexToECDSA(anvilKey0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := chain.Deploy(ctx, ec, key, chain.DeployParams{UnbondingDelay: 60})
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.NewMarket(ctx, ec, d.Addresses, key)
	if err != nil {
		t.Fatal(err)
	}
	bal, err := c.TokenBalance(ctx, c.Address())
	if err != nil {
		t.Fatal(err)
	}
	if bal.Cmp(new(big.Int).Exp(big.NewInt(10), big.NewInt(27), nil)) != 0 {
		t.Fatalf("deployer balance %v", bal)
	}
	v, err := c.DeployVerifier(ctx, syntheticVK())
	if err != nil {
		t.Fatal(err)
	}
	tv, err := c.DeployVerifier(ctx, syntheticTargetedVK())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterClass(ctx, "anvil-test", v, tv, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterClass(ctx, "anvil-test", v, tv, 1); !chain.IsRevert(err, "ClassAlreadyRegistered") {
		t.Fatalf("second registration: %v, want ClassAlreadyRegistered", err)
	}
	if d.Manager.Address() == (common.Address{}) {
		t.Fatal("no manager address")
	}
}
