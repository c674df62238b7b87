package sdk

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/protocol"
)

// Generation is what a buyer asks for: n new tokens of a model after a prompt, at a price,
// within windows. Prepare turns it into a published job file and a signed-ready request.
type Generation struct {
	// The model: Model, or ModelFile (a model file, specs/model.md). The model is not
	// delivered (providers serve the models they hold); the request names it by its root.
	Model     *model.Model
	ModelFile string
	// The prompt: Prompt (token ids), or Text for a byte-level model such as the shipped one
	// (jobs.ByteTokens: one token per byte).
	Prompt []int32
	Text   string
	// NewTokens is n, the number of tokens to generate (1 to 4096).
	NewTokens int
	// Select is how each next token is picked: argmax (the zero value) or seeded top-k
	// sampling with the buyer's seed (jobs.Selection). The universal classes prove argmax
	// jobs only (Class.Fits says so).
	Select jobs.Selection

	// Price is the escrowed payment, in the deployment's token (below 2^96).
	Price *big.Int
	// LockWithin is how long, in seconds of chain time from now, a provider may lock the job
	// (default one hour). ExecWindow (lock to commit) and ProveWindow (seed to proof) default
	// to one hour each, or the deployment's minimum when that is longer; ChallengeWindow
	// (proof to payment) defaults to zero, which pays at once.
	LockWithin                               uint64
	ExecWindow, ProveWindow, ChallengeWindow uint32

	// ClassID is the width class that proves the job. Zero: Class's id when Class is set, else
	// the class the registry's model catalogue gives for the model.
	//
	// Name the class (Class, or ClassID of a class you know): anyone may catalogue a model
	// first, under any registered class, so the catalogue's entry is a stranger's choice. One
	// taken from it is used only when the client knows its parameters (universal.Classes or
	// Client.Classes), the job fits it, and it has at least MinSlots slots in every family
	// the job uses.
	ClassID [32]byte
	// Class, when set, is checked to fit the model and the job before anything is published
	// (a job that does not fit its class is refused by every provider).
	Class *universal.Class
	// MinSlots is the least number of sample slots the buyer accepts in each family the job
	// uses (its detection per family grows with them: Class.Bounds); zero accepts any.
	MinSlots int

	// JobDir is the directory the job file is written to (as jobs.JobFile). JobURI is where
	// providers fetch it: by default file://<JobDir>/job.safetensors; set it when JobDir is
	// served over http(s). The receipt is published at receipts/<jobId>.json next to it.
	JobDir string
	JobURI string

	// Hardware, when set, is what the job requires of the GPUs that run it (jobs.Hardware:
	// CC, NVML models, signed chips and boards, memory). It goes into the job file and the
	// request's salt commits to it (specs/trace.md §1.4): providers whose GPUs do not meet it
	// refuse the job, and Receipt requires the record's evidence to meet it.
	Hardware *jobs.Hardware

	// NoSeedCommitment posts the request without a seed commitment: the seed is then the
	// seed block builder's to grind (settlement.md §4). Only for tests and trusted chains.
	NoSeedCommitment bool
}

// Job is a prepared request and what the buyer keeps of it.
type Job struct {
	ID      *big.Int
	Request chain.Request
	// JobURI is where the job file is published; JobFile is its bytes, Gen the job it holds.
	JobURI  string
	JobFile []byte
	Gen     *jobs.GenJob
	// SeedSecret is the secret behind Request.SeedCommitment (zero without one). It is also
	// in the client's Secrets; it must stay private until the reveal.
	SeedSecret [32]byte
	// Class is the request's width class when the client knows its parameters (Prepare's
	// class; LoadJob's when it is in universal.Classes or Client.Classes): Receipt checks
	// the receipt's class against it.
	Class *universal.Class
	// Offer and Book are set by Offer: the signed offer and the order book it was written to.
	Offer *jobs.Offer
	Book  string
}

func genErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrGeneration, fmt.Sprintf(format, args...))
}

// Default windows (seconds) and lock deadline of a Generation.
const (
	DefaultLockWithin = 3600
	DefaultWindow     = 3600
)

// Prepare checks a generation against its model (and class), writes the job file, and builds
// the request: the model root and job digest, the class, the terms, a fresh seed secret's
// commitment (kept in Secrets before Prepare returns) and a random salt (or, for a job that
// requires hardware, the salt committing to the requirement). Nothing is sent: the
// job goes on chain through Offer (signed, for a provider to lock) or Post.
func (c *Client) Prepare(ctx context.Context, g Generation) (*Job, error) {
	m := g.Model
	switch {
	case m != nil && g.ModelFile != "":
		return nil, genErr("both Model and ModelFile are set")
	case m == nil && g.ModelFile == "":
		return nil, genErr("no model: set Model or ModelFile")
	case m == nil:
		var err error
		if m, err = model.ReadFile(g.ModelFile); err != nil {
			return nil, genErr("model file %s: %v", g.ModelFile, err)
		}
	}
	prompt := g.Prompt
	switch {
	case prompt != nil && g.Text != "":
		return nil, genErr("both Prompt and Text are set")
	case prompt == nil:
		prompt = jobs.ByteTokens([]byte(g.Text))
	}
	if len(prompt) == 0 {
		return nil, genErr("empty prompt")
	}
	if g.NewTokens < 1 || g.NewTokens > protocol.MaxNewTokens {
		return nil, genErr("%d new tokens, want 1 to %d", g.NewTokens, protocol.MaxNewTokens)
	}
	root, err := m.Root()
	if err != nil {
		return nil, genErr("model root: %v", err)
	}
	gen := &jobs.GenJob{ModelRoot: root, Prompt: prompt, New: g.NewTokens, Select: g.Select}
	if _, err := gen.Check(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	if g.Hardware != nil {
		h := *g.Hardware
		h.Normalize()
		if err := h.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
		}
		gen.Hardware = &h
		if _, err := rand.Read(gen.HardwareNonce[:]); err != nil {
			return nil, fmt.Errorf("sdk: drawing the hardware nonce: %w", err)
		}
	}
	classID, cl, err := c.classFor(ctx, g, commit.ToBig(root))
	if err != nil {
		return nil, err
	}
	if cl != nil {
		if err := fitsClass(cl, m, gen, g.MinSlots); err != nil {
			return nil, err
		}
	}
	file, err := jobs.EncodeJob(gen)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	digest, err := gen.Digest()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	req, err := c.terms(ctx, g)
	if err != nil {
		return nil, err
	}
	uri, err := publishJobFile(g, file)
	if err != nil {
		return nil, err
	}
	req.Buyer, req.ClassId = c.Address(), classID
	req.ModelRoot, req.JobDigest, req.NewTokens = commit.ToBig(root), commit.ToBig(digest), uint32(g.NewTokens)
	var secret [32]byte
	if !g.NoSeedCommitment {
		if secret, err = NewSeedSecret(); err != nil {
			return nil, err
		}
		req.SeedCommitment = protocol.SeedCommitment(secret)
	}
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("sdk: drawing a salt: %w", err)
	}
	req.Salt = new(big.Int).SetBytes(salt)
	if gen.Hardware != nil {
		// The salt commits to the requirement (the nonce keeps it unique).
		if req.Salt, err = gen.Hardware.Salt(gen.HardwareNonce); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
		}
	}
	if err := ProtocolRequest(req).Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	id, err := c.market.JobID(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	if secret != ([32]byte{}) {
		// Kept before the request can reach the chain: a buyer that crashes after posting
		// must still be able to reveal.
		if err := c.Secrets.Put(id, secret); err != nil {
			return nil, err
		}
	}
	return &Job{ID: id, Request: req, JobURI: uri, JobFile: file, Gen: gen, SeedSecret: secret, Class: cl}, nil
}

// classFor picks the request's class: named, the Class's, or the catalogue's; it must be
// active on the deployment. It returns the class's parameters when the client knows them
// (always for one from the catalogue, which Prepare must then check: a stranger chose it).
func (c *Client) classFor(ctx context.Context, g Generation, root *big.Int) ([32]byte, *universal.Class, error) {
	id, cl := g.ClassID, g.Class
	if id == ([32]byte{}) && cl != nil {
		id = cl.ID()
	}
	if cl != nil && id != cl.ID() {
		return id, nil, genErr("ClassID 0x%x is not the id of Class %s", id, cl)
	}
	if cl == nil && id != ([32]byte{}) {
		cl = c.knownClass(id) // nil for a named class the client does not know: the buyer's choice
	}
	if id == ([32]byte{}) {
		e, err := c.market.ModelOf(ctx, root)
		if err != nil {
			return id, nil, wrap("reading the model catalogue", err)
		}
		if e.ClassId == ([32]byte{}) {
			return id, nil, genErr("the model is not in the registry's catalogue: name its class (ClassID or Class)")
		}
		id = e.ClassId
		if cl = c.knownClass(id); cl == nil {
			return id, nil, genErr("the model catalogue names class 0x%x, whose parameters the client does not know: name the class (Class), or add it to Client.Classes", id)
		}
	}
	entry, err := c.market.ClassOf(ctx, id)
	if err != nil {
		return id, nil, wrap("reading the class registry", err)
	}
	if st := chain.ClassStatus(entry.Status); st != chain.ClassStatusActive {
		return id, nil, fmt.Errorf("%w: %w", ErrGeneration, &ClassNotActiveError{Args: bindings.SLAManagerClassNotActive{ClassId: id, Status: uint8(st)}})
	}
	return id, cl, nil
}

// fitsClass checks that the job fits cl (a job that does not is refused by every provider)
// and that cl has at least minSlots slots in each family the job uses.
func fitsClass(cl *universal.Class, m *model.Model, gen *jobs.GenJob, minSlots int) error {
	if err := cl.Fits(m, gen.Rows(), gen); err != nil {
		return fmt.Errorf("%w: %w", ErrGeneration, err)
	}
	if minSlots <= 0 {
		return nil
	}
	bounds, err := cl.Bounds(m, gen.Rows(), gen.New)
	if err != nil {
		return fmt.Errorf("%w: class %s: %w", ErrGeneration, cl, err)
	}
	for _, b := range bounds {
		if b.Slots < minSlots {
			return genErr("class %s samples %s with %d slots, fewer than MinSlots %d", cl, b.Family, b.Slots, minSlots)
		}
	}
	return nil
}

// knownClass returns the class of that id among Client.Classes and the catalogue
// (universal.Classes), or nil.
func (c *Client) knownClass(id [32]byte) *universal.Class {
	for _, cl := range append(append([]*universal.Class(nil), c.Classes...), universal.Classes()...) {
		if cl.ID() == id {
			return cl
		}
	}
	return nil
}

// terms fills the price, the lock deadline and the windows, refusing windows the deployment
// would (BadWindows) before anything is published.
func (c *Client) terms(ctx context.Context, g Generation) (chain.Request, error) {
	if g.Price == nil || g.Price.Sign() <= 0 {
		return chain.Request{}, genErr("no price")
	}
	p, err := c.market.Params(ctx)
	if err != nil {
		return chain.Request{}, wrap("reading the deployment's parameters", err)
	}
	exec, prove := g.ExecWindow, g.ProveWindow
	if exec == 0 {
		exec = max(DefaultWindow, p.MinExecWindow)
	}
	if prove == 0 {
		prove = max(DefaultWindow, p.MinProveWindow)
	}
	if exec < p.MinExecWindow || prove < p.MinProveWindow {
		return chain.Request{}, fmt.Errorf("%w: %w", ErrGeneration, &BadWindowsError{Args: bindings.SLAManagerBadWindows{ExecWindow: exec, ProveWindow: prove, ChallengeWindow: g.ChallengeWindow}})
	}
	now, err := c.Now(ctx)
	if err != nil {
		return chain.Request{}, err
	}
	within := g.LockWithin
	if within == 0 {
		within = DefaultLockWithin
	}
	return chain.Request{
		Price: new(big.Int).Set(g.Price), LockBy: now + within,
		ExecWindow: exec, ProveWindow: prove, ChallengeWindow: g.ChallengeWindow,
	}, nil
}

// publishJobFile writes the job file into JobDir atomically (a provider fetching it never
// reads half) and returns its URI.
func publishJobFile(g Generation, file []byte) (string, error) {
	if g.JobDir == "" {
		if g.JobURI == "" {
			return "", genErr("nowhere to publish the job file: set JobDir (and JobURI when it is served)")
		}
		return "", genErr("JobURI without JobDir: the SDK writes the job file into JobDir")
	}
	dir, err := filepath.Abs(g.JobDir)
	if err != nil {
		return "", fmt.Errorf("sdk: job directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sdk: job directory: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, jobs.JobFile), file); err != nil {
		return "", fmt.Errorf("sdk: publishing the job file: %w", err)
	}
	if g.JobURI != "" {
		u, err := url.Parse(g.JobURI)
		if err != nil || (u.Scheme != "file" && u.Scheme != "http" && u.Scheme != "https") {
			return "", genErr("job URI %q: want a file, http or https URL", g.JobURI)
		}
		return g.JobURI, nil
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(dir, jobs.JobFile))}).String(), nil
}

// ProtocolRequest is a chain request as protocol.Request, the type of the encodings (job id,
// offers, receipts).
func ProtocolRequest(r chain.Request) protocol.Request { return chain.ProtocolRequest(r) }

// ChainRequest is the inverse of ProtocolRequest.
func ChainRequest(r protocol.Request) chain.Request { return chain.RequestFrom(r) }

// LoadJob rebuilds a job from the chain (its JobPosted event) and the client's Secrets, for a
// buyer that restarts: everything but the job file and the offer. A job created by a lock of
// a signed offer has no job URI on chain (the offer carried it): set JobURI to fetch its
// receipt.
func (c *Client) LoadJob(ctx context.Context, jobID *big.Int) (*Job, error) {
	req, uri, err := c.request(ctx, jobID)
	if err != nil {
		return nil, err
	}
	j := &Job{ID: new(big.Int).Set(jobID), Request: req, JobURI: uri, Class: c.knownClass(req.ClassId)}
	if req.SeedCommitment != ([32]byte{}) {
		s, ok, err := c.Secrets.Get(jobID)
		if err != nil {
			return nil, err
		}
		if ok {
			if protocol.SeedCommitment(s) != req.SeedCommitment {
				return nil, fmt.Errorf("sdk: the stored seed secret of job %s is not its commitment's", jobID)
			}
			j.SeedSecret = s
		}
	}
	return j, nil
}
