package prover

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/contracts/bindings"
)

// The node asks the manager itself, with eth_call from the provider account, what a
// transaction would do before it sends one whose failure costs stake or compute: the
// contract's own checks are the ones that count, and no copy of them in the node can drift
// from it.

var managerABI = bindings.NewSLAManager()

// callManager eth_calls the manager from the provider at the head; a revert comes back as a
// *chain.RevertError naming the contract's error.
func (n *Node) callManager(ctx context.Context, data []byte) ([]byte, error) {
	to := n.cfg.Deployment.Manager
	out, err := n.backend.CallContract(ctx, ethereum.CallMsg{From: n.Address(), To: &to, Data: data}, nil)
	if err != nil {
		if b, ok := chain.RevertData(err); ok {
			re := chain.DecodeRevertData(b)
			re.Cause = err
			return nil, re
		}
		return nil, err
	}
	return out, nil
}

// simulateSubmit reports whether the manager would verify sub if it were mined on the head:
// false means it would slash (the seed the chain derives is not the one proved).
func (n *Node) simulateSubmit(ctx context.Context, sub chain.Submission) (bool, error) {
	data, err := managerABI.TryPackSubmit(sub)
	if err != nil {
		return false, permanent{err}
	}
	out, err := n.callManager(ctx, data)
	if err != nil {
		return false, fmt.Errorf("simulating submit: %w", err)
	}
	return managerABI.UnpackSubmit(out)
}

// simulateBatch is simulateSubmit for a submitBatch: how many members would be slashed.
func (n *Node) simulateBatch(ctx context.Context, subs []chain.Submission) (slashed *big.Int, err error) {
	data, err := managerABI.TryPackSubmitBatch(subs)
	if err != nil {
		return nil, permanent{err}
	}
	out, err := n.callManager(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("simulating submitBatch: %w", err)
	}
	res, err := managerABI.UnpackSubmitBatch(out)
	if err != nil {
		return nil, err
	}
	return res.Slashed, nil
}

// placeholderRoot and placeholderAttestation stand for the trace root and attestation digest
// a lockAndCommit simulation commits: the manager's checks of the offer (signature, ERC-1271
// included, terms, class, stake, escrow) do not depend on them.
var (
	placeholderRoot        = big.NewInt(1)
	placeholderAttestation = crypto.Keccak256Hash([]byte("probity.prover.v1.simulated-lock"))
)

// simulateLock eth_calls lockAndCommit of an offer from the provider before the node spends
// its compute on it: an offer the manager would refuse (an unfunded buyer, a bad signature, a
// retired class, too little free stake) is refused instead of executed for nothing. A revert
// comes back as a *Refusal, an endpoint failure as an error.
func (n *Node) simulateLock(ctx context.Context, req chain.Request, sig []byte) (*Refusal, error) {
	maxStake, maxFee := chain.AnyTerms.Words() // the node's own stake check comes before
	data, err := managerABI.TryPackLockAndCommit(req, sig, placeholderRoot, placeholderAttestation, maxStake, maxFee)
	if err != nil {
		return refuse("offer", "%v", err), nil
	}
	if _, err := n.callManager(ctx, data); err != nil {
		if errors.Is(err, chain.ErrReverted) {
			return refuse("lock-simulation", "the manager would refuse lockAndCommit: %v", err), nil
		}
		return nil, fmt.Errorf("simulating lockAndCommit: %w", err)
	}
	return nil, nil
}
