package attest

import (
	"fmt"
	"testing"

	"github.com/probitylabs/probity/attestation"
)

// sampleRecord is NVIDIA sample i as a one-GPU CC record.
func sampleRecord(t *testing.T, i int) (*attestation.Record, [32]byte) {
	t.Helper()
	s := samples[i]
	n := nonce32(t, s.nonce)
	return &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVMLCC, Identity: h100Claims(s.driver, s.vbios),
		CC: &attestation.CC{Enabled: true, Ready: true, Nonce: n[:], Report: readHexFile(t, s.report), CertChain: readFile(t, s.chain)}}, n
}

// TestSignedBoard: the board comes from the report's signed PROJECT, PROJECT_SKU and CHIP_SKU
// (NVIDIA's README: hopper-535 is 1010/0200/882, "expected" 1010/0205/862), a policy's
// AllowedBoards admits only the boards it names (case-insensitively, as NVIDIA spells the
// SKUs in RIM identifiers) and, as AllowedChips, cannot be satisfied by an NVML-only record.
func TestSignedBoard(t *testing.T) {
	for i, want := range map[int]string{2: "1010_0200_882", 3: "1010_0205_862"} {
		r, err := ParseReport(readHexFile(t, samples[i].report))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := r.Board(); !ok || got != want {
			t.Errorf("%s: board %q, want %q", samples[i].name, got, want)
		}
	}
	rec, n := sampleRecord(t, 2)
	for _, c := range []struct {
		boards, chips []string
		want          Status
	}{
		{[]string{"1010_0200_882"}, nil, Passed},
		{[]string{"1010_0205_862", "1010_0200_882"}, []string{"GH100"}, Passed},
		{[]string{"1010_0205_862"}, nil, Failed}, // another H100 board
		{[]string{"1010_0200_882"}, []string{"GB100"}, Failed},
	} {
		res, err := VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedBoards: c.boards, AllowedChips: c.chips})
		if err != nil {
			t.Fatal(err)
		}
		var want error
		if c.want == Failed {
			want = ErrModelNotAllowed
		}
		wantCheck(t, res, CheckModel, c.want, want)
	}
	nvml := &attestation.Record{Version: attestation.Version, Mode: attestation.ModeNVML, Identity: h100Claims("535.86.09", "96.00.5E.00.01")}
	res, _ := VerifyRecord(nvml, n, &Policy{AllowedBoards: []string{"1010_0200_882"}})
	wantCheck(t, res, CheckModel, Failed, ErrModelNotAllowed)
}

// TestSignedHardwareOnEveryGPU: a multi-GPU record's chip and board policy holds for each GPU
// of cc.gpus too (NVIDIA's four PPCIE H100s), so a job that asked for one board cannot have run
// partly on another.
func TestSignedHardwareOnEveryGPU(t *testing.T) {
	rec, n := multiGPURecord(t)
	r, _ := ParseReport(rec.CC.GPUs[1].Report)
	board, ok := r.Board()
	if !ok {
		t.Fatal("NVIDIA's multi-GPU sample names no board")
	}
	t.Logf("multi-GPU sample board %s", board)
	res, _ := VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedBoards: []string{board}})
	for i := range 3 {
		wantCheck(t, res, fmt.Sprintf("gpus[%d].%s", i, CheckModel), Passed, nil)
	}
	if !res.OK() {
		t.Fatal(res.Err())
	}
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true, AllowedChips: []string{"GB100"}})
	wantCheck(t, res, CheckModel, Failed, ErrModelNotAllowed)
	wantCheck(t, res, "gpus[2]."+CheckModel, Failed, ErrModelNotAllowed)
	// Without a chip or board policy the peers have no model check at all.
	res, _ = VerifyRecord(rec, n, &Policy{At: sampleAt, AllowMissingOCSPUnsafe: true})
	if _, ok := res.Get("gpus[0]." + CheckModel); ok {
		t.Fatal("a peer model check without a policy for it")
	}
}
