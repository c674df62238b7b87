package watcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
)

// Status is how far the watcher has come with a proved job.
type Status string

const (
	// StatusHonest: every element of the published trace holds.
	StatusHonest Status = "honest"
	// StatusSkipped: the watcher cannot check the job (no challenge window, a model it does
	// not hold, a job file that is gone or does not match); Reason says which.
	StatusSkipped Status = "skipped"
	// StatusWithheld: the provider's trace is missing or does not open the committed root,
	// and the watcher did not search it with data challenges (maxDataChallenges 0, or the
	// search budget ran out).
	StatusWithheld Status = "withheld"
	// StatusSearching: the trace is withheld and its root is not the job's: the watcher opens
	// its nodes with data challenges (Data) until it names a fault (settlement.md §10).
	StatusSearching Status = "searching"
	// StatusLate: a fault was found after the last moment a challenge could be mined.
	StatusLate Status = "late"
	// StatusChallenging: a fault was found and the challenge is being sent (journaled first,
	// so a restart finds out whether it was mined before sending another).
	StatusChallenging Status = "challenging"
	// StatusChallenged: the challenge is open until RespondBy.
	StatusChallenged Status = "challenged"
	// StatusUpheld: unanswered, enforced: the provider was slashed, the bond came back with
	// the bounty.
	StatusUpheld Status = "upheld"
	// StatusAnswered: the provider proved the element; the bond went to it. The watcher's
	// recomputation and the circuit disagree, which is a bug to report.
	StatusAnswered Status = "answered"
	// StatusVoided: the job ended another way (slashed by another challenge) and the bond was
	// reclaimed.
	StatusVoided Status = "voided"
	// StatusOthers: someone else challenged the element first; nothing of the watcher's is at
	// stake, and it enforces that challenge when it is due (anyone may).
	StatusOthers Status = "others"
	// StatusClosed: another's challenge of the fault was resolved.
	StatusClosed Status = "closed"
	// StatusPending: not decided yet (the chain could not be read, a download failed, the
	// trace is not published yet); decided again at a later poll until the window closes.
	StatusPending Status = "pending"
)

// Terminal reports whether nothing more happens to a job at this status.
func (s Status) Terminal() bool {
	switch s {
	case StatusChallenging, StatusChallenged, StatusOthers, StatusPending, StatusSearching:
		return false
	}
	return true
}

// Record is one proved job's journal entry.
type Record struct {
	Version int    `json:"version"`
	JobID   string `json:"jobId"`
	Status  Status `json:"status"`
	Reason  string `json:"reason,omitempty"`
	// ProvedBlock is the block of JobProved; PayableAt the end of the challenge window.
	ProvedBlock uint64 `json:"provedBlock"`
	PayableAt   uint64 `json:"payableAt"`
	// Element is the challenged element (its word, decimal), RespondBy the provider's
	// deadline, Bond what was posted.
	Element   string `json:"element,omitempty"`
	RespondBy uint64 `json:"respondBy,omitempty"`
	Bond      string `json:"bond,omitempty"`
	// Elements is how many elements the check recomputed; Gas the watcher's transactions
	// (challenge, enforce, reclaim) by kind.
	Elements int64             `json:"elements,omitempty"`
	Gas      map[string]uint64 `json:"gas,omitempty"`
	// Data are the data elements (words, decimal) the watcher challenged to search a
	// withheld trace, each journaled before its transaction.
	Data []string `json:"data,omitempty"`
}

// journalVersion is the version of the record format; the watcher refuses records of another.
const journalVersion = 1

// ErrJournal matches malformed or foreign journal files.
var ErrJournal = errors.New("invalid watcher journal record")

// ID returns the job id.
func (r *Record) ID() *big.Int {
	v, _ := new(big.Int).SetString(r.JobID, 10)
	return v
}

// Fault returns the challenged element.
func (r *Record) Fault() (jobs.Element, error) {
	w, ok := new(big.Int).SetString(r.Element, 10)
	if !ok {
		return jobs.Element{}, fmt.Errorf("%w: job %s: element %q", ErrJournal, r.JobID, r.Element)
	}
	return jobs.ParseElement(w)
}

// Journal is the watcher's per-job records in DATA-DIR/jobs, one file each, written
// atomically.
type Journal struct{ dir string }

// OpenJournal opens (creating) the journal under dataDir.
func OpenJournal(dataDir string) (*Journal, error) {
	dir := filepath.Join(dataDir, "jobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Journal{dir: dir}, nil
}

func (j *Journal) path(id string) string { return filepath.Join(j.dir, id+".json") }

// Put writes a record.
func (j *Journal) Put(r *Record) error {
	r.Version = journalVersion
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(j.path(r.JobID), append(b, '\n'))
}

// Get reads a job's record; ok is false when there is none.
func (j *Journal) Get(id *big.Int) (*Record, bool, error) {
	b, err := os.ReadFile(j.path(id.String()))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	r, err := parseRecord(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", j.path(id.String()), err)
	}
	return r, true, nil
}

func parseRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJournal, err)
	}
	if r.Version != journalVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrJournal, r.Version, journalVersion)
	}
	if id, ok := new(big.Int).SetString(r.JobID, 10); !ok || id.Sign() <= 0 {
		return nil, fmt.Errorf("%w: job id %q", ErrJournal, r.JobID)
	}
	switch r.Status {
	case StatusHonest, StatusSkipped, StatusWithheld, StatusLate, StatusUpheld, StatusAnswered, StatusVoided, StatusClosed, StatusPending, StatusSearching:
	case StatusChallenging, StatusChallenged, StatusOthers:
		if _, err := r.Fault(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: status %q", ErrJournal, r.Status)
	}
	return &r, nil
}

// Open returns the records that are not terminal, by job id.
func (j *Journal) Open() ([]*Record, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(j.dir, e.Name()))
		if err != nil {
			return nil, err
		}
		r, err := parseRecord(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if !r.Status.Terminal() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID().Cmp(out[b].ID()) < 0 })
	return out, nil
}
