package demo

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/contracts/bindings"
	"github.com/probitylabs/probity/verifier"
)

// tokenHolders are the accounts whose balances the demo accounts for.
func (r *run) tokenHolders() ([]string, []common.Address) {
	names := []string{"buyer", "watcher"}
	addrs := []common.Address{r.buyer.Address(), r.watcher.Address()}
	for _, role := range roles {
		names = append(names, role+" provider")
		addrs = append(addrs, crypto.PubkeyToAddress(r.provs[role].key.PublicKey))
	}
	names = append(names, "registry (stake)", "SLA manager (escrow)", "challenges (bonds)")
	addrs = append(addrs, r.sim.Addresses.Providers, r.sim.Addresses.Manager, r.sim.Addresses.Challenges)
	return names, addrs
}

func (r *run) balances(ctx context.Context) ([]*big.Int, error) {
	_, addrs := r.tokenHolders()
	out := make([]*big.Int, len(addrs))
	for i, a := range addrs {
		b, err := r.buyer.Market().TokenBalance(ctx, a)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// settleAccounts withdraws the credits, prints the balances and checks where the tokens went.
func (r *run) settleAccounts(ctx context.Context, before []*big.Int) error {
	r.printf("\nAct 6: withdrawals and balances (tokens)\n")
	refund, err := r.buyer.Withdraw(ctx)
	if err != nil {
		return fmt.Errorf("demo: buyer withdraw: %w", err)
	}
	bounty, err := r.watcher.Withdraw(ctx)
	if err != nil {
		return fmt.Errorf("demo: watcher withdraw: %w", err)
	}
	r.printf("  buyer withdrew %s (3 escrows back + slashed stakes - bounties); watcher withdrew %s in bounties\n", tokens(refund), tokens(bounty))
	after, err := r.balances(ctx)
	if err != nil {
		return err
	}
	names, addrs := r.tokenHolders()
	sb, sa := new(big.Int), new(big.Int)
	for i := range names {
		d := new(big.Int).Sub(after[i], before[i])
		r.sum.Balances = append(r.sum.Balances, Balance{Name: names[i], Address: addrs[i], Before: before[i].String(),
			After: after[i].String(), Delta: d.String()})
		r.printf("  %-22s %14s -> %14s  (%s)\n", names[i], tokens(before[i]), tokens(after[i]), signed(d))
		sb.Add(sb, before[i])
		sa.Add(sa, after[i])
	}
	r.sum.Conserved = sb.Cmp(sa) == 0
	if !r.sum.Conserved {
		return fmt.Errorf("%w: token balances summed to %s before and %s after", ErrUnexpected, sb, sa)
	}
	// Where the tokens must have gone (settlement.md §3, §10, protocol.md §10): the buyer paid
	// the honest price from its deposit and got the other three escrows back plus the slashed
	// stakes less the bounties; the honest provider's node collected the price; the watcher
	// earned the bounties (its bond came back); the registry lost exactly the three reserved
	// stakes; the manager and the challenge contract hold nothing.
	price := r.o.Price
	slashed := []*Job{r.sum.Job(RoleLazy), r.sum.Job(RoleSilent), r.sum.Job(RoleTargeted)}
	gains, bounties, stakes := new(big.Int), new(big.Int), new(big.Int)
	for _, j := range slashed {
		gains.Add(gains, new(big.Int).Sub(bigOf(j.Stake), bigOf(j.Bounty)))
		bounties.Add(bounties, bigOf(j.Bounty))
		stakes.Add(stakes, bigOf(j.Stake))
	}
	escrows := new(big.Int).Mul(price, big.NewInt(int64(len(slashed))))
	want := []*big.Int{
		new(big.Int).Add(escrows, gains), bounties,
		new(big.Int).Set(price), new(big.Int), new(big.Int), new(big.Int),
		new(big.Int).Neg(stakes),
		new(big.Int).Neg(new(big.Int).Mul(price, big.NewInt(int64(len(roles))))),
		new(big.Int),
	}
	for i := range want {
		if d := new(big.Int).Sub(after[i], before[i]); d.Cmp(want[i]) != 0 {
			return fmt.Errorf("%w: the %s's balance changed by %s, want %s", ErrUnexpected, names[i], d, want[i])
		}
	}
	r.printf("  conserved: the balances sum to %s tokens before and after; each cheater lost its reserved stake\n", tokens(sa))
	return nil
}

// jobGas is the gas of every transaction that emitted one of the job's events, by the
// manager function it called (the honest provider's collect included).
func (r *run) jobGas(ctx context.Context, id *big.Int) (map[string]uint64, error) {
	evs, err := r.buyer.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	abi, err := bindings.SLAManagerMetaData.ParseABI()
	if err != nil {
		return nil, err
	}
	cabi, err := bindings.ChallengeManagerMetaData.ParseABI()
	if err != nil {
		return nil, err
	}
	backend := r.sim.Chain.Client()
	gas, seen := map[string]uint64{}, map[common.Hash]bool{}
	for _, ev := range evs {
		h := ev.Info().TxHash
		if seen[h] {
			continue
		}
		seen[h] = true
		tx, _, err := backend.TransactionByHash(ctx, h)
		if err != nil {
			return nil, err
		}
		rcpt, err := backend.TransactionReceipt(ctx, h)
		if err != nil {
			return nil, err
		}
		name := "other"
		if len(tx.Data()) >= 4 {
			if m, err := abi.MethodById(tx.Data()[:4]); err == nil {
				name = m.Name
			} else if m, err := cabi.MethodById(tx.Data()[:4]); err == nil {
				name = m.Name
			}
		}
		gas[name] += rcpt.GasUsed
	}
	return gas, nil
}

func sortedKeys(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// audit runs the verifier on a receipt file under a policy pinned to this chain, this manager
// and the small class with its verifying key, accepting the "none" attestation mode (no GPU
// here), with the model for the detection bounds: offline (the seed block's hash unconfirmed,
// which the policy accepts), or cross-checked against the chain. The auditor is offline, so its
// policy says it accepts an unconfirmed receipt (the seed block's hash taken from the
// receipt): without AllowUnconfirmed the verdict would be "unconfirmed", not OK.
func (r *run) audit(ctx context.Context, path string, onChain bool) (*verifier.Report, error) {
	vk, ok := r.keys.VK.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("demo: the class's verifying key is a %T", r.keys.VK)
	}
	manager := r.sim.Addresses.Manager
	policy := verifier.Policy{ChainID: r.gov.ChainID(), Manager: &manager,
		Classes: []verifier.Class{{Class: r.class, VK: vk}}, AllowNoAttestation: true, MinSlots: 1,
		AllowUnconfirmed: true}
	opts := verifier.Options{Model: r.model}
	if onChain {
		// The same audit confirmed by the chain: the seed block's hash, JobProved's receipt
		// digest, the commitment and the provider's node key.
		policy.AllowUnconfirmed = false
		opts.Chain = verifier.MarketChain{Market: r.watcher.Market(), Headers: r.sim.Chain.Client()}
	}
	return verifier.AuditFile(ctx, path, policy, opts)
}
