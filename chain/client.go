package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Client acts on one deployment as one account: typed wrappers for every
// manager, registry and token call, each returning the receipt and the event the
// call emits.
type Client struct {
	backend Backend
	sender  *Sender
	d       *Deployment

	manager   *bindings.SLAManager
	providers *bindings.ProviderRegistry
	shapes    *bindings.ShapeRegistry
	token     *bindings.DevToken
}

// NewClient returns a client for the deployment at addrs, sending from key.
func NewClient(ctx context.Context, backend Backend, addrs Addresses, key *ecdsa.PrivateKey) (*Client, error) {
	s, err := NewSender(ctx, backend, key)
	if err != nil {
		return nil, err
	}
	return &Client{
		backend:   backend,
		sender:    s,
		d:         Bind(backend, addrs),
		manager:   bindings.NewSLAManager(),
		providers: bindings.NewProviderRegistry(),
		shapes:    bindings.NewShapeRegistry(),
		token:     bindings.NewDevToken(),
	}, nil
}

// Address is the client's account.
func (c *Client) Address() common.Address { return c.sender.From() }

// Sender is the client's transaction sender.
func (c *Client) Sender() *Sender { return c.sender }

// Addresses of the deployment.
func (c *Client) Addresses() Addresses { return c.d.Addresses }

func (c *Client) call(ctx context.Context, bc *bind.BoundContract, data []byte) ([]byte, error) {
	out, err := bc.CallRaw(&bind.CallOpts{Context: ctx, From: c.Address()}, data)
	if err != nil {
		return nil, decodeRevert(err)
	}
	return out, nil
}

// ---------------------------------------------------------------- token

// Approve lets spender pull amount of the token from the client's account.
func (c *Client) Approve(ctx context.Context, spender common.Address, amount *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Token, c.token.PackApprove(spender, amount))
}

// Transfer sends amount of the token to to.
func (c *Client) Transfer(ctx context.Context, to common.Address, amount *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Token, c.token.PackTransfer(to, amount))
}

// Mint mints DevTokens (the client must be the token's owner).
func (c *Client) Mint(ctx context.Context, to common.Address, amount *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Token, c.token.PackMint(to, amount))
}

// TokenBalance returns account's token balance.
func (c *Client) TokenBalance(ctx context.Context, account common.Address) (*big.Int, error) {
	out, err := c.call(ctx, c.d.Token, c.token.PackBalanceOf(account))
	if err != nil {
		return nil, err
	}
	return c.token.UnpackBalanceOf(out)
}

// ---------------------------------------------------------------- providers

// Register registers the client as a provider with nodeKey and pulls stake
// (approve the registry first).
func (c *Client) Register(ctx context.Context, nodeKey common.Address, stake *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackRegister(nodeKey, stake))
}

// AddStake adds to the client's free stake.
func (c *Client) AddStake(ctx context.Context, amount *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackAddStake(amount))
}

// RotateNodeKey replaces the client's node key.
func (c *Client) RotateNodeKey(ctx context.Context, key common.Address) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackRotateNodeKey(key))
}

// RequestUnbond moves free stake to unbonding.
func (c *Client) RequestUnbond(ctx context.Context, amount *big.Int) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackRequestUnbond(amount))
}

// WithdrawUnbonded pays out unbonded stake after the delay.
func (c *Client) WithdrawUnbonded(ctx context.Context) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackWithdrawUnbonded())
}

// WithdrawUnbondedTo pays the client's unbonded stake to another address.
func (c *Client) WithdrawUnbondedTo(ctx context.Context, to common.Address) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Providers, c.providers.PackWithdrawUnbondedTo(to))
}

// ProviderOf returns a provider's registry account.
func (c *Client) ProviderOf(ctx context.Context, provider common.Address) (Provider, error) {
	out, err := c.call(ctx, c.d.Providers, c.providers.PackProviderOf(provider))
	if err != nil {
		return Provider{}, err
	}
	return c.providers.UnpackProviderOf(out)
}

// ---------------------------------------------------------------- shapes

// ShapeID asks the registry for the id of (K, N, D, k) (spec §5).
func (c *Client) ShapeID(ctx context.Context, K, N uint32, D uint8, k uint16) ([32]byte, error) {
	out, err := c.call(ctx, c.d.Shapes, c.shapes.PackShapeIdOf(K, N, D, k))
	if err != nil {
		return [32]byte{}, err
	}
	return c.shapes.UnpackShapeIdOf(out)
}

// RegisterShape registers a shape with its verifier (governance only) and
// returns its id.
func (c *Client) RegisterShape(ctx context.Context, verifier common.Address, K, N uint32, D uint8, k uint16) ([32]byte, error) {
	id, err := c.ShapeID(ctx, K, N, D, k)
	if err != nil {
		return id, err
	}
	_, err = c.sender.Transact(ctx, c.d.Shapes, c.shapes.PackRegisterShape(id, verifier, K, N, D, k))
	return id, err
}

// RetireShape tombstones a shape (governance only).
func (c *Client) RetireShape(ctx context.Context, id [32]byte) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Shapes, c.shapes.PackRetire(id))
}

// Shape returns a shape's registry entry.
func (c *Client) Shape(ctx context.Context, id [32]byte) (Shape, error) {
	out, err := c.call(ctx, c.d.Shapes, c.shapes.PackShape(id))
	if err != nil {
		return Shape{}, err
	}
	return c.shapes.UnpackShape(out)
}

// DeployVerifier deploys a Groth16Verifier for vk from the client's account.
func (c *Client) DeployVerifier(ctx context.Context, vk VerifyingKey) (common.Address, error) {
	return DeployVerifier(ctx, c.sender, vk)
}

// ---------------------------------------------------------------- manager

// PostJobParams are the arguments of postJob.
type PostJobParams struct {
	Spec        JobSpec
	Price       *big.Int
	LockBy      uint64 // unix seconds
	ExecWindow  uint32 // seconds from lock to the commit deadline
	ProveWindow uint32 // seconds from the seed being fixed to the proof deadline
	// SeedCommitment is protocol.SeedCommitment(secret) of the buyer's seed secret, revealed with
	// RevealSeed once the job is committed; zero posts without buyer entropy (spec §6.2).
	SeedCommitment [32]byte
	InputURI       string
}

// PostJob posts a job (approve the manager for the price first) and returns
// the JobPosted event, whose JobId names the job.
func (c *Client) PostJob(ctx context.Context, p PostJobParams) (*JobPosted, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager,
		c.manager.PackPostJob(p.Spec, p.Price, p.LockBy, p.ExecWindow, p.ProveWindow, p.SeedCommitment, p.InputURI))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobPostedEvent)
	return ev, rcpt, err
}

// Cancel cancels an open job (buyer only).
func (c *Client) Cancel(ctx context.Context, jobID *big.Int) (*JobCancelled, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackCancel(jobID))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobCancelledEvent)
	return ev, rcpt, err
}

// Lock locks a job for the client (a registered provider) and reserves stake.
func (c *Client) Lock(ctx context.Context, jobID *big.Int) (*JobLocked, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackLock(jobID))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobLockedEvent)
	return ev, rcpt, err
}

// Commit commits the output roots and attestation digest.
func (c *Client) Commit(ctx context.Context, jobID *big.Int, outputRoots []*big.Int, attestationDigest [32]byte) (*JobCommitted, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackCommit(jobID, outputRoots, attestationDigest))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobCommittedEvent)
	return ev, rcpt, err
}

// FixSeed fixes a committed job's seed without the buyer's secret (anyone; needs
// block > seedBlock, and > seedBlock + RevealBlocks for a job with a seed commitment).
func (c *Client) FixSeed(ctx context.Context, jobID *big.Int) (*SeedFixed, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackFixSeed(jobID))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackSeedFixedEvent)
	return ev, rcpt, err
}

// RevealSeed fixes a committed job's seed with the buyer's secret (spec §6.2).
func (c *Client) RevealSeed(ctx context.Context, jobID *big.Int, secret [32]byte) (*SeedFixed, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackRevealSeed(jobID, secret))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackSeedFixedEvent)
	return ev, rcpt, err
}

// Abandon gives a locked, uncommitted job back (its provider only), paying the
// job's abandonment fee instead of being slashed at the commit deadline.
func (c *Client) Abandon(ctx context.Context, jobID *big.Int) (*JobAbandoned, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackAbandon(jobID))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobAbandonedEvent)
	return ev, rcpt, err
}

// Submission is what submitProof takes besides the job id.
type Submission struct {
	Spec              JobSpec
	OutputRoots       []*big.Int
	AttestationDigest [32]byte
	Proofs            []Proof
	Signature         []byte // 65 bytes r||s||v by the node key over the Receipt digest
}

// SubmitResult says how a submission ended: Settled is set when every proof
// verified; otherwise Rejected names the failing layer and Slashed the slash.
type SubmitResult struct {
	Settled  *JobSettled
	Rejected *ProofRejected
	Slashed  *JobSlashed
	Receipt  *types.Receipt
}

// SubmitProof submits the proofs and the signed receipt.
func (c *Client) SubmitProof(ctx context.Context, jobID *big.Int, s Submission) (*SubmitResult, error) {
	proofs := make([][8]*big.Int, len(s.Proofs))
	for i, p := range s.Proofs {
		proofs[i] = p
	}
	rcpt, err := c.sender.Transact(ctx, c.d.Manager,
		c.manager.PackSubmitProof(jobID, s.Spec, s.OutputRoots, s.AttestationDigest, proofs, s.Signature))
	if err != nil {
		return nil, err
	}
	res := &SubmitResult{Receipt: rcpt}
	addr := c.d.Manager.Address()
	if ev, err := findEvent(rcpt, addr, c.manager.UnpackJobSettledEvent); err == nil {
		res.Settled = ev
		return res, nil
	}
	if res.Rejected, err = findEvent(rcpt, addr, c.manager.UnpackProofRejectedEvent); err != nil {
		return nil, err
	}
	if res.Slashed, err = findEvent(rcpt, addr, c.manager.UnpackJobSlashedEvent); err != nil {
		return nil, err
	}
	return res, nil
}

// Slash slashes a job whose deadline passed; the bounty is credited to the client.
func (c *Client) Slash(ctx context.Context, jobID *big.Int) (*JobSlashed, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackSlash(jobID))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackJobSlashedEvent)
	return ev, rcpt, err
}

// Withdraw pays out the client's credited balance.
func (c *Client) Withdraw(ctx context.Context) (*Withdrawn, *types.Receipt, error) {
	return c.WithdrawTo(ctx, c.Address())
}

// WithdrawTo pays the client's credited balance to another address.
func (c *Client) WithdrawTo(ctx context.Context, to common.Address) (*Withdrawn, *types.Receipt, error) {
	rcpt, err := c.sender.Transact(ctx, c.d.Manager, c.manager.PackWithdrawTo(to))
	if err != nil {
		return nil, rcpt, err
	}
	ev, err := findEvent(rcpt, c.d.Manager.Address(), c.manager.UnpackWithdrawnEvent)
	return ev, rcpt, err
}

// SetBountyBps sets the deadline-slash bounty (governance only).
func (c *Client) SetBountyBps(ctx context.Context, bps uint16) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Manager, c.manager.PackSetBountyBps(bps))
}

// SetAbandonBps sets the abandonment fee (governance only).
func (c *Client) SetAbandonBps(ctx context.Context, bps uint16) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Manager, c.manager.PackSetAbandonBps(bps))
}

// SetMinWindows sets the shortest windows a job may be posted with (governance only).
func (c *Client) SetMinWindows(ctx context.Context, execWindow, proveWindow uint32) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Manager, c.manager.PackSetMinWindows(execWindow, proveWindow))
}

// MinWindows returns the governance minimum execWindow and proveWindow in seconds.
func (c *Client) MinWindows(ctx context.Context) (execWindow, proveWindow uint32, err error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackMinExecWindow())
	if err != nil {
		return 0, 0, err
	}
	if execWindow, err = c.manager.UnpackMinExecWindow(out); err != nil {
		return 0, 0, err
	}
	if out, err = c.call(ctx, c.d.Manager, c.manager.PackMinProveWindow()); err != nil {
		return 0, 0, err
	}
	proveWindow, err = c.manager.UnpackMinProveWindow(out)
	return execWindow, proveWindow, err
}

// SetDetectionFloorBps sets the detection floor f0 (governance only).
func (c *Client) SetDetectionFloorBps(ctx context.Context, bps uint16) (*types.Receipt, error) {
	return c.sender.Transact(ctx, c.d.Manager, c.manager.PackSetDetectionFloorBps(bps))
}

// GetJob returns the manager's record of a job.
func (c *Client) GetJob(ctx context.Context, jobID *big.Int) (Job, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackGetJob(jobID))
	if err != nil {
		return Job{}, err
	}
	return c.manager.UnpackGetJob(out)
}

// CreditOf returns account's withdrawable balance.
func (c *Client) CreditOf(ctx context.Context, account common.Address) (*big.Int, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackCreditOf(account))
	if err != nil {
		return nil, err
	}
	return c.manager.UnpackCreditOf(out)
}

// RequiredStake returns the stake a job of price with kmin samples needs (spec §11).
func (c *Client) RequiredStake(ctx context.Context, price *big.Int, k uint16) (*big.Int, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackRequiredStake(price, k))
	if err != nil {
		return nil, err
	}
	return c.manager.UnpackRequiredStake(out)
}

// DetectionProbability returns p(f0, k) in 18-decimal fixed point.
func (c *Client) DetectionProbability(ctx context.Context, k uint16) (*big.Int, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackDetectionProbability(k))
	if err != nil {
		return nil, err
	}
	return c.manager.UnpackDetectionProbability(out)
}

// SpecHash returns the EIP-712 hashStruct of spec, as postJob stores it.
func (c *Client) SpecHash(ctx context.Context, spec JobSpec) ([32]byte, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackSpecHashOf(spec))
	if err != nil {
		return [32]byte{}, err
	}
	return c.manager.UnpackSpecHashOf(out)
}

// ReceiptDigest returns the EIP-712 digest the node key signs, computed by the
// manager itself.
func (c *Client) ReceiptDigest(ctx context.Context, r Receipt) ([32]byte, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackReceiptDigest(r))
	if err != nil {
		return [32]byte{}, err
	}
	return c.manager.UnpackReceiptDigest(out)
}

// DomainSeparator returns the manager's EIP-712 domain separator.
func (c *Client) DomainSeparator(ctx context.Context) ([32]byte, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackDomainSeparator())
	if err != nil {
		return [32]byte{}, err
	}
	return c.manager.UnpackDomainSeparator(out)
}

// LayerSeed returns seed_l of spec §6.2 as the manager derives it.
func (c *Client) LayerSeed(ctx context.Context, seed *big.Int, layer uint32) (*big.Int, error) {
	out, err := c.call(ctx, c.d.Manager, c.manager.PackLayerSeed(seed, layer))
	if err != nil {
		return nil, err
	}
	return c.manager.UnpackLayerSeed(out)
}

// ProofsHash is keccak256 over the concatenated 256-byte proofs (spec §8.2).
func ProofsHash(proofs []Proof) [32]byte {
	buf := make([]byte, 0, 256*len(proofs))
	for _, p := range proofs {
		for _, w := range p {
			buf = append(buf, common.LeftPadBytes(w.Bytes(), 32)...)
		}
	}
	return crypto.Keccak256Hash(buf)
}

// SignDigest signs an EIP-712 digest in the r||s||v form the manager checks
// (v in {27, 28}; go-ethereum signatures are already low-s).
func SignDigest(key *ecdsa.PrivateKey, digest [32]byte) ([]byte, error) {
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("chain: signing receipt digest: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// findEvent returns the first log of rcpt emitted by addr that unpack accepts.
func findEvent[T any](rcpt *types.Receipt, addr common.Address, unpack func(*types.Log) (*T, error)) (*T, error) {
	for _, l := range rcpt.Logs {
		if l.Address != addr {
			continue
		}
		if ev, err := unpack(l); err == nil {
			return ev, nil
		}
	}
	var zero T
	return nil, fmt.Errorf("%w: %T in transaction %s", ErrWrongEvent, zero, rcpt.TxHash)
}

// VerifierKey reads the verifying key a deployed Groth16Verifier holds.
func (c *Client) VerifierKey(ctx context.Context, verifier common.Address) (VerifyingKey, error) {
	v := bindings.NewGroth16Verifier()
	out, err := c.call(ctx, v.Instance(c.backend, verifier), v.PackVerifyingKey())
	if err != nil {
		return VerifyingKey{}, err
	}
	vk, err := v.UnpackVerifyingKey(out)
	if err != nil {
		return VerifyingKey{}, err
	}
	return VerifyingKey{Alpha: vk.Alpha, Beta: vk.Beta, Gamma: vk.Gamma, Delta: vk.Delta, IC: vk.Ic}, nil
}

// VerifyProof asks a Groth16Verifier whether proof verifies for the five public
// inputs (a view call; no transaction).
func (c *Client) VerifyProof(ctx context.Context, verifier common.Address, proof Proof, inputs [5]*big.Int) (bool, error) {
	v := bindings.NewGroth16Verifier()
	out, err := c.call(ctx, v.Instance(c.backend, verifier), v.PackVerifyProof(proof, inputs))
	if err != nil {
		return false, err
	}
	return v.UnpackVerifyProof(out)
}
