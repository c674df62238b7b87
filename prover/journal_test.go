package prover

import (
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
)

func testRecord() *Record {
	req := chain.Request{Buyer: common.HexToAddress("0xb0"), ClassId: [32]byte{1, 2}, ModelRoot: big.NewInt(7), JobDigest: big.NewInt(8),
		NewTokens: 12, Price: big.NewInt(1000), LockBy: 99, ExecWindow: 60, ProveWindow: 61, ChallengeWindow: 0,
		SeedCommitment: [32]byte{31: 5}, Salt: big.NewInt(3)}
	return &Record{JobID: "123", Step: StepProved, Source: FromOffer, Request: Request{req}, Signature: hexBytes{1, 2, 3},
		JobURI: "file:///x/job.safetensors", FromBlock: 4, JobPath: "/d/job", TraceRoot: word(big.NewInt(9)),
		Stake: "77", SeedBlock: 10, Seed: word(big.NewInt(11)), Proof: make(hexBytes, 256),
		Gas: map[string]uint64{"lockAndCommit": 170000}, Timings: map[string]uint64{"proveMs": 1300}}
}

// TestJournalRoundTrip: a record saved is the record loaded, the request included.
func TestJournalRoundTrip(t *testing.T) {
	j, err := OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := testRecord()
	if err := j.Save(r); err != nil {
		t.Fatal(err)
	}
	got, err := j.Load("123")
	if err != nil {
		t.Fatal(err)
	}
	got.UpdatedAt = r.UpdatedAt
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("loaded %+v\nsaved %+v", got, r)
	}
	all, err := j.All()
	if err != nil || len(all) != 1 {
		t.Fatalf("All: %d %v", len(all), err)
	}
	if _, err := j.Load("124"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing record: %v", err)
	}
}

// TestParseRecordStrict: another version, an unknown field or step, a job id that is not a
// canonical decimal and a non-canonical word are refused.
func TestParseRecordStrict(t *testing.T) {
	b, err := json.Marshal(func() *Record { r := testRecord(); r.Version = JournalVersion; return r }())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRecord(b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(map[string]any){
		"version":   func(m map[string]any) { m["version"] = 2 },
		"unknown":   func(m map[string]any) { m["extra"] = 1 },
		"step":      func(m map[string]any) { m["step"] = "flying" },
		"jobId":     func(m map[string]any) { m["jobId"] = "0123" },
		"source":    func(m map[string]any) { m["source"] = "gossip" },
		"word":      func(m map[string]any) { m["request"].(map[string]any)["salt"] = "0x03" },
		"upperHex":  func(m map[string]any) { m["signature"] = "0xAB" },
		"noRequest": func(m map[string]any) { delete(m, "request") },
		"price":     func(m map[string]any) { m["request"].(map[string]any)["price"] = "01000" },
		"classCase": func(m map[string]any) {
			m["request"].(map[string]any)["classId"] = "0X" + m["request"].(map[string]any)["classId"].(string)[2:]
		},
	} {
		c := map[string]any{}
		cb, _ := json.Marshal(m)
		_ = json.Unmarshal(cb, &c)
		mod(c)
		bad, _ := json.Marshal(c)
		if _, err := ParseRecord(bad); !errors.Is(err, ErrJournal) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseRecord: the parser never panics, and what it accepts encodes and parses back to
// the same record.
func FuzzParseRecord(f *testing.F) {
	r := testRecord()
	r.Version = JournalVersion
	b, _ := json.Marshal(r)
	f.Add(b)
	f.Add([]byte(`{"version":1,"jobId":"1","step":"done","source":"posted","request":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("an accepted record does not encode: %v", err)
		}
		r2, err := ParseRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
	})
}
