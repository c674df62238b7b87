package receipt

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/internal/testenv"
)

const vectorPath = "../testdata/vectors/receipt_eip712.json"

type eip712Vector struct {
	GeneratedBy string `json:"generatedBy"`
	Expect      string `json:"expect"`
	PrivateKey  string `json:"privateKey"`
	Input       struct {
		ChainID           string   `json:"chainId"`
		Contract          string   `json:"contract"`
		JobID             string   `json:"jobId"`
		Provider          string   `json:"provider"`
		SpecHash          string   `json:"specHash"`
		OutputRoots       []string `json:"outputRoots"`
		AttestationDigest string   `json:"attestationDigest"`
		Seed              string   `json:"seed"`
		K                 uint16   `json:"k"`
		Proofs            []string `json:"proofs"`
	} `json:"input"`
	Output struct {
		ReceiptTypeHash string `json:"receiptTypeHash"`
		ProofsHash      string `json:"proofsHash"`
		DomainSeparator string `json:"domainSeparator"`
		StructHash      string `json:"structHash"`
		Digest          string `json:"digest"`
		Signature       string `json:"signature"`
		Signer          string `json:"signer"`
	} `json:"output"`
}

func word(t *testing.T, s string) Word {
	t.Helper()
	var w Word
	if err := w.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return w
}

func decimal(t *testing.T, s string) *Uint {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad decimal %q", s)
	}
	return NewUint(v)
}

// TestEIP712Vector recomputes the cast-generated vector: type hash, proofs hash, domain
// separator, struct hash, digest, the deterministic (RFC 6979) signature and the signer.
func TestEIP712Vector(t *testing.T) {
	raw, err := os.ReadFile(vectorPath)
	if err != nil {
		t.Fatal(err)
	}
	var v eip712Vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.GeneratedBy == "" || v.Expect != "valid" {
		t.Fatalf("vector lacks generatedBy or expect: %+v", v)
	}
	in := v.Input
	rc := &Receipt{
		ChainID:           decimal(t, in.ChainID),
		Contract:          common.HexToAddress(in.Contract),
		JobID:             decimal(t, in.JobID),
		Provider:          common.HexToAddress(in.Provider),
		SpecHash:          word(t, in.SpecHash),
		AttestationDigest: word(t, in.AttestationDigest),
		Seed:              word(t, in.Seed),
		K:                 in.K,
	}
	for _, r := range in.OutputRoots {
		rc.OutputRoots = append(rc.OutputRoots, word(t, r))
	}
	for i, p := range in.Proofs {
		rc.Proofs = append(rc.Proofs, Proof{Layer: uint32(i), Proof: hexutil.MustDecode(p)})
	}
	out := v.Output
	check := func(name string, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, cast says %s", name, got, want)
		}
	}
	check("receipt type hash", receiptTypeHash.Hex(), out.ReceiptTypeHash)
	check("proofsHash", rc.ProofsHash().Hex(), out.ProofsHash)
	sep := rc.Domain().Separator()
	check("domain separator", hexutil.Encode(sep[:]), out.DomainSeparator)
	check("struct hash", rc.StructHash().Hex(), out.StructHash)
	check("digest", rc.Digest().Hex(), out.Digest)

	key, err := crypto.HexToECDSA(strings.TrimPrefix(v.PrivateKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Sign(key); err != nil {
		t.Fatal(err)
	}
	check("signature", hexutil.Encode(rc.Signature), out.Signature)
	check("node key", rc.NodeKey.Hex(), out.Signer)
	if err := rc.VerifySignature(); err != nil {
		t.Error(err)
	}
}

// TestEIP712VectorRegenerate re-derives the vector with cast and requires the committed file
// to match byte for byte, so the vector cannot drift from the tool it names.
func TestEIP712VectorRegenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cast about 40 times (seconds); skipped with -short")
	}
	cast := testenv.CastPath(t)
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "receipt", "testdata", "gen_receipt_eip712.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CAST="+cast)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("generator failed: %v\n%s", err, stderr.String())
	}
	want, err := os.ReadFile(vectorPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("cast derives a different vector than the committed %s:\n%s", vectorPath, got)
	}
}
