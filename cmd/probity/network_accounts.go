package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Account commands: stake and unbond (providers), deposit escrow (buyers), withdraw the
// manager balance, read balances.

func init() {
	register("stake", "provider: approve and stake tokens (registers the account on first use)", runStake)
	register("unbond", "provider: move free stake to unbonding, or withdraw it after the delay", runUnbond)
	register("deposit", "buyer: move tokens into the escrow balance signed offers are paid from", runDeposit)
	register("withdraw", "pay out the account's manager balance (refunds, payments, slashed stake, bounties)", runWithdraw)
	register("balance", "an account's token balance, manager balance and stake", runBalance)
}

func runStake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("stake", "stake --amount X [--node-key-address ADDR] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Approves the provider registry and stakes X tokens from the --key account. The first stake\n"+
		"registers the account as a provider whose receipts are signed by --node-key-address\n"+
		"(default: the account itself, as a prover without nodeKeyFile signs); later ones add to it.", stderr)
	n := addNetFlags(fs, true)
	amount := fs.String("amount", "", amountHelp)
	nodeKey := fs.String("node-key-address", "", "`address` of the key that signs receipts (registration only)")
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	v, err := parseAmount("amount", *amount)
	if err != nil {
		return err
	}
	var nk common.Address
	if *nodeKey != "" {
		if nk, err = parseAddress("--node-key-address", *nodeKey); err != nil {
			return err
		}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	m := c.Market()
	p, err := m.ProviderOf(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	registered := p.NodeKey != (common.Address{})
	if registered && nk != (common.Address{}) && nk != p.NodeKey {
		return usageError{fmt.Sprintf("--node-key-address: %s is registered with node key %s already; --node-key-address is for the first stake only",
			c.Address().Hex(), p.NodeKey.Hex())}
	}
	if _, err := m.Approve(ctx, c.Addresses().Providers, v); err != nil {
		return fromChain(fmt.Errorf("approve the provider registry: %w", err))
	}
	if registered {
		_, err = m.AddStake(ctx, v)
	} else {
		if nk == (common.Address{}) {
			nk = c.Address()
		}
		_, err = m.Register(ctx, nk, v)
	}
	if err != nil {
		return fromChain(fmt.Errorf("stake: %w", err))
	}
	st, err := m.ProviderOf(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	what := "added"
	if !registered {
		what = "registered with node key " + st.NodeKey.Hex() + " and staked"
	}
	r := stakedReport{Account: c.Address(), Registered: !registered, NodeKey: st.NodeKey, Staked: formatAmount(v),
		Free: formatAmount(st.Free), Reserved: formatAmount(st.Reserved)}
	return emit(stdout, *asJSON, r, "%s %s %s; free stake %s, reserved %s", r.Account.Hex(), what, r.Staked, r.Free, r.Reserved)
}

// stakedReport is `stake --json`; Registered: this stake registered the provider.
type stakedReport struct {
	Account    common.Address `json:"account"`
	Registered bool           `json:"registered"`
	NodeKey    common.Address `json:"nodeKey"`
	Staked     string         `json:"staked"`
	Free       string         `json:"free"`
	Reserved   string         `json:"reserved"`
}

func runUnbond(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("unbond", "unbond --amount X | --withdraw [--to ADDR]  --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"--amount moves X of the free stake to unbonding, where it stays slashable for the\n"+
		"deployment's unbonding delay (each request restarts the delay for the whole amount);\n"+
		"--withdraw then pays the unbonded stake out, to the account or to --to.", stderr)
	n := addNetFlags(fs, true)
	amount := fs.String("amount", "", amountHelp)
	withdraw := fs.Bool("withdraw", false, "pay out the unbonded stake (after the delay)")
	toFlag := fs.String("to", "", "with --withdraw: pay to this `address` instead of the account (e.g. a cold wallet)")
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if (*amount == "") == !*withdraw {
		return usageError{"give exactly one of --amount X and --withdraw"}
	}
	if *toFlag != "" && !*withdraw {
		return usageError{"--to goes with --withdraw"}
	}
	to, err := recipient(*toFlag)
	if err != nil {
		return err
	}
	var v *big.Int
	if !*withdraw {
		if v, err = parseAmount("amount", *amount); err != nil {
			return err
		}
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	m := c.Market()
	if *withdraw {
		before, err := m.ProviderOf(ctx, c.Address())
		if err != nil {
			return fromChain(err)
		}
		if to == nil {
			to = ptr(c.Address())
		}
		if _, err := m.WithdrawUnbondedTo(ctx, *to); err != nil {
			return fromChain(fmt.Errorf("withdraw unbonded stake: %w", err))
		}
		r := unbondReport{Withdrawn: formatAmount(before.Unbonding), To: to}
		return emit(stdout, *asJSON, r, "withdrew %s unbonded stake to %s", r.Withdrawn, to.Hex())
	}
	if _, err := m.RequestUnbond(ctx, v); err != nil {
		return fromChain(fmt.Errorf("unbond: %w", err))
	}
	p, err := m.ProviderOf(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	r := unbondReport{Unbonding: formatAmount(p.Unbonding), Free: formatAmount(p.Free), ReadyAt: p.UnbondReadyAt}
	return emit(stdout, *asJSON, r, "unbonding %s (free %s); `probity unbond --withdraw` after %s", r.Unbonding, r.Free, unixTime(r.ReadyAt))
}

// unbondReport is `unbond --json`: Withdrawn and To after --withdraw, the rest after --amount.
type unbondReport struct {
	Unbonding string          `json:"unbonding,omitempty"`
	Free      string          `json:"free,omitempty"`
	ReadyAt   uint64          `json:"readyAt,omitempty"` // unix time the unbonded stake can be withdrawn
	Withdrawn string          `json:"withdrawn,omitempty"`
	To        *common.Address `json:"to,omitempty"`
}

func runDeposit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("deposit", "deposit --amount X --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Approves the SLA manager and moves X tokens into the account's escrow balance there. A\n"+
		"signed offer (`probity ask --book`) is escrowed from this balance when a provider locks\n"+
		"it, so a buyer that deposits ahead sends no transaction per job. `probity withdraw` pays\n"+
		"back what no job holds.", stderr)
	n := addNetFlags(fs, true)
	amount := fs.String("amount", "", amountHelp)
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	v, err := parseAmount("amount", *amount)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if err := c.Deposit(ctx, v); err != nil {
		return fromChain(err)
	}
	esc, err := c.Market().EscrowBalanceOf(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	r := struct {
		Deposited string `json:"deposited"`
		Escrow    string `json:"escrow"`
	}{formatAmount(v), formatAmount(esc)}
	return emit(stdout, *asJSON, r, "deposited %s; escrow balance %s", r.Deposited, r.Escrow)
}

func runWithdraw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("withdraw", "withdraw [--to ADDR] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Pays out the account's balance at the SLA manager, to the account or to --to: deposits no\n"+
		"job holds, cancelled escrow, payments for settled jobs, slashed stake and slashing\n"+
		"bounties. A proved job with a challenge window pays its provider once it is finalized\n"+
		"(`probity job finalize ID`, anyone may; the prover node collects its own).", stderr)
	n := addNetFlags(fs, true)
	toFlag := fs.String("to", "", "pay to this `address` instead of the account (e.g. a cold wallet)")
	asJSON := jsonFlag(fs)
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	to, err := recipient(*toFlag)
	if err != nil {
		return err
	}
	c, err := n.connect(ctx, true)
	if err != nil {
		return err
	}
	if to == nil {
		to = ptr(c.Address())
	}
	v, err := c.WithdrawTo(ctx, *to)
	if err != nil {
		return fromChain(err)
	}
	r := struct {
		Withdrawn string         `json:"withdrawn"`
		To        common.Address `json:"to"`
	}{formatAmount(v), *to}
	return emit(stdout, *asJSON, r, "withdrew %s to %s", r.Withdrawn, to.Hex())
}

// recipient reads --to: nil when not given. The zero address is refused here, as the
// contracts would refuse it (tokens sent there are gone).
func recipient(s string) (*common.Address, error) {
	if s == "" {
		return nil, nil
	}
	a, err := parseAddress("--to", s)
	if err != nil {
		return nil, err
	}
	if a == (common.Address{}) {
		return nil, usageError{"--to is the zero address: tokens sent there are lost"}
	}
	return &a, nil
}

func ptr[T any](v T) *T { return &v }

// balanceReport is `balance --json`; amounts are decimal token units.
type balanceReport struct {
	Account common.Address `json:"account"`
	Token   string         `json:"token"`
	// Balance is what `probity withdraw` pays now; Escrow the part of it offers are paid from
	// (the rest is slashed-stake credit, paid out but never escrowed).
	Balance string       `json:"balance"`
	Escrow  string       `json:"escrow"`
	Stake   *stakeReport `json:"stake,omitempty"`
}

type stakeReport struct {
	NodeKey       common.Address `json:"nodeKey"`
	Free          string         `json:"free"`
	Reserved      string         `json:"reserved"`
	Unbonding     string         `json:"unbonding"`
	UnbondReadyAt uint64         `json:"unbondReadyAt,omitempty"`
}

func runBalance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("balance", "balance [ADDR] [--json] [--key FILE] [--rpc URL] [--deployment FILE]\n\n"+
		"Prints ADDR's (default: the --key account's) token balance, its balance at the SLA\n"+
		"manager (what `probity withdraw` pays; the escrow part pays offers at lock) and, for\n"+
		"providers, stake. Amounts in token units.", stderr)
	n := addNetFlags(fs, true)
	asJSON := fs.Bool("json", false, "print JSON")
	done, pos, err := parseInterspersed(fs, args)
	if done || err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[1])}
	}
	var who common.Address
	if len(pos) == 1 {
		if who, err = parseAddress("account", pos[0]); err != nil {
			return err
		}
	}
	c, err := n.connect(ctx, len(pos) == 0)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		who = c.Address()
	}
	m := c.Market()
	bal, err := m.TokenBalance(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	total, err := m.BalanceOf(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	esc, err := m.EscrowBalanceOf(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	p, err := m.ProviderOf(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	r := balanceReport{Account: who, Token: formatAmount(bal), Balance: formatAmount(total), Escrow: formatAmount(esc)}
	if p.NodeKey != (common.Address{}) {
		r.Stake = &stakeReport{NodeKey: p.NodeKey, Free: formatAmount(p.Free), Reserved: formatAmount(p.Reserved),
			Unbonding: formatAmount(p.Unbonding), UnbondReadyAt: p.UnbondReadyAt}
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "account   %s\ntoken     %s\nbalance   %s at the manager (escrow %s)\n", who.Hex(), r.Token, r.Balance, r.Escrow)
	if s := r.Stake; s != nil {
		fmt.Fprintf(stdout, "stake     free %s, reserved %s, unbonding %s (node key %s)\n", s.Free, s.Reserved, s.Unbonding, s.NodeKey.Hex())
		if p.Unbonding.Sign() > 0 {
			fmt.Fprintf(stdout, "unbonded  after %s\n", unixTime(p.UnbondReadyAt))
		}
	} else {
		fmt.Fprintln(stdout, "stake     not a registered provider")
	}
	return nil
}

// unixTime prints chain time (unix seconds) readably, with the raw number scripts compare.
func unixTime(t uint64) string {
	if t == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", time.Unix(int64(t), 0).UTC().Format(time.RFC3339), t)
}
