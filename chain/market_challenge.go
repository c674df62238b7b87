package chain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Targeted challenges of proved jobs (specs/settlement.md, "Challenges"): while
// a job with a nonzero challenge window is Proved and the window is open,
// anyone may challenge one element of its committed trace with a bond; an
// answer (a proof of the class's targeted statement) is due within the job's
// proveWindow and pays the bond to the provider; an unanswered challenge is
// upheld with Enforce, which slashes the job with the bounty to the challenger.

// ChallengeState mirrors ChallengeManager's ChallengeState.
type ChallengeState uint8

// Challenge states, in the contract's order. Upheld, Voided and Released are final; so is
// Answered, except that a data challenge's held bond moves once more (Released).
const (
	ChallengeStateNone ChallengeState = iota
	ChallengeStateOpen
	ChallengeStateAnswered
	ChallengeStateUpheld
	ChallengeStateVoided
	// ChallengeStateReleased: an answered data challenge whose held bond moved (Release).
	ChallengeStateReleased
)

var challengeStateNames = [...]string{"None", "Open", "Answered", "Upheld", "Voided", "Released"}

func (s ChallengeState) String() string {
	if int(s) < len(challengeStateNames) {
		return challengeStateNames[s]
	}
	return fmt.Sprintf("ChallengeState(%d)", uint8(s))
}

// Anchor is what the manager stores for a proved job with a challenge window:
// keccak256(abi.encode(traceRoot, resultDigest)) (ChallengeManager.anchorOf).
func Anchor(traceRoot, resultDigest *big.Int) [32]byte {
	var buf [64]byte
	traceRoot.FillBytes(buf[:32])
	resultDigest.FillBytes(buf[32:])
	return crypto.Keccak256Hash(buf[:])
}

// challengeContract returns the bound ChallengeManager, reading its address
// from the manager once when the deployment did not name it.
func (m *Market) challengeContract(ctx context.Context) (*bind.BoundContract, error) {
	m.cmOnce.Do(func() {
		if m.d.Addresses.Challenges != (common.Address{}) {
			return
		}
		addr, err := challengesOf(ctx, m.backend, m.d.Addresses.Manager)
		if err != nil {
			m.cmErr = err
			return
		}
		m.d.Addresses.Challenges = addr
		m.d.Challenges = m.cm.Instance(m.backend, addr)
		m.dec.challenges = addr
	})
	if m.cmErr != nil {
		return nil, m.cmErr
	}
	return m.d.Challenges, nil
}

// ChallengeResult is a challenge opened by the client.
type ChallengeResult struct {
	Tx
	Opened *ChallengeOpened
}

// Challenge challenges element of a proved job with the current bond (from the
// client's ChallengeManager balance when it covers it, else by transferFrom:
// approve the ChallengeManager first). traceRoot is the job's committed trace
// root (JobCommitted), resultDigest its result digest (JobProved).
func (m *Market) Challenge(ctx context.Context, req Request, traceRoot, resultDigest, element *big.Int) (*ChallengeResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackChallenge(req, traceRoot, resultDigest, element))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.ChallengeOpened)
	if err != nil {
		return nil, err
	}
	return &ChallengeResult{Tx: *tx, Opened: ev}, nil
}

// AnswerResult is an answered challenge.
type AnswerResult struct {
	Tx
	Answered *ChallengeAnswered
}

// Answer answers an open challenge with a proof of the class's targeted
// statement for public inputs [modelRoot, jobDigest, traceRoot, resultDigest,
// element]; the bond goes to the job's provider whoever sends it. A proof that
// does not verify reverts InvalidAnswer.
func (m *Market) Answer(ctx context.Context, req Request, traceRoot, resultDigest, element *big.Int, proof [8]*big.Int) (*AnswerResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackAnswer(req, traceRoot, resultDigest, element, proof))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.ChallengeAnswered)
	if err != nil {
		return nil, err
	}
	return &AnswerResult{Tx: *tx, Answered: ev}, nil
}

// EnforceResult is an upheld challenge and the slash it caused.
type EnforceResult struct {
	Tx
	Upheld  *ChallengeUpheld
	Slashed *JobSlashed
}

// Enforce upholds a challenge left unanswered past its respondBy: the job is
// slashed, the bounty to the challenger, the rest and the escrow to the buyer,
// and the bond credited back to the challenger (anyone may call).
func (m *Market) Enforce(ctx context.Context, req Request, element *big.Int) (*EnforceResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackEnforce(req, element))
	if err != nil {
		return nil, err
	}
	up, err := one(tx, tx.Events.ChallengeUpheld)
	if err != nil {
		return nil, err
	}
	sl, err := one(tx, tx.Events.Slashed)
	if err != nil {
		return nil, err
	}
	return &EnforceResult{Tx: *tx, Upheld: up, Slashed: sl}, nil
}

// ReclaimResult is a voided challenge.
type ReclaimResult struct {
	Tx
	Voided *ChallengeVoided
}

// Reclaim credits back the bond of an open challenge whose job is no longer
// Proved (another challenge slashed it); anyone may call.
func (m *Market) Reclaim(ctx context.Context, req Request, element *big.Int) (*ReclaimResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackReclaim(req, element))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.ChallengeVoided)
	if err != nil {
		return nil, err
	}
	return &ReclaimResult{Tx: *tx, Voided: ev}, nil
}

// BondWithdrawResult is a ChallengeManager payout.
type BondWithdrawResult struct {
	Tx
	Withdrawn *BondsWithdrawn
}

// WithdrawBonds pays out the client's ChallengeManager balance (bonds returned
// or won) to the client. The challenge bounty is a registry credit, paid by
// Withdraw.
func (m *Market) WithdrawBonds(ctx context.Context) (*BondWithdrawResult, error) {
	return m.WithdrawBondsTo(ctx, m.Address())
}

// WithdrawBondsTo pays out the client's ChallengeManager balance to to.
func (m *Market) WithdrawBondsTo(ctx context.Context, to common.Address) (*BondWithdrawResult, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := m.transact(ctx, cm, m.cm.PackWithdrawTo(to))
	if err != nil {
		return nil, err
	}
	ev, err := one(tx, tx.Events.BondsWithdrawn)
	if err != nil {
		return nil, err
	}
	return &BondWithdrawResult{Tx: *tx, Withdrawn: ev}, nil
}

// SetBond sets the bond of challenges opened later (governance only; nonzero).
func (m *Market) SetBond(ctx context.Context, bond *big.Int) (*Tx, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	return m.transact(ctx, cm, m.cm.PackSetBond(bond))
}

// ChallengeOf returns the challenge of element on a job (state None when never challenged).
func (m *Market) ChallengeOf(ctx context.Context, jobID, element *big.Int) (Challenge, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return Challenge{}, err
	}
	out, err := m.call(ctx, cm, m.cm.PackChallengeOf(jobID, element))
	if err != nil {
		return Challenge{}, err
	}
	return m.cm.UnpackChallengeOf(out)
}

// OpenChallenges returns how many challenges of a job are open; the manager
// pays no job with any.
func (m *Market) OpenChallenges(ctx context.Context, jobID *big.Int) (*big.Int, error) {
	return m.cmView(ctx, m.cm.PackOpenCount(jobID), m.cm.UnpackOpenCount)
}

// Bond returns the bond a new challenge takes.
func (m *Market) Bond(ctx context.Context) (*big.Int, error) {
	return m.cmView(ctx, m.cm.PackBond(), m.cm.UnpackBond)
}

// BondBalanceOf returns what WithdrawBonds would pay account.
func (m *Market) BondBalanceOf(ctx context.Context, account common.Address) (*big.Int, error) {
	return m.cmView(ctx, m.cm.PackBalanceOf(account), m.cm.UnpackBalanceOf)
}

func (m *Market) cmView(ctx context.Context, data []byte, unpack func([]byte) (*big.Int, error)) (*big.Int, error) {
	cm, err := m.challengeContract(ctx)
	if err != nil {
		return nil, err
	}
	out, err := m.call(ctx, cm, data)
	if err != nil {
		return nil, err
	}
	return unpack(out)
}

// FilterChallengeOpened returns the ChallengeOpened events in r, of jobIDs only
// when any are given: what a provider must answer.
func (m *Market) FilterChallengeOpened(ctx context.Context, r EventRange, jobIDs ...*big.Int) ([]*ChallengeOpened, error) {
	if _, err := m.challengeContract(ctx); err != nil {
		return nil, err
	}
	it, err := bind.FilterEvents(m.d.Challenges, &bind.FilterOpts{Context: ctx, Start: r.Start, End: r.End}, m.cm.UnpackChallengeOpenedEvent, jobTopics(jobIDs)...)
	return collect(it, err)
}
