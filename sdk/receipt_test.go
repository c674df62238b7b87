package sdk_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/receipt"
	"github.com/probitylabs/probity/sdk"
)

// TestReceiptUnsignedFields (ported from the security review's finding M1): the fields of a
// receipt its EIP-712 digest does not cover (the job file, the attestation record, the
// stake, the class's name, the signature and node key, the seed's block and hash) are
// checked against the chain: a receipt with JobProved's digest but any of them edited is
// refused with ErrReceiptInvalid, and the honest one is accepted.
func TestReceiptUnsignedFields(t *testing.T) {
	e := setup(t)
	modelFile := filepath.Join(e.dir, "model.safetensors")
	if err := model.WriteFile(modelFile, e.model); err != nil {
		t.Fatal(err)
	}
	g := e.generation("posted", nil, 5)
	g.Model, g.ModelFile, g.Text = nil, modelFile, "\x03\x01\x04"
	g.ChallengeWindow = 600
	job := e.prepare(g)
	if _, err := e.buyer.Post(e.ctx, job); err != nil {
		t.Fatal(err)
	}
	result := e.resultAsync(job)
	posted, err := e.provider.FilterJobPosted(e.ctx, chain.EventRange{})
	if err != nil || len(posted) != 1 {
		t.Fatalf("JobPosted: %d (%v)", len(posted), err)
	}
	req, uri := posted[0].Request, posted[0].InputURI
	x := e.execute(req, uri)
	e.lock(req)
	committed, err := e.provider.Commit(e.ctx, job.ID, commit.ToBig(x.gen.TraceRoot), attestation)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Chain.Mine(3)
	seed := e.waitSeed(job.ID)
	e.proveAndSubmit(req, committed.Committed, x, seed)
	if r := <-result; r.err != nil {
		t.Fatal(r.err)
	}
	if err := e.sim.Chain.AdjustTime(601 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keeper.Finalize(e.ctx, job.ID); err != nil {
		t.Fatal(err)
	}

	honest := e.receipt(job, committed.Committed, x, seed)
	e.publish(job, honest)
	if _, err := e.buyer.WaitReceipt(e.ctx, job); err != nil {
		t.Fatalf("honest receipt: %v", err)
	}
	stranger, _ := crypto.GenerateKey()
	nvml := nvmlRecord(t)
	for name, edit := range map[string]func(*receipt.Receipt){
		"another job file (prompt)": func(rc *receipt.Receipt) {
			j := *job.Gen
			j.Prompt = []int32{9, 9, 9}
			b, _ := jobs.EncodeJob(&j)
			rc.Job = b
		},
		"a fabricated attestation": func(rc *receipt.Receipt) {
			rc.Attestation = []byte(`{"version":"probity.attestation.v0","mode":"cc","gpu":"H100"}`)
		},
		"another well-formed record (nvml)": func(rc *receipt.Receipt) { rc.Attestation = nvml },
		"another stake":                     func(rc *receipt.Receipt) { rc.Stake = receipt.NewUint(big.NewInt(1)) },
		"another class name":                func(rc *receipt.Receipt) { rc.Class.Name = "large" },
		"other class slots":                 func(rc *receipt.Receipt) { rc.Class.Slots[0]++ },
		"forged signature":                  func(rc *receipt.Receipt) { rc.Signature[5] ^= 1 },
		"another seed block":                func(rc *receipt.Receipt) { rc.Seed.Block += 7; rc.Seed.BlockHash[0] ^= 1 },
		"seed block only":                   func(rc *receipt.Receipt) { rc.Seed.Block-- },
		"a stranger's node key": func(rc *receipt.Receipt) {
			if err := rc.Sign(stranger); err != nil {
				t.Fatal(err)
			}
		},
	} {
		bad := e.receipt(job, committed.Committed, x, seed)
		edit(bad)
		if bad.Digest() != honest.Digest() {
			t.Fatalf("%s: the edit changed the digest; this test is of the fields it does not cover", name)
		}
		e.publish(job, bad)
		if _, err := e.buyer.Receipt(e.ctx, job); !errors.Is(err, sdk.ErrReceiptInvalid) {
			t.Errorf("%s: %v, want ErrReceiptInvalid", name, err)
		} else {
			t.Logf("refused %s: %v", name, err)
		}
	}
	// A client that does not know the job's class cannot check the receipt's: refused.
	e.publish(job, honest)
	loaded, err := e.buyer.LoadJob(e.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.buyer.Receipt(e.ctx, loaded); !errors.Is(err, sdk.ErrReceiptInvalid) {
		t.Errorf("unknown class: %v, want ErrReceiptInvalid", err)
	}
	e.buyer.Classes = append(e.buyer.Classes, e.class)
	if loaded, err = e.buyer.LoadJob(e.ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.buyer.Receipt(e.ctx, loaded); err != nil {
		t.Errorf("class in Client.Classes: %v", err)
	}
}

// nvmlRecord is the "nvml" record of attestation/testdata/vectors.json: a well-formed record
// that is not the one the provider committed.
func nvmlRecord(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "attestation", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Name      string
			Canonical string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Vectors {
		if v.Name == "nvml" {
			return []byte(v.Canonical)
		}
	}
	t.Fatal("no nvml vector")
	return nil
}
