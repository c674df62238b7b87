package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Account commands: stake and unbond (providers), withdraw credit, read balances.

func init() {
	register("stake", "provider: approve and stake tokens (registers the account on first use)", runStake)
	register("unbond", "provider: move free stake to unbonding, or withdraw it after the delay", runUnbond)
	register("withdraw", "pay out the account's credit (refunds, payments, slashed stake, bounties)", runWithdraw)
	register("balance", "an account's token balance, credit and stake", runBalance)
}

func runStake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("stake", "stake --amount X [--node-key-address ADDR] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Approves the provider registry and stakes X tokens from the --key account. The first stake\n"+
		"registers the account as a provider whose receipts are signed by --node-key-address\n"+
		"(default: the account itself, as a prover without nodeKeyFile signs); later ones add to it.", stderr)
	n := addNetFlags(fs, true)
	amount := fs.String("amount", "", amountHelp)
	nodeKey := fs.String("node-key-address", "", "`address` of the key that signs receipts (registration only)")
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
	registered, err := c.Stake(ctx, nk, v)
	if err != nil {
		return fromChain(err)
	}
	st, err := c.ProviderStake(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	what := "added"
	if registered {
		what = "registered with node key " + st.NodeKey.Hex() + " and staked"
	}
	fmt.Fprintf(stdout, "%s %s %s; free stake %s, reserved %s\n", c.Address().Hex(), what, formatAmount(v),
		formatAmount(st.Free), formatAmount(st.Reserved))
	return nil
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
	if *withdraw {
		before, err := c.ProviderStake(ctx, c.Address())
		if err != nil {
			return fromChain(err)
		}
		if to == nil {
			to = ptr(c.Address())
		}
		if _, err := c.Chain().WithdrawUnbondedTo(ctx, *to); err != nil {
			return fromChain(fmt.Errorf("withdraw unbonded stake: %w", err))
		}
		fmt.Fprintf(stdout, "withdrew %s unbonded stake to %s\n", formatAmount(before.Unbonding), to.Hex())
		return nil
	}
	if _, err := c.Chain().RequestUnbond(ctx, v); err != nil {
		return fromChain(fmt.Errorf("unbond: %w", err))
	}
	p, err := c.Chain().ProviderOf(ctx, c.Address())
	if err != nil {
		return fromChain(err)
	}
	fmt.Fprintf(stdout, "unbonding %s (free %s); `probity unbond --withdraw` after %s\n", formatAmount(p.Unbonding),
		formatAmount(p.Free), unixTime(p.UnbondReadyAt))
	return nil
}

func runWithdraw(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("withdraw", "withdraw [--to ADDR] --key FILE [--rpc URL] [--deployment FILE]\n\n"+
		"Pays out the account's credit at the SLA manager, to the account or to --to: cancelled\n"+
		"escrow, payments for settled jobs, slashed stake and slashing bounties are credited first.", stderr)
	n := addNetFlags(fs, true)
	toFlag := fs.String("to", "", "pay to this `address` instead of the account (e.g. a cold wallet)")
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
	fmt.Fprintf(stdout, "withdrew %s to %s\n", formatAmount(v), to.Hex())
	return nil
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
	Credit  string         `json:"credit"`
	Stake   *stakeReport   `json:"stake,omitempty"`
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
		"Prints ADDR's (default: the --key account's) token balance, credit at the SLA manager\n"+
		"(collect it with `probity withdraw`) and, for providers, stake. Amounts in token units.", stderr)
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
	bal, err := c.Chain().TokenBalance(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	credit, err := c.Chain().CreditOf(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	p, err := c.Chain().ProviderOf(ctx, who)
	if err != nil {
		return fromChain(err)
	}
	r := balanceReport{Account: who, Token: formatAmount(bal), Credit: formatAmount(credit)}
	if p.NodeKey != (common.Address{}) {
		r.Stake = &stakeReport{NodeKey: p.NodeKey, Free: formatAmount(p.Free), Reserved: formatAmount(p.Reserved),
			Unbonding: formatAmount(p.Unbonding), UnbondReadyAt: p.UnbondReadyAt}
	}
	if *asJSON {
		return writeJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "account   %s\ntoken     %s\ncredit    %s\n", who.Hex(), r.Token, r.Credit)
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
