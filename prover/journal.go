package prover

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/internal/atomicfile"
)

// JournalVersion is the version of the record format; a node refuses records of another.
const JournalVersion = 1

// ErrJournal matches malformed or foreign journal files.
var ErrJournal = errors.New("invalid journal record")

// Step is how far a job has come; a record is written when a step is reached, before the
// next starts. An offer goes accepted, executed, committed (lockAndCommit); a posted job
// accepted, locked, executed, committed.
type Step string

const (
	StepAccepted  Step = "accepted"  // checked before spending anything; job file on disk
	StepLocked    Step = "locked"    // lock mined (posted jobs)
	StepExecuted  Step = "executed"  // trace and result on disk, trace root and attestation record journaled
	StepCommitted Step = "committed" // commitment mined (lockAndCommit or commit)
	StepSeeded    Step = "seeded"    // seed known (derived or fixed on chain)
	StepProved    Step = "proved"    // proof journaled
	StepSubmitted Step = "submitted" // JobProved: tokens on chain, receipt signed
	StepSettled   Step = "settled"   // JobSettled
	StepDone      Step = "done"      // receipt published, payment collected (as configured)

	StepRefused Step = "refused" // failed a check before anything was spent
	StepLost    Step = "lost"    // another provider locked it, or the buyer cancelled
	StepExpired Step = "expired" // a deadline passed before the node could act
	StepSlashed Step = "slashed" // the job ended slashed
	StepFailed  Step = "failed"  // unrecoverable (a trace the node cannot prove)
	// StepAbandoned: a locked job the node could not execute in time was given back (abandon),
	// its abandonment fee paid instead of the whole stake slashed at the commit deadline.
	StepAbandoned Step = "abandoned"
)

var stepOrder = map[Step]int{
	StepAccepted: 1, StepLocked: 2, StepExecuted: 3, StepCommitted: 4, StepSeeded: 5,
	StepProved: 6, StepSubmitted: 7, StepSettled: 8, StepDone: 9,
}

// Terminal reports whether nothing more happens to a job at this step.
func (s Step) Terminal() bool {
	switch s {
	case StepDone, StepRefused, StepLost, StepExpired, StepSlashed, StepFailed, StepAbandoned:
		return true
	}
	return false
}

// After reports whether s comes after t in the protocol order.
func (s Step) After(t Step) bool { return stepOrder[s] > stepOrder[t] }

// Before reports whether s comes before t in the protocol order.
func (s Step) Before(t Step) bool { return stepOrder[s] < stepOrder[t] }

// Source says where a job came from.
type Source string

const (
	FromOffer  Source = "offer"  // a signed offer from an order book
	FromPosted Source = "posted" // a JobPosted event
)

// Record is one job's journal entry.
type Record struct {
	Version   int       `json:"version"`
	JobID     string    `json:"jobId"`
	Step      Step      `json:"step"`
	UpdatedAt time.Time `json:"updatedAt"`
	Reason    string    `json:"reason,omitempty"` // why a terminal step was reached

	Source  Source  `json:"source"`
	Request Request `json:"request"`
	// Signature is the buyer's over the job id (offers).
	Signature hexBytes `json:"signature,omitempty"`
	JobURI    string   `json:"jobUri"`
	// FromBlock is the head when the job was accepted: log queries about it start there.
	FromBlock uint64 `json:"fromBlock"`
	JobPath   string `json:"jobPath"`
	// AdmittedStake is the stake the node checked its free stake against when it took the
	// job: its lock never reserves more (chain.LockLimits), whatever a later rate change asks.
	AdmittedStake string `json:"admittedStake,omitempty"`

	// Locked (posted jobs).
	LockedStake string `json:"lockedStake,omitempty"`
	CommitBy    uint64 `json:"commitBy,omitempty"`

	// Executed: what is committed, journaled before the commit is sent.
	TracePath         string          `json:"tracePath,omitempty"`
	ResultPath        string          `json:"resultPath,omitempty"`
	TraceRoot         string          `json:"traceRoot,omitempty"`
	ResultDigest      string          `json:"resultDigest,omitempty"`
	Attestation       json.RawMessage `json:"attestation,omitempty"` // canonical record
	AttestationDigest common.Hash     `json:"attestationDigest,omitempty"`

	// Committed: the commitment (provider is the node's account) and the seed block.
	Stake     string `json:"stake,omitempty"`
	SeedBlock uint64 `json:"seedBlock,omitempty"`

	// Seeded. ProveBy is the chain's deadline once the seed's clock runs (0: none yet).
	Seed      string `json:"seed,omitempty"`
	SeedFixed bool   `json:"seedFixed,omitempty"`
	ProveBy   uint64 `json:"proveBy,omitempty"`

	// Proved. TracePublished: the committed trace is published for watchers (a job with a
	// challenge window, specs/trace.md §8).
	Proof          hexBytes `json:"proof,omitempty"`
	TracePublished bool     `json:"tracePublished,omitempty"`

	// Submitted.
	Tokens           []uint32    `json:"tokens,omitempty"`
	ReceiptDigest    common.Hash `json:"receiptDigest,omitempty"`
	ReceiptSignature hexBytes    `json:"receiptSignature,omitempty"`
	PayableAt        uint64      `json:"payableAt,omitempty"`
	// ProvedBlock is JobProved's block: challenges of the job are opened after it.
	ProvedBlock uint64 `json:"provedBlock,omitempty"`
	// ReceiptPath is the signed receipt document (settlement.md §9) on disk.
	ReceiptPath string `json:"receiptPath,omitempty"`

	// Transactions and gas by kind, advisory timings in milliseconds.
	Txs     map[string]common.Hash `json:"txs,omitempty"`
	Gas     map[string]uint64      `json:"gas,omitempty"`
	Timings map[string]uint64      `json:"timings,omitempty"`
	// BatchSize is how many jobs the submission carried (its gas is shared among them).
	BatchSize int `json:"batchSize,omitempty"`
}

// ID is the job id as an integer.
func (r *Record) ID() *big.Int {
	v, _ := new(big.Int).SetString(r.JobID, 10)
	return v
}

func (r *Record) timing(name string, d time.Duration) {
	if r.Timings == nil {
		r.Timings = map[string]uint64{}
	}
	r.Timings[name] += uint64(d.Milliseconds())
}

// hexBytes is a byte string spelled "0x..." in JSON, lower case.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("0x%x", []byte(h))), nil }

func (h *hexBytes) UnmarshalText(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "0x") || strings.ToLower(s) != s {
		return fmt.Errorf("want lower-case 0x hex, got %q", s)
	}
	v, err := decodeHex(s[2:])
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// word spells a 256-bit value as 0x and 64 hex digits; unword reads it back strictly.
func word(v *big.Int) string { return fmt.Sprintf("0x%064x", v) }

func unword(s string) (*big.Int, error) {
	if len(s) != 66 || !strings.HasPrefix(s, "0x") || strings.ToLower(s) != s {
		return nil, fmt.Errorf("want 0x and 64 lower-case hex digits, got %q", s)
	}
	v, ok := new(big.Int).SetString(s[2:], 16)
	if !ok {
		return nil, fmt.Errorf("not hex: %q", s)
	}
	return v, nil
}

// Journal stores one Record per job as DIR/<jobId>.json.
type Journal struct{ Dir string }

// OpenJournal creates dir if needed.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{Dir: dir}, nil
}

func (j *Journal) path(jobID string) string { return filepath.Join(j.Dir, jobID+".json") }

// Save writes r atomically (temporary file, fsync, rename, fsync of the directory), so a
// crash leaves either the old record or the new one.
func (j *Journal) Save(r *Record) error {
	r.Version = JournalVersion
	r.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: encoding job %s: %w", r.JobID, err)
	}
	return atomicfile.Write(j.path(r.JobID), append(b, '\n'))
}

// Load reads one job's record; os.ErrNotExist when there is none.
func (j *Journal) Load(jobID string) (*Record, error) {
	b, err := os.ReadFile(j.path(jobID))
	if err != nil {
		return nil, err
	}
	return ParseRecord(b)
}

// ParseRecord reads a record strictly: unknown fields, another version, a job id that is not
// a decimal integer, an unknown step or a request that does not parse are errors.
func ParseRecord(b []byte) (*Record, error) {
	var r Record
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrJournal)
	}
	if r.Version != JournalVersion {
		return nil, fmt.Errorf("%w: version %d, this node reads %d", ErrJournal, r.Version, JournalVersion)
	}
	if id, ok := new(big.Int).SetString(r.JobID, 10); !ok || id.Sign() < 0 || id.String() != r.JobID {
		return nil, fmt.Errorf("%w: job id %q", ErrJournal, r.JobID)
	}
	if _, ok := stepOrder[r.Step]; !ok && !r.Step.Terminal() {
		return nil, fmt.Errorf("%w: unknown step %q", ErrJournal, r.Step)
	}
	if q := r.Request.Request; q.ModelRoot == nil || q.JobDigest == nil || q.Price == nil || q.Salt == nil {
		return nil, fmt.Errorf("%w: no request", ErrJournal)
	}
	if r.Source != FromOffer && r.Source != FromPosted {
		return nil, fmt.Errorf("%w: unknown source %q", ErrJournal, r.Source)
	}
	return &r, nil
}

// All returns every record, ordered by job id.
func (j *Journal) All() ([]*Record, error) {
	ents, err := os.ReadDir(j.Dir)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var out []*Record
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(j.Dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		r, err := ParseRecord(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID().Cmp(out[b].ID()) < 0 })
	return out, nil
}

// Report is what the demo prints of a job: its timings and the gas of its transactions.
type Report struct {
	Execute, Commit, Prove, Submit time.Duration
	// Gas by transaction kind (lock, commit, lockAndCommit, fixSeed, submit, submitBatch,
	// collect, finalize, withdraw); a batch's gas is shared by its BatchSize members.
	Gas       map[string]uint64
	BatchSize int
}

// Report returns the job's timings and gas as journaled (a step whose journal write a crash
// lost has none).
func (r *Record) Report() Report {
	ms := func(k string) time.Duration { return time.Duration(r.Timings[k]) * time.Millisecond }
	gas := make(map[string]uint64, len(r.Gas))
	for k, v := range r.Gas {
		gas[k] = v
	}
	return Report{Execute: ms("executeMs"), Commit: ms("commitMs"), Prove: ms("proveMs"), Submit: ms("submitMs"), Gas: gas, BatchSize: max(r.BatchSize, 1)}
}
