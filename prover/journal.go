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

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/internal/atomicfile"
)

// JournalVersion is the version of the journal record format; a node refuses records
// of another version rather than guess what they mean.
const JournalVersion = 1

// ErrJournal matches malformed or foreign journal files.
var ErrJournal = errors.New("invalid journal record")

// Step is how far a job has come. The order of the non-terminal steps is the order of
// the protocol; a record is written when a step is reached, before the next one starts.
type Step string

const (
	StepAccepted  Step = "accepted"  // eligible; nothing fetched yet
	StepFetched   Step = "fetched"   // files on disk, roots checked
	StepLocked    Step = "locked"    // lock mined
	StepExecuted  Step = "executed"  // outputs on disk, roots and attestation record journaled
	StepCommitted Step = "committed" // commit mined
	StepSeeded    Step = "seeded"    // seed known
	StepProved    Step = "proved"    // proofs and signed receipt on disk
	StepSettled   Step = "settled"   // JobSettled
	StepDone      Step = "done"      // receipt published, payment withdrawn (as configured)

	StepRefused Step = "refused" // files did not match the spec, never locked
	StepLost    Step = "lost"    // another provider locked it, or it was cancelled
	StepExpired Step = "expired" // a deadline passed before we could act
	StepSlashed Step = "slashed" // the job ended slashed
	StepFailed  Step = "failed"  // an unrecoverable error (e.g. outputs fail their own proof)
	// StepAbandoned: given back with abandon() before committing (the executor kept failing),
	// for the job's abandonment fee instead of the stake.
	StepAbandoned Step = "abandoned"
)

var stepOrder = map[Step]int{
	StepAccepted: 1, StepFetched: 2, StepLocked: 3, StepExecuted: 4, StepCommitted: 5,
	StepSeeded: 6, StepProved: 7, StepSettled: 8, StepDone: 9,
}

// Terminal reports whether nothing more happens to a job at this step.
func (s Step) Terminal() bool {
	switch s {
	case StepDone, StepRefused, StepLost, StepExpired, StepSlashed, StepFailed, StepAbandoned:
		return true
	}
	return false
}

// Before reports whether s comes before t in the protocol order.
func (s Step) Before(t Step) bool { return stepOrder[s] < stepOrder[t] }

// LayerSpec is one layer of the posted spec, as hex words.
type LayerSpec struct {
	ShapeID     common.Hash `json:"shapeId"`
	WeightsRoot string      `json:"weightsRoot"`
	Epilogue    string      `json:"epilogue"`
}

// Record is one job's journal entry: what was posted and everything needed to resume.
type Record struct {
	Version   int       `json:"version"`
	JobID     string    `json:"jobId"`
	Step      Step      `json:"step"`
	UpdatedAt time.Time `json:"updatedAt"`
	Reason    string    `json:"reason,omitempty"` // why a terminal step was reached

	// Posted (JobPosted).
	Buyer       common.Address `json:"buyer"`
	SpecHash    common.Hash    `json:"specHash"`
	InputRoot   string         `json:"inputRoot"`
	Rows        uint32         `json:"rows"`
	Layers      []LayerSpec    `json:"layers"`
	Price       string         `json:"price"`
	LockBy      uint64         `json:"lockBy"`
	ExecWindow  uint32         `json:"execWindow"`
	ProveWindow uint32         `json:"proveWindow"`
	// SeedCommitment is the buyer's seed commitment (zero: none); with one, the seed comes
	// from the buyer's reveal or, after the reveal window, from fixSeed (spec §6.2).
	SeedCommitment common.Hash `json:"seedCommitment,omitempty"`
	InputURI       string      `json:"inputUri"`
	PostedBlock    uint64      `json:"postedBlock"`

	// Fetched.
	InputPath string `json:"inputPath,omitempty"`
	ModelPath string `json:"modelPath,omitempty"`

	// Locked.
	Stake    string `json:"stake,omitempty"`
	CommitBy uint64 `json:"commitBy,omitempty"`
	// ExecFailures counts failed executions since the lock; past Safety.MaxExecAttempts the
	// node abandons the job.
	ExecFailures int `json:"execFailures,omitempty"`

	// Executed.
	OutputPaths       []string        `json:"outputPaths,omitempty"`
	OutputRoots       []string        `json:"outputRoots,omitempty"`
	Attestation       json.RawMessage `json:"attestation,omitempty"` // canonical record
	AttestationDigest common.Hash     `json:"attestationDigest,omitempty"`

	// Committed / seeded. ProveBy is set once the seed is fixed on chain; zero while the
	// node derived the seed itself and submitProof will fix it.
	SeedBlock uint64 `json:"seedBlock,omitempty"`
	ProveBy   uint64 `json:"proveBy,omitempty"`
	Seed      string `json:"seed,omitempty"`

	// Proved.
	Proofs      []string `json:"proofs,omitempty"` // 256-byte Solidity proofs, hex
	ReceiptPath string   `json:"receiptPath,omitempty"`

	// Transactions by step, and advisory timings in milliseconds.
	Txs     map[string]common.Hash `json:"txs,omitempty"`
	Timings map[string]uint64      `json:"timings,omitempty"`
	GasUsed uint64                 `json:"gasUsed,omitempty"`
}

// ID is the job id as an integer.
func (r *Record) ID() *big.Int {
	v, _ := new(big.Int).SetString(r.JobID, 10)
	return v
}

// Spec rebuilds the posted JobSpec.
func (r *Record) Spec() chain.JobSpec {
	s := chain.JobSpec{InputRoot: hexBig(r.InputRoot), Rows: r.Rows}
	for _, l := range r.Layers {
		s.Layers = append(s.Layers, chain.Layer{ShapeId: l.ShapeID, WeightsRoot: hexBig(l.WeightsRoot), Epilogue: hexBig(l.Epilogue)})
	}
	return s
}

// Roots returns the journaled output roots.
func (r *Record) Roots() []*big.Int {
	out := make([]*big.Int, len(r.OutputRoots))
	for i, h := range r.OutputRoots {
		out[i] = hexBig(h)
	}
	return out
}

func (r *Record) tx(step string, h common.Hash) {
	if r.Txs == nil {
		r.Txs = map[string]common.Hash{}
	}
	r.Txs[step] = h
}

func (r *Record) timing(name string, d time.Duration) {
	if r.Timings == nil {
		r.Timings = map[string]uint64{}
	}
	r.Timings[name] += uint64(d.Milliseconds())
}

func hexBig(s string) *big.Int {
	v, ok := new(big.Int).SetString(strings.TrimPrefix(s, "0x"), 16)
	if !ok {
		return new(big.Int)
	}
	return v
}

func bigHex(v *big.Int) string { return fmt.Sprintf("0x%064x", v) }

// Journal stores one Record per job as DIR/<jobId>.json.
type Journal struct {
	Dir string
}

// OpenJournal creates dir if needed.
func OpenJournal(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{Dir: dir}, nil
}

func (j *Journal) path(jobID string) string { return filepath.Join(j.Dir, jobID+".json") }

// Save writes r atomically: a temporary file in the same directory, fsync, rename,
// fsync of the directory, so a crash leaves either the old record or the new one.
func (j *Journal) Save(r *Record) error {
	r.Version = JournalVersion
	r.UpdatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("journal: encoding job %s: %w", r.JobID, err)
	}
	return writeAtomic(j.path(r.JobID), append(b, '\n'))
}

// Load reads one job's record; os.ErrNotExist when there is none.
func (j *Journal) Load(jobID string) (*Record, error) {
	b, err := os.ReadFile(j.path(jobID))
	if err != nil {
		return nil, err
	}
	return parseRecord(b, j.path(jobID))
}

func parseRecord(b []byte, name string) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrJournal, name, err)
	}
	if r.Version != JournalVersion {
		return nil, fmt.Errorf("%w: %s: version %d, this node reads %d", ErrJournal, name, r.Version, JournalVersion)
	}
	if _, ok := new(big.Int).SetString(r.JobID, 10); !ok {
		return nil, fmt.Errorf("%w: %s: job id %q", ErrJournal, name, r.JobID)
	}
	if _, ok := stepOrder[r.Step]; !ok && !r.Step.Terminal() {
		return nil, fmt.Errorf("%w: %s: unknown step %q", ErrJournal, name, r.Step)
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
		r, err := parseRecord(b, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID().Cmp(out[b].ID()) < 0 })
	return out, nil
}

// writeAtomic is atomicfile.Write: journal records, cursors and outputs survive crashes whole.
func writeAtomic(path string, data []byte) error { return atomicfile.Write(path, data) }
