package attestation

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// TestNonceAuditVectors recomputes the CC nonce of every testdata/vectors/audit.json case from
// the chain data alone (§9.3): Nonce over NonceOutputsDigest, and the same bytes assembled by
// hand as abi.encodePacked lays them out (19-byte tag, 32-byte chain id, 20-byte manager,
// 32-byte job id, 32-byte digest).
func TestNonceAuditVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "vectors", "audit.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			ChainID            string   `json:"chainId"`
			Manager            string   `json:"manager"`
			JobID              string   `json:"jobId"`
			OutputRoots        []string `json:"outputRoots"`
			NonceOutputsDigest string   `json:"nonceOutputsDigest"`
			Nonce              string   `json:"nonce"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no audit vectors")
	}
	dec := func(s string) *big.Int {
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatalf("bad decimal %q", s)
		}
		return x
	}
	for i, c := range v.Cases {
		roots := make([]*big.Int, len(c.OutputRoots))
		for j, r := range c.OutputRoots {
			roots[j] = dec(r)
		}
		od := NonceOutputsDigest(roots)
		if got := hexutil.Encode(od[:]); got != c.NonceOutputsDigest {
			t.Errorf("case %d: nonce outputs digest %s, vector %s", i, got, c.NonceOutputsDigest)
		}
		mgr := common.HexToAddress(c.Manager)
		n := Nonce(dec(c.ChainID), mgr, dec(c.JobID), od)
		if got := hexutil.Encode(n[:]); got != c.Nonce {
			t.Errorf("case %d: nonce %s, vector %s", i, got, c.Nonce)
		}
		packed := append([]byte("probity/cc-nonce/v0"), dec(c.ChainID).FillBytes(make([]byte, 32))...)
		packed = append(packed, mgr[:]...)
		packed = append(packed, dec(c.JobID).FillBytes(make([]byte, 32))...)
		packed = append(packed, od[:]...)
		if len(packed) != 19+32+20+32+32 {
			t.Fatalf("packed length %d", len(packed))
		}
		if got := hexutil.Encode(crypto.Keccak256(packed)); got != c.Nonce {
			t.Errorf("case %d: hand-packed nonce %s, vector %s", i, got, c.Nonce)
		}
	}
}
