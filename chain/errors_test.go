package chain

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/probitylabs/probity/contracts/bindings"
)

type dataErr struct{ data any }

func (e dataErr) Error() string  { return "execution reverted" }
func (e dataErr) ErrorData() any { return e.data }

func TestDecodeRevertKnownError(t *testing.T) {
	abi, err := bindings.SLAManagerMetaData.ParseABI()
	if err != nil {
		t.Fatal(err)
	}
	data, err := abi.Errors["Unauthorized"].Inputs.Pack(common.HexToAddress("0x01"), common.HexToAddress("0x02"))
	if err != nil {
		t.Fatal(err)
	}
	id := abi.Errors["Unauthorized"].ID
	data = append(append([]byte{}, id[:4]...), data...)
	got := decodeRevert(fmt.Errorf("estimating: %w", dataErr{fmt.Sprintf("0x%x", data)}))
	if !IsRevert(got, "Unauthorized") || !errors.Is(got, ErrReverted) {
		t.Fatalf("got %v", got)
	}
	var re *RevertError
	errors.As(got, &re)
	if re.Args[1] != common.HexToAddress("0x02") {
		t.Fatalf("args %v", re.Args)
	}
}

func TestDecodeRevertUnknownAndPlain(t *testing.T) {
	if got := decodeRevert(dataErr{"0xdeadbeef"}); !errors.Is(got, ErrReverted) || !IsRevert(got, "") {
		t.Fatalf("unknown selector: %v", got)
	}
	plain := errors.New("connection refused")
	if got := decodeRevert(plain); errors.Is(got, ErrReverted) || !errors.Is(got, plain) {
		t.Fatalf("plain error: %v", got)
	}
	if got := decodeRevert(dataErr{42}); errors.Is(got, ErrReverted) {
		t.Fatalf("non-string data: %v", got)
	}
}

// FuzzDecodeRevert: any revert data from a node decodes without panicking, and
// the decoded error keeps the bytes.
func FuzzDecodeRevert(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xde, 0xad, 0xbe, 0xef})
	id := knownErrorsSample()
	f.Add(id)
	f.Add(append(id, make([]byte, 31)...))
	f.Add(append(id, new(big.Int).Lsh(big.NewInt(1), 255).Bytes()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := decodeRevert(dataErr{fmt.Sprintf("0x%x", data)})
		var re *RevertError
		if !errors.As(err, &re) {
			t.Fatalf("not a RevertError: %v", err)
		}
		if string(re.Data) != string(data) {
			t.Fatal("data not kept")
		}
		_ = re.Error()
	})
}

func knownErrorsSample() []byte {
	for id := range knownErrors {
		return id[:]
	}
	return nil
}

// wrapsNil wraps a *RevertError it does not have, as a typed error built without a revert does.
type wrapsNil struct{ cause *RevertError }

func (e *wrapsNil) Error() string { return "no revert" }
func (e *wrapsNil) Unwrap() error { return e.cause }

func TestNilRevertErrorUnwrapsToNothing(t *testing.T) {
	var err error = &wrapsNil{}
	var re *RevertError
	if !errors.As(err, &re) || re != nil {
		t.Fatalf("errors.As found %v", re)
	}
	var other *TxFailedError
	if errors.As(err, &other) {
		t.Fatal("found a TxFailedError in an error without one")
	}
}
