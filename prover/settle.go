package prover

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/jobs"
)

// settle waits for the challenge window of a proved job to end, answering every challenge
// opened meanwhile (answerChallenges), and finalizes it once the window is over (extended by
// data answers) and no challenge is open (with Withdraw, collect: finalize and payout in one transaction). A job
// whose window was zero settled in its submission, which the reconcile at the start of this
// step sees; one slashed by an unanswered challenge is reconciled the same way.
func (n *Node) settle(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	sc := newChallengeScan(r.ProvedBlock)
	for {
		open := 0
		var dataUntil uint64 // data answers keep the window open (settlement.md §10)
		if r.Request.ChallengeWindow > 0 {
			var err error
			if open, err = n.answerChallenges(ctx, r, sc, log); err != nil {
				return r.Step, err
			}
			if dataUntil, err = n.market.DataUntil(ctx, r.ID()); err != nil {
				return r.Step, err
			}
			if st, err := n.market.JobState(ctx, r.ID()); err != nil {
				return r.Step, err
			} else if st != chain.StateProved {
				return r.Step, fmt.Errorf("the job left Proved (%v)", st) // reconciled next
			}
		}
		now, err := n.chainTime(ctx)
		if err != nil {
			return r.Step, err
		}
		if now > max(r.PayableAt, dataUntil) && open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return r.Step, ctx.Err()
		case <-time.After(n.cfg.PollInterval.D()):
		}
	}
	ids := []*big.Int{r.ID()}
	var res *chain.SettleResult
	var err error
	if n.cfg.Withdraw {
		res, err = n.market.Collect(ctx, ids, n.Address())
		if err == nil {
			n.gas(r, "collect", &res.Tx)
		}
	} else {
		res, err = n.market.Finalize(ctx, ids)
		if err == nil {
			n.gas(r, "finalize", &res.Tx)
		}
	}
	if err != nil {
		return r.Step, err
	}
	for _, s := range res.Settled {
		if s.JobId.Cmp(r.ID()) == 0 {
			log.Info("settled", "price", s.Price)
			return StepSettled, nil
		}
	}
	return r.Step, fmt.Errorf("finalize passed the job over (not payable yet)")
}

// finish publishes the receipt document next to the job URI and withdraws the balance, as
// configured.
func (n *Node) finish(ctx context.Context, r *Record, log *slog.Logger) (Step, error) {
	if n.cfg.PublishReceipts && r.ReceiptPath != "" {
		doc, err := os.ReadFile(r.ReceiptPath)
		if err != nil {
			return r.Step, permanent{fmt.Errorf("receipt document: %w", err)}
		}
		if err := n.fetch.Publish(ctx, func(ctx context.Context, c *http.Client) error {
			return jobs.PublishReceipt(ctx, c, r.JobURI, r.ID(), doc)
		}); err != nil {
			return r.Step, fmt.Errorf("publishing the receipt: %w", err)
		}
		log.Info("published the receipt")
	}
	if err := n.releaseDataBonds(ctx, r, log); err != nil {
		return r.Step, err
	}
	if n.cfg.Withdraw {
		// Bonds of challenges the node answered are paid by the ChallengeManager.
		if bonds, err := n.market.BondBalanceOf(ctx, n.Address()); err != nil {
			return r.Step, err
		} else if bonds.Sign() > 0 {
			res, err := n.market.WithdrawBonds(ctx)
			if err != nil && !chain.IsRevert(err, "NothingToWithdraw") {
				return r.Step, err
			}
			if err == nil {
				n.gas(r, "withdrawBonds", &res.Tx)
				log.Info("withdrew bonds", "amount", res.Withdrawn.Amount)
			}
		}
		bal, err := n.market.BalanceOf(ctx, n.Address())
		if err != nil {
			return r.Step, err
		}
		if bal.Sign() > 0 {
			res, err := n.market.Withdraw(ctx)
			if err != nil && !chain.IsRevert(err, "NothingToWithdraw") {
				return r.Step, err
			}
			if err == nil {
				n.gas(r, "withdraw", &res.Tx)
				log.Info("withdrew", "amount", res.Withdrawn.Amount)
			}
		}
	}
	return StepDone, nil
}

// releaseDataBonds moves to the node's balance the bonds of the data challenges it answered on
// a paid job: the ChallengeManager holds them until the job's fate is known (settlement.md
// §10), so that a cheater that answers a watcher's search never keeps them.
func (n *Node) releaseDataBonds(ctx context.Context, r *Record, log *slog.Logger) error {
	if r.Request.ChallengeWindow == 0 {
		return nil
	}
	head, err := n.backend.BlockNumber(ctx)
	if err != nil {
		return err
	}
	for from := r.ProvedBlock; from <= head; {
		end := min(head, from+chain.MaxLogRange-1)
		evs, err := n.market.FilterChallengeOpened(ctx, chain.EventRange{Start: from, End: &end}, r.ID())
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if e, err := jobs.ParseElement(ev.Element); err != nil || !e.IsData() {
				continue
			}
			c, err := n.market.ChallengeOf(ctx, r.ID(), ev.Element)
			if err != nil {
				return err
			}
			if chain.ChallengeState(c.State) != chain.ChallengeStateAnswered {
				continue
			}
			res, err := n.market.Release(ctx, r.Request.Request, ev.Element)
			if err != nil {
				return err
			}
			n.gas(r, "release", &res.Tx)
			log.Info("released a data challenge's bond", "bond", res.Released.Bond)
		}
		from = end + 1
	}
	return nil
}
