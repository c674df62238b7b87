package jobs

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/protocol"
)

const offerVectorsPath = "../testdata/vectors/offer.json"

type offerVectors struct {
	Buyer string
	Valid []struct {
		JobFile, JobDigest, Secret, Offer, JobID string
	}
	Invalid []struct{ Name, Offer, Expect string }
}

func loadOfferVectors(t testing.TB) offerVectors {
	t.Helper()
	b, err := os.ReadFile(offerVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v offerVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func vectorKey(t testing.TB) *ecdsaKey {
	t.Helper()
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("probity offer vector buyer")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestOfferVectors parses every valid offer of offer.json, re-encodes it byte for byte,
// recomputes its job id, checks it as a provider would (its chain and manager, before its lock
// deadline), checks the vector's job file against it, and signs it again from the fixed key to
// the same document; every invalid document is refused with an error naming its field.
func TestOfferVectors(t *testing.T) {
	v := loadOfferVectors(t)
	key := vectorKey(t)
	if got := hexAddr(crypto.PubkeyToAddress(key.PublicKey)); got != v.Buyer {
		t.Fatalf("vector buyer %s, key gives %s", v.Buyer, got)
	}
	if len(v.Valid) == 0 || len(v.Invalid) == 0 {
		t.Fatal("no vectors")
	}
	for i, c := range v.Valid {
		o, err := ParseOffer([]byte(c.Offer))
		if err != nil {
			t.Fatalf("valid[%d]: %v", i, err)
		}
		enc, err := o.Encode()
		if err != nil || string(enc) != c.Offer {
			t.Fatalf("valid[%d]: re-encoded %s (%v)", i, enc, err)
		}
		id, err := o.Check(o.ChainID, o.Manager, o.Request.LockBy)
		if err != nil {
			t.Fatalf("valid[%d]: Check: %v", i, err)
		}
		if id.String() != c.JobID {
			t.Fatalf("valid[%d]: job id %s, vector %s", i, id, c.JobID)
		}
		if secret := hexutil.MustDecode(c.Secret); [32]byte(secret) != ([32]byte{}) && protocol.SeedCommitment([32]byte(secret)) != o.Request.SeedCommitment {
			t.Fatalf("valid[%d]: seed commitment is not the secret's", i)
		}
		j, err := CheckJobFile(o.Request, hexutil.MustDecode(c.JobFile))
		if err != nil {
			t.Fatalf("valid[%d]: job file: %v", i, err)
		}
		if d, _ := j.Digest(); commit.ToBig(d).String() != c.JobDigest {
			t.Fatalf("valid[%d]: job digest %s, vector %s", i, commit.ToBig(d), c.JobDigest)
		}
		again, err := SignOffer(key, o.ChainID, o.Manager, o.Request, o.JobURI)
		if err != nil {
			t.Fatal(err)
		}
		if enc, _ := again.Encode(); string(enc) != c.Offer {
			t.Fatalf("valid[%d]: signing again gives %s", i, enc)
		}
	}
	for _, c := range v.Invalid {
		_, err := ParseOffer([]byte(c.Offer))
		if !errors.Is(err, ErrOffer) || !strings.Contains(err.Error(), c.Expect) {
			t.Errorf("%s: got %v, want ErrOffer naming %q", c.Name, err, c.Expect)
		}
	}
}

type ecdsaKey = ecdsa.PrivateKey

func testOffer(t *testing.T) (*Offer, *ecdsaKey, []byte) {
	t.Helper()
	v := loadOfferVectors(t)
	o, err := ParseOffer([]byte(v.Valid[0].Offer))
	if err != nil {
		t.Fatal(err)
	}
	return o, vectorKey(t), hexutil.MustDecode(v.Valid[0].JobFile)
}

// TestOfferCheckRefuses: each thing a provider must check, broken alone, is refused with its
// own error, and an altered request no longer recovers to the buyer.
func TestOfferCheckRefuses(t *testing.T) {
	o, key, _ := testOffer(t)
	now := o.Request.LockBy
	if _, err := o.Check(o.ChainID, o.Manager, now); err != nil {
		t.Fatal(err)
	}
	other := common.HexToAddress("0x00000000000000000000000000000000000000ee")
	cases := []struct {
		name  string
		check func() error
		want  error
	}{
		{"other chain", func() error { _, err := o.Check(big.NewInt(1), o.Manager, now); return err }, ErrOfferDomain},
		{"other manager", func() error { _, err := o.Check(o.ChainID, other, now); return err }, ErrOfferDomain},
		{"past lockBy", func() error { _, err := o.Check(o.ChainID, o.Manager, now+1); return err }, ErrOfferExpired},
		{"altered price", func() error {
			p := *o
			p.Request.Price = new(big.Int).Add(o.Request.Price, big.NewInt(1))
			_, err := p.Check(o.ChainID, o.Manager, now)
			return err
		}, ErrOfferSignature},
		{"zero price", func() error {
			p := *o
			p.Request.Price = new(big.Int)
			_, err := p.Check(o.ChainID, o.Manager, now)
			return err
		}, ErrOfferTerms},
		{"high s", func() error {
			p := *o
			p.Signature = malleate(o.Signature)
			_, err := p.Check(o.ChainID, o.Manager, now)
			return err
		}, ErrOfferSignature},
		{"v is 1", func() error {
			p := *o
			p.Signature = append([]byte{}, o.Signature...)
			p.Signature[64] -= 27
			_, err := p.Check(o.ChainID, o.Manager, now)
			return err
		}, ErrOfferSignature},
	}
	for _, c := range cases {
		if err := c.check(); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// The malleated signature does recover to the buyer: only the s bound refuses it, as
	// the manager's ECDSA library does.
	mal := malleate(o.Signature)
	mal[64] = 55 - mal[64] // the other parity: (r, n - s) recovers the same key
	id, _ := o.JobID()
	var d [32]byte
	id.FillBytes(d[:])
	plain := append([]byte{}, mal...)
	plain[64] -= 27
	if pub, err := crypto.SigToPub(d[:], plain); err != nil || crypto.PubkeyToAddress(*pub) != o.Request.Buyer {
		t.Fatalf("malleated signature does not recover to the buyer (%v): the test proves nothing", err)
	}
	if _, err := SignOffer(key, o.ChainID, o.Manager, protocol.Request{Buyer: other}, o.JobURI); !errors.Is(err, ErrOfferSignature) {
		t.Fatalf("signing another buyer's request: %v", err)
	}
}

// malleate returns (r, n - s, v) with v still in {27, 28} but not flipped, so it is both
// high-s and, unflipped, recovers to someone else: either way not a valid signature.
func malleate(sig []byte) []byte {
	n := crypto.S256().Params().N
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:64]))
	out := append([]byte{}, sig...)
	s.FillBytes(out[32:64])
	return out
}

// TestCheckJobFileRefuses: a job file that is not the one the request signed is refused before
// any lock, naming what differs; one that does not parse is a job file error.
func TestCheckJobFileRefuses(t *testing.T) {
	o, _, file := testOffer(t)
	j, err := ParseJob(file)
	if err != nil {
		t.Fatal(err)
	}
	other := *j
	other.Prompt = append([]int32{}, j.Prompt...)
	other.Prompt[0]++
	otherFile, err := EncodeJob(&other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckJobFile(o.Request, otherFile); !errors.Is(err, ErrJobFileMismatch) || !strings.Contains(err.Error(), "jobDigest") {
		t.Fatalf("other prompt: %v", err)
	}
	r := o.Request
	r.NewTokens++
	if _, err := CheckJobFile(r, file); !errors.Is(err, ErrJobFileMismatch) || !strings.Contains(err.Error(), "newTokens") {
		t.Fatalf("other newTokens: %v", err)
	}
	r = o.Request
	r.ModelRoot = new(big.Int).Add(r.ModelRoot, big.NewInt(1))
	if _, err := CheckJobFile(r, file); !errors.Is(err, ErrJobFileMismatch) || !strings.Contains(err.Error(), "modelRoot") {
		t.Fatalf("other modelRoot: %v", err)
	}
	if _, err := CheckJobFile(o.Request, file[:len(file)-1]); err == nil || errors.Is(err, ErrJobFileMismatch) {
		t.Fatalf("truncated file: %v", err)
	}
}

// TestRequestJSONRoundTrip: the exported request spelling marshals canonically inside another
// document and unmarshals strictly.
func TestRequestJSONRoundTrip(t *testing.T) {
	o, _, _ := testOffer(t)
	b, err := json.Marshal(struct {
		Request RequestJSON `json:"request"`
	}{RequestJSON{o.Request}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := AppendRequest([]byte(`{"request":`), o.Request)
	if string(b) != string(want)+"}" {
		t.Fatalf("marshalled %s", b)
	}
	var back struct {
		Request RequestJSON `json:"request"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Request.Hash() != o.Request.Hash() {
		t.Fatal("request changed in the round trip")
	}
	bad := strings.Replace(string(b), `"lockBy"`, `"lockBy":1,"lockBy"`, 1)
	if err := json.Unmarshal([]byte(bad), &back); !errors.Is(err, ErrOffer) || !strings.Contains(err.Error(), "request.lockBy") {
		t.Fatalf("duplicate lockBy: %v", err)
	}
}

func signedOffers(t *testing.T, n int) []*Offer {
	t.Helper()
	o, key, _ := testOffer(t)
	var out []*Offer
	for i := range n {
		r := o.Request
		r.Salt = big.NewInt(int64(i))
		s, err := SignOffer(key, o.ChainID, o.Manager, r, o.JobURI)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestOrderBookFile: offers written to a file:// book are listed, read back and indexed; a
// removed one disappears; a file whose name is not its job id's is refused.
func TestOrderBookFile(t *testing.T) {
	dir := t.TempDir()
	book := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	offers := signedOffers(t, 3)
	for _, o := range offers {
		if _, err := WriteOffer(book, o); err != nil {
			t.Fatal(err)
		}
	}
	var br BookReader
	ctx := context.Background()
	entries, err := br.ReadAll(ctx, book)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	for _, e := range entries {
		if e.Err != nil {
			t.Fatal(e.Err)
		}
		id, _ := e.Offer.JobID()
		if e.Name != OfferFile(id) {
			t.Fatalf("%s holds job %s", e.Name, id)
		}
	}
	var index []string
	b, _ := os.ReadFile(filepath.Join(dir, BookIndex))
	if err := json.Unmarshal(b, &index); err != nil || len(index) != 3 {
		t.Fatalf("index %s (%v)", b, err)
	}
	id0, _ := offers[0].JobID()
	if err := RemoveOffer(book, id0); err != nil {
		t.Fatal(err)
	}
	if names, _ := br.List(ctx, book); len(names) != 2 {
		t.Fatalf("after removal: %v", names)
	}
	// Another job's offer under this job's name.
	id1, _ := offers[1].JobID()
	doc, _ := offers[2].Encode()
	if err := os.WriteFile(filepath.Join(dir, OfferFile(id1)), doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := br.Read(ctx, book, OfferFile(id1)); !errors.Is(err, ErrOffer) {
		t.Fatalf("misnamed offer: %v", err)
	}
	if _, err := (&BookReader{MaxEntries: 1}).List(ctx, book); err == nil {
		t.Fatal("a book above MaxEntries was listed")
	}
	if _, err := br.Read(ctx, book, "../x.json"); !errors.Is(err, ErrOffer) {
		t.Fatalf("path in a name: %v", err)
	}
}

// TestOrderBookHTTP: the same directory served over HTTP is read through its index.json; a
// bad index is refused.
func TestOrderBookHTTP(t *testing.T) {
	dir := t.TempDir()
	book := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
	for _, o := range signedOffers(t, 2) {
		if _, err := WriteOffer(book, o); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	br := BookReader{Client: srv.Client()}
	ctx := context.Background()
	entries, err := br.ReadAll(ctx, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Err != nil || entries[1].Err != nil {
		t.Fatalf("entries %+v", entries)
	}
	for _, bad := range []string{`["x.json"]`, `["1.json","1.json"]`, `{}`, `["1.json"] []`, `null`} {
		if err := os.WriteFile(filepath.Join(dir, BookIndex), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := br.List(ctx, srv.URL); err == nil {
			t.Errorf("index %s accepted", bad)
		}
	}
}
