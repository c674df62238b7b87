package verifier

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/receipt"
)

// Keys supplies the Groth16 verifying key of a circuit shape.
type Keys interface {
	VerifyingKey(shapeID [32]byte) (*groth16bn254.VerifyingKey, error)
}

// KeyFile is one verifying key read from a file (gnark's binary encoding, as
// groth16.VerifyingKey.WriteTo writes it), used for every shape. Use it when a receipt's
// layers share one shape, or wrap several in KeyMap.
type KeyFile struct {
	Path string

	once sync.Once
	vk   *groth16bn254.VerifyingKey
	err  error
}

// VerifyingKey reads the file once and returns its key for any shape.
func (k *KeyFile) VerifyingKey([32]byte) (*groth16bn254.VerifyingKey, error) {
	k.once.Do(func() { k.vk, k.err = ReadVerifyingKeyFile(k.Path) })
	return k.vk, k.err
}

// KeyMap maps shape ids to keys.
type KeyMap map[[32]byte]*groth16bn254.VerifyingKey

// VerifyingKey returns the key registered for the shape.
func (m KeyMap) VerifyingKey(id [32]byte) (*groth16bn254.VerifyingKey, error) {
	if vk, ok := m[id]; ok {
		return vk, nil
	}
	return nil, fmt.Errorf("%w 0x%x", ErrNoKey, id)
}

// ReadVerifyingKeyFile reads a BN254 Groth16 verifying key in gnark's binary encoding.
func ReadVerifyingKeyFile(path string) (*groth16bn254.VerifyingKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("verifying key: %w", err)
	}
	defer f.Close()
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("verifying key %s: %w", path, err)
	}
	bvk, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("verifying key %s: not a BN254 key", path)
	}
	if len(bvk.G1.K) != receipt.NumPublicInputs+1 {
		return nil, fmt.Errorf("verifying key %s: %d public inputs, the layer statement has %d",
			path, len(bvk.G1.K)-1, receipt.NumPublicInputs)
	}
	if len(bvk.CommitmentKeys) != 0 {
		return nil, fmt.Errorf("verifying key %s: uses Pedersen commitments, which spec §7 excludes", path)
	}
	return bvk, nil
}

var errPoint = errors.New("proof point not on the curve or not in the subgroup")

// DecodeProof reads the 256-byte Solidity encoding of spec §7 (A, B with x.a1 x.a0 y.a1 y.a0,
// C), requiring canonical coordinates and points in the prime-order subgroups.
func DecodeProof(b []byte) (*groth16bn254.Proof, error) {
	if len(b) != receipt.ProofSize {
		return nil, fmt.Errorf("proof is %d bytes, want %d", len(b), receipt.ProofSize)
	}
	var p groth16bn254.Proof
	coords := []*fp.Element{
		&p.Ar.X, &p.Ar.Y,
		&p.Bs.X.A1, &p.Bs.X.A0, &p.Bs.Y.A1, &p.Bs.Y.A0,
		&p.Krs.X, &p.Krs.Y,
	}
	for i, c := range coords {
		if err := c.SetBytesCanonical(b[32*i : 32*i+32]); err != nil {
			return nil, fmt.Errorf("proof word %d: %w", i, err)
		}
	}
	if !p.Ar.IsInSubGroup() || !p.Bs.IsInSubGroup() || !p.Krs.IsInSubGroup() || p.Ar.IsInfinity() || p.Krs.IsInfinity() {
		return nil, errPoint
	}
	return &p, nil
}

// EncodeProof writes a proof in the 256-byte Solidity encoding (the inverse of DecodeProof).
func EncodeProof(p *groth16bn254.Proof) []byte {
	out := make([]byte, 0, receipt.ProofSize)
	for _, c := range []*fp.Element{
		&p.Ar.X, &p.Ar.Y, &p.Bs.X.A1, &p.Bs.X.A0, &p.Bs.Y.A1, &p.Bs.Y.A0, &p.Krs.X, &p.Krs.Y,
	} {
		b := c.Bytes()
		out = append(out, b[:]...)
	}
	return out
}

// VerifyProof checks one layer's proof against its public inputs with gnark.
func VerifyProof(vk *groth16bn254.VerifyingKey, proof []byte, publicInputs [receipt.NumPublicInputs]receipt.Word) error {
	p, err := DecodeProof(proof)
	if err != nil {
		return err
	}
	pub := make(fr.Vector, len(publicInputs))
	for i, w := range publicInputs {
		if err := pub[i].SetBytesCanonical(w[:]); err != nil {
			return fmt.Errorf("public input %d: %w", i, err)
		}
	}
	return groth16bn254.Verify(p, vk, pub)
}

// CacheKeys reads verifying keys of catalogue shapes from a circuits key cache (the vk file of
// each shape's entry, checked against the entry's sha256 checksums). It never runs a setup:
// an auditor verifies against keys it already trusts.
type CacheKeys struct {
	Cache circuits.Cache

	mu   sync.Mutex
	keys map[[32]byte]*groth16bn254.VerifyingKey
}

// DefaultCacheKeys reads from circuits.DefaultCache.
func DefaultCacheKeys() (*CacheKeys, error) {
	c, err := circuits.DefaultCache()
	if err != nil {
		return nil, err
	}
	return &CacheKeys{Cache: c}, nil
}

// VerifyingKey loads (once) the key of a catalogue shape.
func (c *CacheKeys) VerifyingKey(id [32]byte) (*groth16bn254.VerifyingKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if vk, ok := c.keys[id]; ok {
		return vk, nil
	}
	s, err := circuits.ByID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	dir := c.Cache.EntryDir(s)
	path := filepath.Join(dir, "vk")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w (run a setup for the shape, or pass a key file)", ErrNoKey, s.Name, err)
	}
	sums, err := os.ReadFile(filepath.Join(dir, "checksums"))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrNoKey, s.Name, err)
	}
	sum := sha256.Sum256(raw)
	if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  vk\n") {
		return nil, fmt.Errorf("%w %s: %s does not match its checksum", ErrNoKey, s.Name, path)
	}
	vk, err := ReadVerifyingKeyFile(path)
	if err != nil {
		return nil, err
	}
	if c.keys == nil {
		c.keys = map[[32]byte]*groth16bn254.VerifyingKey{}
	}
	c.keys[id] = vk
	return vk, nil
}
