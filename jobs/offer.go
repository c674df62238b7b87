package jobs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/protocol"
)

// Signed offers and order books (specs/settlement.md §8): a buyer signs a request off chain and
// publishes it, with the job URI, as a JSON document in a directory; a provider reads the
// directory, checks each offer (Offer.Check) and the job file it names (CheckJobFile) before
// spending anything, and locks the one it wants with lockRequest or lockAndCommit. Nothing in an
// offer is trusted: the chain recomputes the job id and checks the signature, and the job file
// is checked against the signed job digest.

// OfferVersion is the version string of the offer document.
const OfferVersion = "probity.offer.v1"

// Bounds of an offer and an order book. An offer is about 1.2 KB plus its job URI, so
// MaxOfferBytes leaves room for a long URI and nothing else; a reader refuses more before
// parsing.
const (
	MaxOfferBytes = 8 << 10
	MaxJobURI     = 4 << 10
	// MaxBookEntries bounds the offers a reader takes from one order book listing.
	MaxBookEntries = 4096
	// MaxIndexBytes bounds an order book's index.json (MaxBookEntries names of at most 78
	// digits plus ".json", quoted and separated).
	MaxIndexBytes = MaxBookEntries * 88
	// BookIndex is the file an http(s) order book serves to list its offers.
	BookIndex = "index.json"
)

// ErrOffer matches a malformed offer document: the error names the field.
var ErrOffer = errors.New("malformed offer")

// Why Offer.Check refuses a well-formed offer. Each is matched with errors.Is.
var (
	// ErrOfferDomain: the offer names another chain or manager than the reader's.
	ErrOfferDomain = errors.New("offer for another chain or manager")
	// ErrOfferExpired: the request's lock deadline has passed.
	ErrOfferExpired = errors.New("offer past its lock deadline")
	// ErrOfferSignature: the signature does not recover to the request's buyer.
	ErrOfferSignature = errors.New("offer signature is not the buyer's")
	// ErrOfferTerms: the request fails protocol.Request.Validate.
	ErrOfferTerms = errors.New("offer terms invalid")
)

// ErrJobFileMismatch matches a fetched job file that is not the one a request signed
// (settlement.md §8): a provider refuses the job before any lock.
var ErrJobFileMismatch = errors.New("job file does not match the request")

// Offer is a signed offer (settlement.md §8): a request, its buyer's EIP-712 signature over
// the job id under the manager's domain, and where the job file is. JobURI is not signed.
type Offer struct {
	ChainID   *big.Int
	Manager   common.Address
	Request   protocol.Request
	Signature []byte // 65 bytes r||s||v, v in {27, 28}
	JobURI    string
}

// Domain is the EIP-712 domain the offer's signature is under.
func (o *Offer) Domain() protocol.Domain {
	return protocol.Domain{ChainID: o.ChainID, Contract: o.Manager}
}

// JobID is the job id the offer's request creates on its chain and manager (settlement.md §2).
// It fails for a request whose numbers do not encode (nil, negative or above 256 bits), which
// Parse never returns.
func (o *Offer) JobID() (*big.Int, error) {
	if err := checkEncodable(o.ChainID, o.Request); err != nil {
		return nil, err
	}
	return o.Domain().JobID(o.Request), nil
}

func checkEncodable(chainID *big.Int, r protocol.Request) error {
	for _, f := range []struct {
		name string
		v    *big.Int
	}{{"chainId", chainID}, {"request.modelRoot", r.ModelRoot}, {"request.jobDigest", r.JobDigest}, {"request.price", r.Price}, {"request.salt", r.Salt}} {
		if f.v == nil || f.v.Sign() < 0 || f.v.BitLen() > 256 {
			return fmt.Errorf("%w: %s: %v is not a uint256", ErrOffer, f.name, f.v)
		}
	}
	return nil
}

// SignOffer returns the offer of req under (chainID, manager), signed with the buyer's key
// (which must be req.Buyer's), after the checks Check makes of the terms and the job URI.
func SignOffer(key *ecdsa.PrivateKey, chainID *big.Int, manager common.Address, req protocol.Request, jobURI string) (*Offer, error) {
	if got := crypto.PubkeyToAddress(key.PublicKey); got != req.Buyer {
		return nil, fmt.Errorf("%w: request.buyer is %s, the key is %s's", ErrOfferSignature, hexAddr(req.Buyer), hexAddr(got))
	}
	if err := checkJobURI(jobURI); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("%w: request: %w", ErrOfferTerms, err)
	}
	o := &Offer{ChainID: new(big.Int).Set(chainID), Manager: manager, Request: req, JobURI: jobURI}
	id, err := o.JobID()
	if err != nil {
		return nil, err
	}
	var digest [32]byte
	id.FillBytes(digest[:])
	sig, err := crypto.Sign(digest[:], key)
	if err != nil {
		return nil, fmt.Errorf("signing the offer: %w", err)
	}
	sig[64] += 27 // the manager's (OpenZeppelin's) v
	o.Signature = sig
	return o, nil
}

// Check is what a provider MUST check of an offer before it spends anything (settlement.md §8):
// it names chainID and manager, its request passes Validate, its lock deadline is not before
// now (unix seconds, the chain's clock: lockBy >= now is the contract's test), and the
// signature recovers to the buyer. It returns the job id. A contract buyer (ERC-1271) fails the
// signature check here; only the manager can check its signature, at lock.
func (o *Offer) Check(chainID *big.Int, manager common.Address, now uint64) (*big.Int, error) {
	if o.ChainID == nil || chainID == nil || o.ChainID.Cmp(chainID) != 0 {
		return nil, fmt.Errorf("%w: chainId %v, want %v", ErrOfferDomain, o.ChainID, chainID)
	}
	if o.Manager != manager {
		return nil, fmt.Errorf("%w: manager %s, want %s", ErrOfferDomain, hexAddr(o.Manager), hexAddr(manager))
	}
	if err := o.Request.Validate(); err != nil {
		return nil, fmt.Errorf("%w: request: %w", ErrOfferTerms, err)
	}
	if o.Request.LockBy < now {
		return nil, fmt.Errorf("%w: lockBy %d is before now (%d)", ErrOfferExpired, o.Request.LockBy, now)
	}
	id, err := o.JobID()
	if err != nil {
		return nil, err
	}
	signer, err := recoverSigner(id, o.Signature)
	if err != nil {
		return nil, err
	}
	if signer != o.Request.Buyer {
		return nil, fmt.Errorf("%w: signed by %s, buyer is %s", ErrOfferSignature, hexAddr(signer), hexAddr(o.Request.Buyer))
	}
	return id, nil
}

// secp256k1n / 2: OpenZeppelin's ECDSA, which the manager uses, refuses a larger s (a malleated
// signature), so an offer carrying one could never be locked.
var halfN = new(big.Int).Rsh(crypto.S256().Params().N, 1)

func recoverSigner(jobID *big.Int, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("%w: signature is %d bytes, want 65", ErrOfferSignature, len(sig))
	}
	if v := sig[64]; v != 27 && v != 28 {
		return common.Address{}, fmt.Errorf("%w: signature v is %d, want 27 or 28", ErrOfferSignature, v)
	}
	if new(big.Int).SetBytes(sig[32:64]).Cmp(halfN) > 0 {
		return common.Address{}, fmt.Errorf("%w: signature s is in the upper half (malleable)", ErrOfferSignature)
	}
	var digest [32]byte
	jobID.FillBytes(digest[:])
	plain := slices.Clone(sig)
	plain[64] -= 27
	pub, err := crypto.SigToPub(digest[:], plain)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrOfferSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// CheckJobFile parses a fetched job file strictly and checks it against the request that
// signed it (settlement.md §8): its digest is request.jobDigest, its model root
// request.modelRoot, its new-token count request.newTokens, and its hardware requirement, when
// it states one, the one request.salt commits to. It returns the job, still to be
// checked against the model (GenJob.Check) by whoever holds the model. A mismatch wraps
// ErrJobFileMismatch; a file that does not parse, ErrFile.
func CheckJobFile(req protocol.Request, jobFile []byte) (*GenJob, error) {
	j, err := ParseJob(jobFile)
	if err != nil {
		return nil, err
	}
	d, err := j.Digest()
	if err != nil {
		return nil, err
	}
	if req.JobDigest == nil || commit.ToBig(d).Cmp(req.JobDigest) != 0 {
		return nil, fmt.Errorf("%w: jobDigest: the file's is %s, the request's %s", ErrJobFileMismatch, hexWordBig(commit.ToBig(d)), hexWordBig(req.JobDigest))
	}
	if req.ModelRoot == nil || commit.ToBig(j.ModelRoot).Cmp(req.ModelRoot) != 0 {
		return nil, fmt.Errorf("%w: modelRoot: the file's is %s, the request's %s", ErrJobFileMismatch, hexWordBig(commit.ToBig(j.ModelRoot)), hexWordBig(req.ModelRoot))
	}
	if uint64(j.New) != uint64(req.NewTokens) {
		return nil, fmt.Errorf("%w: newTokens: the file's is %d, the request's %d", ErrJobFileMismatch, j.New, req.NewTokens)
	}
	if j.Hardware != nil {
		// The job digest does not cover the requirement; the request's salt commits to it.
		salt, err := j.Hardware.Salt(j.HardwareNonce)
		if err != nil {
			return nil, err
		}
		if req.Salt == nil || salt.Cmp(req.Salt) != 0 {
			return nil, fmt.Errorf("%w: hardware: the request's salt %s does not commit to the file's requirement (%s)", ErrJobFileMismatch, hexWordBig(req.Salt), hexWordBig(salt))
		}
	}
	return j, nil
}

// ---------------------------------------------------------------- encoding

func hexAddr(a common.Address) string { return "0x" + fmt.Sprintf("%x", a[:]) }

func hexWord(b [32]byte) string { return fmt.Sprintf("0x%x", b[:]) }

func hexWordBig(v *big.Int) string {
	if v == nil || v.Sign() < 0 || v.BitLen() > 256 {
		return fmt.Sprint(v)
	}
	var b [32]byte
	v.FillBytes(b[:])
	return hexWord(b)
}

// jsonString is s as encoding/json spells it, without the HTML escaping (a URI's & stays &).
func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// AppendRequest appends the canonical JSON of a request as offers and receipts spell it
// (settlement.md §8): keys in the EIP-712 order, words as 0x and 64 lower-case hex digits,
// price a decimal string, newTokens, lockBy and the windows JSON numbers, no whitespace. It
// fails for a number that does not fit its field.
func AppendRequest(buf []byte, r protocol.Request) ([]byte, error) {
	if err := checkEncodable(big.NewInt(0), r); err != nil {
		return nil, err
	}
	word := func(v *big.Int) string { return strconv.Quote(hexWordBig(v)) }
	buf = append(buf, `{"buyer":"`+hexAddr(r.Buyer)+`"`...)
	buf = append(buf, `,"classId":"`+hexWord(r.ClassID)+`"`...)
	buf = append(buf, `,"modelRoot":`+word(r.ModelRoot)...)
	buf = append(buf, `,"jobDigest":`+word(r.JobDigest)...)
	buf = append(buf, `,"newTokens":`+strconv.FormatUint(uint64(r.NewTokens), 10)...)
	buf = append(buf, `,"price":"`+r.Price.String()+`"`...)
	buf = append(buf, `,"lockBy":`+strconv.FormatUint(r.LockBy, 10)...)
	buf = append(buf, `,"execWindow":`+strconv.FormatUint(uint64(r.ExecWindow), 10)...)
	buf = append(buf, `,"proveWindow":`+strconv.FormatUint(uint64(r.ProveWindow), 10)...)
	buf = append(buf, `,"challengeWindow":`+strconv.FormatUint(uint64(r.ChallengeWindow), 10)...)
	buf = append(buf, `,"seedCommitment":"`+hexWord(r.SeedCommitment)+`"`...)
	buf = append(buf, `,"salt":`+word(r.Salt)+`}`...)
	return buf, nil
}

// RequestJSON is a request in the spelling of AppendRequest, for embedding in other documents
// (the receipt): it marshals canonically and unmarshals strictly (ParseRequest).
type RequestJSON struct{ protocol.Request }

// MarshalJSON implements json.Marshaler.
func (r RequestJSON) MarshalJSON() ([]byte, error) { return AppendRequest(nil, r.Request) }

// UnmarshalJSON implements json.Unmarshaler with ParseRequest's checks.
func (r *RequestJSON) UnmarshalJSON(b []byte) error {
	q, err := ParseRequest(b)
	if err != nil {
		return err
	}
	r.Request = q
	return nil
}

// Encode returns the canonical offer document: compact JSON, keys in the order of
// settlement.md §8, lower-case hex. Parse(Encode(o)) gives o back.
func (o *Offer) Encode() ([]byte, error) {
	if err := checkEncodable(o.ChainID, o.Request); err != nil {
		return nil, err
	}
	if len(o.Signature) != 65 {
		return nil, fmt.Errorf("%w: signature: %d bytes, want 65", ErrOffer, len(o.Signature))
	}
	if err := checkJobURI(o.JobURI); err != nil {
		return nil, err
	}
	b := []byte(`{"version":"` + OfferVersion + `","chainId":"` + o.ChainID.String() + `","manager":"` + hexAddr(o.Manager) + `","request":`)
	b, err := AppendRequest(b, o.Request)
	if err != nil {
		return nil, err
	}
	b = append(b, fmt.Sprintf(`,"signature":"0x%x","jobURI":`, o.Signature)...)
	b = append(b, jsonString(o.JobURI)...)
	b = append(b, '}')
	return b, nil
}

func checkJobURI(s string) error {
	if len(s) == 0 || len(s) > MaxJobURI {
		return fmt.Errorf("%w: jobURI: %d bytes, want 1 to %d", ErrOffer, len(s), MaxJobURI)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: jobURI: not printable UTF-8", ErrOffer)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%w: jobURI: %v", ErrOffer, err)
	}
	switch u.Scheme {
	case "file", "http", "https":
	default:
		return fmt.Errorf("%w: jobURI: scheme %q, want file, http or https", ErrOffer, u.Scheme)
	}
	return nil
}

// objectReader walks one JSON object whose keys must come exactly in a given order, so that an
// unknown, duplicate, missing or misplaced key is an error naming it.
type objectReader struct {
	dec    *json.Decoder
	prefix string // "request." inside the request
	keys   []string
	next   int
}

func offerErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrOffer, field, fmt.Sprintf(format, args...))
}

func (r *objectReader) open(what string) error {
	t, err := r.dec.Token()
	if err != nil {
		return offerErr(what, "%v", err)
	}
	if t != json.Delim('{') {
		return offerErr(what, "%s, want an object", describe(t))
	}
	return nil
}

// value reads the next key, which must be the expected one, and returns its value's token.
func (r *objectReader) value() (field string, tok json.Token, err error) {
	want := r.keys[r.next]
	field = r.prefix + want
	if !r.dec.More() {
		return field, nil, offerErr(field, "missing")
	}
	t, err := r.dec.Token()
	if err != nil {
		return field, nil, offerErr(field, "%v", err)
	}
	k, _ := t.(string)
	if k != want {
		switch i := slices.Index(r.keys, k); {
		case i >= 0 && i < r.next:
			return field, nil, offerErr(r.prefix+k, "duplicate key")
		case i > r.next:
			return field, nil, offerErr(field, "missing (or out of order: %q comes first)", k)
		default:
			return field, nil, offerErr(r.prefix+k, "unknown key")
		}
	}
	r.next++
	t, err = r.dec.Token()
	if err != nil {
		return field, nil, offerErr(field, "%v", err)
	}
	if t == nil {
		return field, nil, offerErr(field, "null")
	}
	if d, ok := t.(json.Delim); ok && d != '{' {
		return field, nil, offerErr(field, "%s, want a value", describe(t))
	}
	return field, t, nil
}

func (r *objectReader) close() error {
	if r.dec.More() {
		t, _ := r.dec.Token()
		k, _ := t.(string)
		if slices.Contains(r.keys, k) {
			return offerErr(r.prefix+k, "duplicate key")
		}
		return offerErr(r.prefix+k, "unknown key")
	}
	if _, err := r.dec.Token(); err != nil { // the closing brace
		return offerErr(strings.TrimSuffix(r.prefix, "."), "%v", err)
	}
	return nil
}

func describe(t json.Token) string {
	switch v := t.(type) {
	case nil:
		return "null"
	case json.Delim:
		return fmt.Sprintf("%q", v.String())
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%v", t)
}

var (
	canonDecimal = regexp.MustCompile(`^(0|[1-9][0-9]{0,77})$`)
	hexPattern   = func(n int) *regexp.Regexp { return regexp.MustCompile(fmt.Sprintf(`^0x[0-9a-f]{%d}$`, n)) }
	hexAddress   = hexPattern(40)
	hexWord32    = hexPattern(64)
	hexSignature = hexPattern(130)
	max256       = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

func str(field string, t json.Token) (string, error) {
	s, ok := t.(string)
	if !ok {
		return "", offerErr(field, "%s, want a string", describe(t))
	}
	return s, nil
}

func hexField(field string, t json.Token, re *regexp.Regexp, digits int) ([]byte, error) {
	s, err := str(field, t)
	if err != nil {
		return nil, err
	}
	if !re.MatchString(s) {
		return nil, offerErr(field, "%q is not 0x and %d lower-case hex digits", s, digits)
	}
	b := make([]byte, digits/2)
	for i := range b {
		v, _ := strconv.ParseUint(s[2+2*i:4+2*i], 16, 8)
		b[i] = byte(v)
	}
	return b, nil
}

func decimalString(field string, t json.Token) (*big.Int, error) {
	s, err := str(field, t)
	if err != nil {
		return nil, err
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !canonDecimal.MatchString(s) || !ok || v.Cmp(max256) > 0 {
		return nil, offerErr(field, "%q is not a canonical decimal uint256", s)
	}
	return v, nil
}

func number(field string, t json.Token, bits int) (uint64, error) {
	n, ok := t.(json.Number)
	if !ok {
		return 0, offerErr(field, "%s, want a number", describe(t))
	}
	s := n.String()
	v, err := strconv.ParseUint(s, 10, bits)
	if !canonDecimal.MatchString(s) || err != nil {
		return 0, offerErr(field, "%s is not a canonical uint%d", s, bits)
	}
	return v, nil
}

var requestKeys = []string{"buyer", "classId", "modelRoot", "jobDigest", "newTokens", "price", "lockBy",
	"execWindow", "proveWindow", "challengeWindow", "seedCommitment", "salt"}

func readRequest(dec *json.Decoder, prefix string) (protocol.Request, error) {
	var q protocol.Request
	r := &objectReader{dec: dec, prefix: prefix, keys: requestKeys}
	if err := r.open(strings.TrimSuffix(prefix, ".")); err != nil {
		return q, err
	}
	word := func() (*big.Int, error) {
		f, t, err := r.value()
		if err != nil {
			return nil, err
		}
		b, err := hexField(f, t, hexWord32, 64)
		return new(big.Int).SetBytes(b), err
	}
	num := func(bits int) (uint64, error) {
		f, t, err := r.value()
		if err != nil {
			return 0, err
		}
		return number(f, t, bits)
	}
	var err error
	var v uint64
	f, t, err := r.value()
	if err != nil {
		return q, err
	}
	b, err := hexField(f, t, hexAddress, 40)
	if err != nil {
		return q, err
	}
	q.Buyer = common.BytesToAddress(b)
	if f, t, err = r.value(); err != nil {
		return q, err
	}
	if b, err = hexField(f, t, hexWord32, 64); err != nil {
		return q, err
	}
	copy(q.ClassID[:], b)
	if q.ModelRoot, err = word(); err != nil {
		return q, err
	}
	if q.JobDigest, err = word(); err != nil {
		return q, err
	}
	if v, err = num(32); err != nil {
		return q, err
	}
	q.NewTokens = uint32(v)
	if f, t, err = r.value(); err != nil {
		return q, err
	}
	if q.Price, err = decimalString(f, t); err != nil {
		return q, err
	}
	if q.LockBy, err = num(64); err != nil {
		return q, err
	}
	for _, w := range []*uint32{&q.ExecWindow, &q.ProveWindow, &q.ChallengeWindow} {
		if v, err = num(32); err != nil {
			return q, err
		}
		*w = uint32(v)
	}
	if f, t, err = r.value(); err != nil {
		return q, err
	}
	if b, err = hexField(f, t, hexWord32, 64); err != nil {
		return q, err
	}
	copy(q.SeedCommitment[:], b)
	if q.Salt, err = word(); err != nil {
		return q, err
	}
	return q, r.close()
}

func newDecoder(b []byte) *json.Decoder {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec
}

// ParseRequest reads a request in the canonical spelling of AppendRequest, strictly: exactly
// its keys in its order, no null, no trailing data, every field its spelling and range. It
// does not Validate the terms.
func ParseRequest(b []byte) (protocol.Request, error) {
	dec := newDecoder(b)
	q, err := readRequest(dec, "request.")
	if err != nil {
		return protocol.Request{}, err
	}
	if err := canonical(dec, b, func() ([]byte, error) { return AppendRequest(nil, q) }); err != nil {
		return protocol.Request{}, err
	}
	return q, nil
}

// canonical refuses trailing data, then any other spelling of the same values (whitespace,
// escapes, exponents), so a document has one encoding and parse-then-encode is the identity.
func canonical(dec *json.Decoder, b []byte, encode func() ([]byte, error)) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the document", ErrOffer)
	}
	canon, err := encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(canon, b) {
		return fmt.Errorf("%w: not the canonical encoding (%d bytes, canonical %d: whitespace, escapes or spelling)", ErrOffer, len(b), len(canon))
	}
	return nil
}

var offerKeys = []string{"version", "chainId", "manager", "request", "signature", "jobURI"}

// ParseOffer reads an offer document strictly (settlement.md §8): at most MaxOfferBytes, the
// canonical encoding of Encode, exactly its keys in their order, no null, no trailing data. An
// error wraps ErrOffer and names the field. It does not check the offer (Check does).
func ParseOffer(b []byte) (*Offer, error) {
	if len(b) > MaxOfferBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOffer, len(b), MaxOfferBytes)
	}
	dec := newDecoder(b)
	r := &objectReader{dec: dec, keys: offerKeys}
	if err := r.open("offer"); err != nil {
		return nil, err
	}
	o := &Offer{}
	f, t, err := r.value()
	if err != nil {
		return nil, err
	}
	if s, err := str(f, t); err != nil {
		return nil, err
	} else if s != OfferVersion {
		return nil, offerErr(f, "%q, want %q", s, OfferVersion)
	}
	if f, t, err = r.value(); err != nil {
		return nil, err
	}
	if o.ChainID, err = decimalString(f, t); err != nil {
		return nil, err
	}
	if f, t, err = r.value(); err != nil {
		return nil, err
	}
	b20, err := hexField(f, t, hexAddress, 40)
	if err != nil {
		return nil, err
	}
	o.Manager = common.BytesToAddress(b20)
	// The request is an object: value() has consumed its key and its opening brace, so step
	// back by reading it through readRequest's fields directly.
	if !dec.More() {
		return nil, offerErr("request", "missing")
	}
	if t, err = dec.Token(); err != nil {
		return nil, offerErr("request", "%v", err)
	}
	if k, _ := t.(string); k != "request" {
		return nil, keyErr(r, k, "request")
	}
	r.next++
	if o.Request, err = readRequest(dec, "request."); err != nil {
		return nil, err
	}
	if f, t, err = r.value(); err != nil {
		return nil, err
	}
	if o.Signature, err = hexField(f, t, hexSignature, 130); err != nil {
		return nil, err
	}
	if f, t, err = r.value(); err != nil {
		return nil, err
	}
	if o.JobURI, err = str(f, t); err != nil {
		return nil, err
	}
	if err := checkJobURI(o.JobURI); err != nil {
		return nil, err
	}
	if err := r.close(); err != nil {
		return nil, err
	}
	if err := canonical(dec, b, o.Encode); err != nil {
		return nil, err
	}
	return o, nil
}

// keyErr names what a key k found where want was expected is.
func keyErr(r *objectReader, k, want string) error {
	switch i := slices.Index(r.keys, k); {
	case i >= 0 && i < r.next:
		return offerErr(k, "duplicate key")
	case i > r.next:
		return offerErr(want, "missing (or out of order: %q comes first)", k)
	}
	return offerErr(k, "unknown key")
}

// ---------------------------------------------------------------- order books

// OfferFile is the name of an offer in an order book: <jobId>.json, the job id in decimal.
func OfferFile(jobID *big.Int) string { return jobID.String() + ".json" }

var offerFileName = regexp.MustCompile(`^(0|[1-9][0-9]{0,77})\.json$`)

// bookDir returns the local directory of a file:// order book.
func bookDir(book string) (string, error) {
	u, err := url.Parse(book)
	if err != nil {
		return "", fmt.Errorf("order book %q: %w", book, err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("order book %q: only a file:// book can be written here (publish an http(s) one by serving the directory)", book)
	}
	return filepath.FromSlash(u.Path), nil
}

// WriteOffer publishes o in the file:// order book (settlement.md §8): <jobId>.json written
// atomically (a reader never sees half an offer), then the book's index.json rewritten from
// the directory, so the same directory can be served over http(s). It returns the offer's
// path. Concurrent writers to one book may leave the index missing another's newest offer
// until the next write; the directory listing, which file:// readers use, is always complete.
func WriteOffer(book string, o *Offer) (string, error) {
	dir, err := bookDir(book)
	if err != nil {
		return "", err
	}
	doc, err := o.Encode()
	if err != nil {
		return "", err
	}
	id, err := o.JobID()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("order book: %w", err)
	}
	path := filepath.Join(dir, OfferFile(id))
	if err := atomicfile.Write(path, doc); err != nil {
		return "", fmt.Errorf("order book: writing %s: %w", path, err)
	}
	return path, writeIndex(dir)
}

// RemoveOffer takes the offer of jobID out of a file:// order book (after the job was
// locked, or when the buyer revokes it: revocation itself is Cancel on chain, which this
// does not replace). A missing offer is not an error.
func RemoveOffer(book string, jobID *big.Int) error {
	dir, err := bookDir(book)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, OfferFile(jobID))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("order book: %w", err)
	}
	return writeIndex(dir)
}

func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("order book: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && offerFileName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func writeIndex(dir string) error {
	names, err := listDir(dir)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	b, _ := json.Marshal(names) // a list of plain names always encodes
	if err := atomicfile.Write(filepath.Join(dir, BookIndex), b); err != nil {
		return fmt.Errorf("order book: writing the index: %w", err)
	}
	return nil
}

// BookReader reads order books: file:// directories (listed directly) and http(s) ones
// (through index.json), within the size and count bounds above.
type BookReader struct {
	// Client fetches http(s) books; http.DefaultClient when nil. Bound its time with the
	// context or the client's Timeout.
	Client *http.Client
	// MaxEntries bounds the offers listed; MaxBookEntries when zero. A longer listing is an
	// error, not a truncation, so a reader never silently misses offers.
	MaxEntries int
}

func (br *BookReader) client() *http.Client {
	if br.Client != nil {
		return br.Client
	}
	return http.DefaultClient
}

func (br *BookReader) maxEntries() int {
	if br.MaxEntries > 0 {
		return br.MaxEntries
	}
	return MaxBookEntries
}

func (br *BookReader) get(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	var r io.ReadCloser
	switch u.Scheme {
	case "file":
		f, err := os.Open(filepath.FromSlash(u.Path))
		if err != nil {
			return nil, err
		}
		r = f
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := br.client().Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
		}
		r = resp.Body
	default:
		return nil, fmt.Errorf("%q: scheme must be file, http or https", u.Redacted())
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u.Redacted(), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s exceeds the limit of %d bytes", u.Redacted(), limit)
	}
	return b, nil
}

func bookURL(book string) (*url.URL, error) {
	u, err := url.Parse(book)
	if err != nil {
		return nil, fmt.Errorf("order book %q: %w", book, err)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/" // a directory: entries resolve inside it
	}
	return u, nil
}

// List returns the offer file names of a book: the <jobId>.json entries of a file://
// directory, or the names of an http(s) book's index.json (a JSON array of strings, each a
// valid offer file name, no duplicates).
func (br *BookReader) List(ctx context.Context, book string) ([]string, error) {
	u, err := bookURL(book)
	if err != nil {
		return nil, err
	}
	var names []string
	if u.Scheme == "file" {
		if names, err = listDir(filepath.FromSlash(u.Path)); err != nil {
			return nil, err
		}
	} else {
		b, err := br.get(ctx, u.ResolveReference(&url.URL{Path: BookIndex}), MaxIndexBytes)
		if err != nil {
			return nil, fmt.Errorf("order book index: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&names); err != nil || names == nil {
			return nil, fmt.Errorf("order book index %s: not a JSON array of names (%v)", u.Redacted(), err)
		}
		if dec.More() {
			return nil, fmt.Errorf("order book index %s: trailing data", u.Redacted())
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !offerFileName.MatchString(n) {
				return nil, fmt.Errorf("order book index %s: %q is not <jobId>.json", u.Redacted(), n)
			}
			if seen[n] {
				return nil, fmt.Errorf("order book index %s: %q listed twice", u.Redacted(), n)
			}
			seen[n] = true
		}
	}
	if len(names) > br.maxEntries() {
		return nil, fmt.Errorf("order book %s: %d offers, limit %d", u.Redacted(), len(names), br.maxEntries())
	}
	slices.Sort(names)
	return names, nil
}

// Read fetches and parses the offer named name in a book, and checks that the name is its
// job id's. It does not Check the offer.
func (br *BookReader) Read(ctx context.Context, book, name string) (*Offer, error) {
	if !offerFileName.MatchString(name) {
		return nil, fmt.Errorf("%w: file name %q is not <jobId>.json", ErrOffer, name)
	}
	u, err := bookURL(book)
	if err != nil {
		return nil, err
	}
	b, err := br.get(ctx, u.ResolveReference(&url.URL{Path: name}), MaxOfferBytes)
	if err != nil {
		return nil, fmt.Errorf("offer %s: %w", name, err)
	}
	o, err := ParseOffer(b)
	if err != nil {
		return nil, fmt.Errorf("offer %s: %w", name, err)
	}
	id, err := o.JobID()
	if err != nil {
		return nil, fmt.Errorf("offer %s: %w", name, err)
	}
	if OfferFile(id) != name {
		return nil, fmt.Errorf("%w: offer %s holds the request of job %s", ErrOffer, name, id)
	}
	return o, nil
}

// BookEntry is one listed offer: the parsed offer, or why it could not be read.
type BookEntry struct {
	Name  string
	Offer *Offer
	Err   error
}

// ReadAll lists a book and reads every offer in it; an offer that does not read is an entry
// with Err set, so one bad file does not hide the others.
func (br *BookReader) ReadAll(ctx context.Context, book string) ([]BookEntry, error) {
	names, err := br.List(ctx, book)
	if err != nil {
		return nil, err
	}
	out := make([]BookEntry, len(names))
	for i, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := br.Read(ctx, book, n)
		out[i] = BookEntry{Name: n, Offer: o, Err: err}
	}
	return out, nil
}
