package testenv

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/require"
)

// TestAnvilDevKeysMatchAccounts: every listed key controls the account anvil reports
// at the same index, so tests that send from AnvilDevKeys[i] spend anvil's funded
// account i.
func TestAnvilDevKeysMatchAccounts(t *testing.T) {
	url := StartAnvil(t)
	rc, err := rpc.DialContext(context.Background(), url)
	require.NoError(t, err)
	defer rc.Close()
	var accounts []common.Address
	require.NoError(t, rc.CallContext(context.Background(), &accounts, "eth_accounts"))
	require.Len(t, accounts, len(AnvilDevKeys))
	for i, h := range AnvilDevKeys {
		k, err := crypto.HexToECDSA(h)
		require.NoError(t, err, "key %d", i)
		require.Equal(t, accounts[i], crypto.PubkeyToAddress(k.PublicKey), "key %d", i)
	}
}
