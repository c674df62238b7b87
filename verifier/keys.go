package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
)

// CacheKey reads a class's verifying key from the default circuits key cache (the entry's vk
// file, checked against its checksums). It never runs a setup: an auditor verifies against
// keys it already trusts, and an audit reads it only for a class whose policy entry pins the
// key's hash (Class.VKHash).
func CacheKey(cl *universal.Class) (*groth16bn254.VerifyingKey, error) {
	c, err := circuits.DefaultCache()
	if err != nil {
		return nil, err
	}
	dir := c.EntryDir(cl)
	path := filepath.Join(dir, "vk")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (run a setup for the class, or give the policy a key file)", err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "checksums"))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  vk\n") {
		return nil, fmt.Errorf("%s does not match its checksum", path)
	}
	return ReadVerifyingKeyFile(path)
}

// KeyHash is the name a policy pins a verifying key by (Class.VKHash, a policy file's
// "vkHash"): keccak256 of the 26 words of the key as the Solidity verifier holds them
// (circuits.VerifyingKeyWords, constructor order: alpha, beta, gamma, delta, IC_0..IC_5; each
// a 32-byte big-endian word). It names the points verification uses, so a key read from a
// vk file and the same key read back from the class's on-chain verifier hash alike (gnark's
// own serialization does not round-trip through the chain's words).
func KeyHash(vk *groth16bn254.VerifyingKey) ([32]byte, error) {
	w, err := circuits.VerifyingKeyWords(vk)
	if err != nil {
		return [32]byte{}, err
	}
	var buf []byte
	for _, x := range w.Flat() {
		buf = append(buf, common.LeftPadBytes(x.Bytes(), 32)...)
	}
	return crypto.Keccak256Hash(buf), nil
}

// keyOf returns the verifying key the proof of the accepted class c is checked with, and
// where it came from. The key is pinned, never whatever a local cache holds: the policy's key
// (c.VK), the caller's (Options.Keys), or the class's on-chain verifier (Options.Chain); the
// key cache only when the policy pins the key's hash (c.VKHash). A pinned hash must match
// the key used, and with a chain the key used must be the class's on-chain verifier's.
func (a *audit) keyOf(ctx context.Context, c *Class) (*groth16bn254.VerifyingKey, string, error) {
	var (
		vk   *groth16bn254.VerifyingKey
		from string
		err  error
	)
	chain := a.opts.Chain
	switch {
	case c.VK != nil:
		vk, from = c.VK, "the policy's key"
	case a.opts.Keys != nil:
		vk, err = a.opts.Keys(c.Class)
		from = "the given key"
	case chain != nil:
		vk, err = chain.ClassKey(ctx, c.Class.ID())
		from = "the class's on-chain verifier's key"
	case c.VKHash != [32]byte{}:
		vk, err = CacheKey(c.Class)
		from = "the cached key of the pinned hash"
	default:
		return nil, "", fmt.Errorf("%w %s: the policy pins no key for it (a vk file or a vkHash) and no chain was given to read its verifier's key from", ErrNoKey, c.Class)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrNoKey, c.Class, err)
	}
	h, err := KeyHash(vk)
	if err != nil {
		return nil, "", fmt.Errorf("%w %s: %w", ErrNoKey, c.Class, err)
	}
	if c.VKHash != [32]byte{} && h != c.VKHash {
		return nil, "", fmt.Errorf("%w: %s of class %s hashes to 0x%x, the policy pins 0x%x", ErrKeyPin, from, c.Class, h, c.VKHash)
	}
	if chain != nil && vk != nil && from != "the class's on-chain verifier's key" {
		onChain, err := chain.ClassKey(ctx, c.Class.ID())
		if err != nil {
			return nil, "", fmt.Errorf("%w: class %s: %w", ErrKeyPin, c.Class, err)
		}
		oh, err := KeyHash(onChain)
		if err != nil {
			return nil, "", fmt.Errorf("%w: class %s's on-chain verifier: %w", ErrKeyPin, c.Class, err)
		}
		if oh != h {
			return nil, "", fmt.Errorf("%w: %s of class %s (0x%x) is not its on-chain verifier's (0x%x)", ErrKeyPin, from, c.Class, h, oh)
		}
		from += ", the on-chain verifier's"
	}
	return vk, from, nil
}
