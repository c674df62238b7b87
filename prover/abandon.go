package prover

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/probitylabs/probity/chain"
)

// abandon gives a locked job the node cannot execute and commit in time back to the market
// (settlement.md: abandon before the commit deadline costs the job's abandonment fee; a
// missed deadline costs the whole stake). Past the deadline nothing can be given back: the
// job is expired and its stake slashable.
func (n *Node) abandon(ctx context.Context, r *Record, why string, log *slog.Logger) (Step, error) {
	res, err := n.market.Abandon(ctx, r.Request.Request)
	if err != nil {
		if chain.IsRevert(err, "DeadlinePassed") {
			r.Reason = why + "; the commit deadline passed before the abandon"
			return StepExpired, nil
		}
		return r.Step, fmt.Errorf("abandoning (%s): %w", why, err)
	}
	n.gas(r, "abandon", &res.Tx)
	r.Reason = fmt.Sprintf("abandoned: %s; fee %v of stake %s", why, res.Abandoned.Fee, r.LockedStake)
	log.Warn("abandoned the job", "why", why, "fee", res.Abandoned.Fee, "reopened", res.Abandoned.Reopened)
	return StepAbandoned, nil
}

// tooLateToExecute reports why a locked job can no longer be executed and committed before
// its commit deadline, given the measured execution time of rows rows ("" while it can).
func (n *Node) tooLateToExecute(ctx context.Context, r *Record, rows int) (string, error) {
	cl, err := n.class(r)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	e := n.est[cl.ID()]
	n.mu.Unlock()
	if e == nil {
		return "", nil
	}
	bt, err := n.blockTime(ctx)
	if err != nil {
		return "", err
	}
	now, err := n.chainTime(ctx)
	if err != nil {
		return "", err
	}
	need := seconds(n.need(e.ExecPerRow*time.Duration(rows), bt, n.cfg.Safety.TxBlocks))
	if now+need > r.CommitBy {
		return fmt.Sprintf("executing and committing needs %d s, the commit deadline is %d s away", need, int64(r.CommitBy)-int64(now)), nil
	}
	return "", nil
}
