package sdk

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/protocol"
	"github.com/probitylabs/probity/tensor"
)

// JobRequest describes a job to post.
type JobRequest struct {
	InputFile string // activation file: tensor "x", int8 [M, K] (spec §3.1)
	ModelFile string // model file: layers.{l}.weight/bias plus epilogue metadata
	// Exactly one of PublishDir and ManifestURI: PublishDir is a directory into which PostJob
	// copies both files and writes manifest.json (the job's URI is then file://.../manifest.json);
	// ManifestURI names a manifest the buyer already published elsewhere (e.g. https).
	PublishDir  string
	ManifestURI string
	// Shapes names one catalogue shape per layer (circuits.Catalogue), e.g. "demo-64".
	Shapes []string
	Price  *big.Int // escrowed, in token units
	// Windows; zero values take the defaults (lock 1 h, execute 1 h, prove 1 h). The execute
	// and prove windows must be at least the deployment's minimums (chain.Client.MinWindows).
	LockWindow  time.Duration // from now until the last moment a provider may lock
	ExecWindow  time.Duration // from lock to the commit deadline
	ProveWindow time.Duration // from the seed being fixed to the proof deadline
	// SeedSecret, when set, is the buyer's seed secret to commit to; by default PostJob draws
	// a fresh one from crypto/rand. Set it to persist the secret before the job exists. It
	// MUST be fresh for every job (NewSeedSecret): a secret revealed once is public, and the
	// contract refuses a buyer's second job committed to it (*SeedCommitmentReusedError).
	SeedSecret *[32]byte
	// NoSeedCommitment posts without a seed secret. The seed then depends on the seed block's
	// hash alone, which whoever produces that block (an L2 sequencer, a validator, or someone
	// paying one) can choose among candidates: a weaker seed (spec §12). Use it only where
	// the buyer cannot reveal, e.g. a buyer that is not online after posting.
	NoSeedCommitment bool
}

// Job is a posted job.
type Job struct {
	ID          *big.Int
	SpecHash    [32]byte
	Spec        chain.JobSpec
	ManifestURI string
	Price       *big.Int
	// SeedSecret is the buyer's seed secret (zero when posted with NoSeedCommitment). The
	// client that posted the job reveals it in WaitReceipt; a dApp that may restart before
	// the job is committed must persist it and give it back with SetSeedSecret or RevealSeed.
	// Keep it from providers until the job is committed: a provider that knows it early can
	// bias the seed as if there were no secret.
	SeedSecret [32]byte
}

// BuildSpec computes the JobSpec of an input and a model for the named shapes: the input
// commitment at the shapes' rows depth, each layer's parameter commitment and epilogue word,
// after checking that the files fit the shapes (K, N, D chained, M <= 2^D).
func BuildSpec(inputFile, modelFile string, shapes []string) (chain.JobSpec, error) {
	// The input is only read in row chunks (commit.CommitActivationsFile): an input larger
	// than memory must not need to fit in it to be posted.
	rr, err := tensor.OpenRows(inputFile, "x")
	if err != nil {
		return chain.JobSpec{}, fmt.Errorf("%w: input: %w", ErrJobRequest, err)
	}
	M, K0 := rr.Rows, rr.Cols
	rr.Close()
	model, err := tensor.LoadModel(modelFile)
	if err != nil {
		return chain.JobSpec{}, fmt.Errorf("%w: model: %w", ErrJobRequest, err)
	}
	if len(shapes) != len(model.Layers) {
		return chain.JobSpec{}, fmt.Errorf("%w: %d shapes for %d layers", ErrJobRequest, len(shapes), len(model.Layers))
	}
	var spec chain.JobSpec
	var D uint8
	for l, name := range shapes {
		s, err := circuits.Lookup(name)
		if err != nil {
			return chain.JobSpec{}, fmt.Errorf("%w: layer %d: %w", ErrJobRequest, l, err)
		}
		K, N, err := model.Layers[l].Dims()
		if err != nil {
			return chain.JobSpec{}, fmt.Errorf("%w: layer %d: %w", ErrJobRequest, l, err)
		}
		if l == 0 {
			D = s.D
			if K != K0 {
				return chain.JobSpec{}, fmt.Errorf("%w: input has %d columns, layer 0 takes %d", ErrJobRequest, K0, K)
			}
			if M > 1<<D {
				return chain.JobSpec{}, fmt.Errorf("%w: %d rows exceed shape %s's 2^%d", ErrJobRequest, M, s.Name, D)
			}
		}
		if s.D != D || uint32(K) != s.K || uint32(N) != s.N {
			return chain.JobSpec{}, fmt.Errorf("%w: layer %d is %dx%d, shape %s", ErrJobRequest, l, K, N, s)
		}
		t, err := commit.CommitLayer(model.Layers[l].Weight, model.Layers[l].Bias)
		if err != nil {
			return chain.JobSpec{}, fmt.Errorf("%w: layer %d: %w", ErrJobRequest, l, err)
		}
		spec.Layers = append(spec.Layers, chain.Layer{
			ShapeId: s.ID(), WeightsRoot: commit.ToBig(t.Root()), Epilogue: model.Layers[l].Epilogue.Word(),
		})
	}
	t, err := commit.CommitActivationsFile(inputFile, "x", int(D))
	if err != nil {
		return chain.JobSpec{}, fmt.Errorf("%w: input: %w", ErrJobRequest, err)
	}
	spec.InputRoot = commit.ToBig(t.Root())
	spec.Rows = uint32(M)
	return spec, nil
}

// SpecHash is the EIP-712 hash of a spec, as the contract stores it.
func SpecHash(spec chain.JobSpec) [32]byte {
	p := protocol.JobSpec{InputRoot: spec.InputRoot, Rows: spec.Rows}
	for _, l := range spec.Layers {
		p.Layers = append(p.Layers, protocol.Layer{ShapeID: l.ShapeId, WeightsRoot: l.WeightsRoot, Epilogue: l.Epilogue})
	}
	return p.Hash()
}

// PostJob builds the spec from the files, publishes them with a manifest (PublishDir), approves
// the manager for the price, and posts the job with its escrow.
func (c *Client) PostJob(ctx context.Context, req JobRequest) (*Job, error) {
	if req.Price == nil || req.Price.Sign() <= 0 {
		return nil, fmt.Errorf("%w: price must be positive", ErrJobRequest)
	}
	if (req.PublishDir == "") == (req.ManifestURI == "") {
		return nil, fmt.Errorf("%w: give exactly one of PublishDir and ManifestURI", ErrJobRequest)
	}
	spec, err := BuildSpec(req.InputFile, req.ModelFile, req.Shapes)
	if err != nil {
		return nil, err
	}
	uri := req.ManifestURI
	if req.PublishDir != "" {
		if uri, err = Publish(req.PublishDir, req.InputFile, req.ModelFile); err != nil {
			return nil, err
		}
	}
	if req.NoSeedCommitment && req.SeedSecret != nil {
		return nil, fmt.Errorf("%w: SeedSecret and NoSeedCommitment exclude each other", ErrJobRequest)
	}
	lockW, execW, proveW := orDefault(req.LockWindow), orDefault(req.ExecWindow), orDefault(req.ProveWindow)
	// Check the minimums here: the contract would refuse too, but only after the approval
	// transaction was paid for.
	minExec, minProve, err := c.chain.MinWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("sdk: reading the minimum windows: %w", decodeError(err))
	}
	if uint32(execW.Seconds()) < minExec || uint32(proveW.Seconds()) < minProve {
		return nil, fmt.Errorf("%w: %w", ErrJobRequest, &WindowTooShortError{ExecWindow: uint32(execW.Seconds()),
			ProveWindow: uint32(proveW.Seconds()), MinExecWindow: minExec, MinProveWindow: minProve})
	}
	var secret, commitment [32]byte
	switch {
	case req.SeedSecret != nil:
		secret = *req.SeedSecret
	case !req.NoSeedCommitment:
		if secret, err = NewSeedSecret(); err != nil {
			return nil, err
		}
	}
	if !req.NoSeedCommitment {
		if secret == ([32]byte{}) {
			// The contract reads a zero commitment as "none"; a zero secret is no secret.
			return nil, fmt.Errorf("%w: the seed secret is zero", ErrJobRequest)
		}
		commitment = protocol.SeedCommitment(secret)
	}
	now, err := c.chainTime(ctx)
	if err != nil {
		return nil, err
	}
	mgr := c.Addresses().Manager
	if _, err := c.chain.Approve(ctx, mgr, req.Price); err != nil {
		return nil, fmt.Errorf("sdk: approving the escrow: %w", decodeError(err))
	}
	ev, _, err := c.chain.PostJob(ctx, chain.PostJobParams{
		Spec: spec, Price: req.Price, LockBy: now + uint64(lockW.Seconds()),
		ExecWindow: uint32(execW.Seconds()), ProveWindow: uint32(proveW.Seconds()), SeedCommitment: commitment, InputURI: uri,
	})
	if err != nil {
		return nil, fmt.Errorf("sdk: posting the job: %w", decodeError(err))
	}
	if commitment != ([32]byte{}) {
		c.SetSeedSecret(ev.JobId, secret)
	}
	return &Job{ID: ev.JobId, SpecHash: ev.SpecHash, Spec: spec, ManifestURI: uri, Price: ev.Price, SeedSecret: secret}, nil
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Hour
	}
	return d
}

// chainTime is the latest block's timestamp: deadlines are in chain time, which a simulated
// chain may have moved away from the wall clock.
func (c *Client) chainTime(ctx context.Context) (uint64, error) {
	h, err := c.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sdk: latest block: %w", err)
	}
	return h.Time, nil
}

// Publish lays out a job directory for providers (jobs.Publish) and returns its manifest's
// file:// URI, which providers read and next to which they write receipts/<jobId>.json.
func Publish(dir, inputFile, modelFile string) (string, error) {
	uri, err := jobs.Publish(dir, inputFile, modelFile)
	if err != nil {
		return "", fmt.Errorf("sdk: %w", err)
	}
	return uri, nil
}

// Cancel cancels an open job; the escrow is credited back (collect it with Withdraw).
func (c *Client) Cancel(ctx context.Context, jobID *big.Int) error {
	if _, _, err := c.chain.Cancel(ctx, jobID); err != nil {
		return fmt.Errorf("sdk: cancel job %s: %w", jobID, decodeError(err))
	}
	return nil
}

// Credit is the client's credited balance: refunds, slashed stake, payments, bounties.
func (c *Client) Credit(ctx context.Context) (*big.Int, error) {
	v, err := c.chain.CreditOf(ctx, c.Address())
	if err != nil {
		return nil, fmt.Errorf("sdk: credit: %w", decodeError(err))
	}
	return v, nil
}

// Withdraw pays out the client's credited balance and returns the amount.
func (c *Client) Withdraw(ctx context.Context) (*big.Int, error) {
	return c.WithdrawTo(ctx, c.Address())
}

// WithdrawTo pays the client's credited balance (escrow refunds, payments, slashed stake and
// bounties) to another address, e.g. a cold wallet, and returns the amount.
func (c *Client) WithdrawTo(ctx context.Context, to common.Address) (*big.Int, error) {
	ev, _, err := c.chain.WithdrawTo(ctx, to)
	if err != nil {
		return nil, fmt.Errorf("sdk: withdraw: %w", decodeError(err))
	}
	return ev.Amount, nil
}

// Stake is a provider's registry account.
type Stake struct {
	NodeKey   common.Address
	Free      *big.Int
	Reserved  *big.Int // backing locked jobs
	Unbonding *big.Int
}

// ProviderStake reads a provider's stake and node key.
func (c *Client) ProviderStake(ctx context.Context, provider common.Address) (Stake, error) {
	p, err := c.chain.ProviderOf(ctx, provider)
	if err != nil {
		return Stake{}, fmt.Errorf("sdk: provider %s: %w", provider.Hex(), decodeError(err))
	}
	return Stake{NodeKey: p.NodeKey, Free: p.Free, Reserved: p.Reserved, Unbonding: p.Unbonding}, nil
}

// JobState reads a job's state.
func (c *Client) JobState(ctx context.Context, jobID *big.Int) (chain.JobState, error) {
	j, err := c.chain.GetJob(ctx, jobID)
	if err != nil {
		return 0, fmt.Errorf("sdk: job %s: %w", jobID, decodeError(err))
	}
	return chain.JobState(j.State), nil
}
