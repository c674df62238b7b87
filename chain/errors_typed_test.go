package chain

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"

	"github.com/probitylabs/probity/contracts/bindings"
)

// Every custom error of every contract decodes to the *ContractError of its binding's struct
// (named after the error), which still matches ErrReverted and the *RevertError by name.
func TestEveryContractErrorIsTyped(t *testing.T) {
	n := 0
	for _, md := range []*bind.MetaData{
		&bindings.SLAManagerMetaData, &bindings.ProviderRegistryMetaData, &bindings.ClassRegistryMetaData,
		&bindings.ChallengeManagerMetaData, &bindings.ResultHasherMetaData, &bindings.DevTokenMetaData,
		&bindings.Groth16VerifierMetaData,
	} {
		parsed, err := md.ParseABI()
		if err != nil {
			t.Fatal(err)
		}
		for name, e := range parsed.Errors {
			n++
			// Zero words decode as every static type, and as an empty string or bytes.
			data := append(append([]byte{}, e.ID[:4]...), make([]byte, 32*(len(e.Inputs)+1))...)
			got := decodeRevert(dataErr{fmt.Sprintf("0x%x", data)})
			if typeName := fmt.Sprintf("%T", got); !strings.HasPrefix(typeName, "*chain.ContractError[") || !strings.HasSuffix(typeName, name+"]") {
				t.Errorf("%s decodes to %s: run `go generate ./chain` (errors_table.go)", e.Sig, typeName)
				continue
			}
			if !errors.Is(got, ErrReverted) || !IsRevert(got, name) {
				t.Errorf("%s: %v does not match ErrReverted and its name", e.Sig, got)
			}
		}
	}
	if n < len(typedErrors) {
		t.Fatalf("the table has %d selectors, the ABIs %d errors", len(typedErrors), n)
	}
}

func TestContractErrorArgs(t *testing.T) {
	parsed, err := bindings.SLAManagerMetaData.ParseABI()
	if err != nil {
		t.Fatal(err)
	}
	e := parsed.Errors["WrongState"]
	args, err := e.Inputs.Pack(big.NewInt(7), uint8(StateLocked))
	if err != nil {
		t.Fatal(err)
	}
	got := decodeRevert(fmt.Errorf("sending: %w", dataErr{fmt.Sprintf("0x%x%x", e.ID[:4], args)}))
	var ws *ContractError[bindings.SLAManagerWrongState]
	if !errors.As(got, &ws) || ws.Args.JobId.Int64() != 7 || JobState(ws.Args.State) != StateLocked {
		t.Fatalf("got %#v", got)
	}
	if want := "job 7 is Locked, which this call does not allow"; got.Error() != want {
		t.Fatalf("message %q, want %q", got.Error(), want)
	}
	// Built by a caller before sending: not a revert.
	var pre error = &ContractError[bindings.SLAManagerWrongState]{Args: ws.Args}
	var re *RevertError
	if errors.Is(pre, ErrReverted) || errors.As(pre, &re) {
		t.Fatalf("a pre-check error matches a revert: %v", pre)
	}
	if pre.Error() != got.Error() {
		t.Fatalf("pre-check message %q", pre.Error())
	}
}
