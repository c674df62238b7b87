package circuits

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
)

// ErrCacheCorrupt reports a key cache entry whose files do not match their checksums.
var ErrCacheCorrupt = errors.New("key cache entry is corrupt")

// Target is a circuit that the key cache, the ceremony and the verifier export serve: a
// universal class (package circuits/universal), or a test circuit.
type Target interface {
	ID() [32]byte
	String() string
	Compile() (constraint.ConstraintSystem, error)
}

// Keys are the compiled circuit and Groth16 keys of one target.
type Keys struct {
	Target Target
	CCS    constraint.ConstraintSystem
	PK     groth16.ProvingKey
	VK     groth16.VerifyingKey
}

func newKeys(t Target, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, vk groth16.VerifyingKey) *Keys {
	return &Keys{Target: t, CCS: ccs, PK: pk, VK: vk}
}

// Cache is an on-disk key cache: one directory per target id holding ccs, pk, vk and a
// checksums file. Entries are written to a temporary directory and renamed into place, and
// a lock file serialises setups, so concurrent processes neither corrupt an entry nor run the
// same setup twice.
type Cache struct{ Dir string }

// DefaultCache is $XDG_CACHE_HOME/probity/keys (os.UserCacheDir elsewhere).
func DefaultCache() (Cache, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return Cache{}, fmt.Errorf("key cache: %w", err)
	}
	return Cache{Dir: filepath.Join(d, "probity", "keys")}, nil
}

// DevSetup compiles the circuit and runs a fresh single-party setup, without any cache.
func DevSetup(s Target) (*Keys, error) {
	ccs, err := s.Compile()
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, fmt.Errorf("setup %s: %w", s, err)
	}
	return newKeys(s, ccs, pk, vk), nil
}

// EntryDir is the directory of a target's entry.
func (c Cache) EntryDir(s Target) string {
	id := s.ID()
	return filepath.Join(c.Dir, hex.EncodeToString(id[:]))
}

// Setup loads the target's keys, or generates and stores them when the entry does not
// exist. A corrupt entry is an error (wrapping ErrCacheCorrupt) rather than silently replaced:
// Regenerate replaces it.
func (c Cache) Setup(s Target) (*Keys, error) {
	if k, err := c.Load(s); err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	unlock, err := c.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have finished the setup while we waited for the lock.
	if k, err := c.Load(s); err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	k, err := DevSetup(s)
	if err != nil {
		return nil, err
	}
	if err := c.store(k); err != nil {
		return nil, err
	}
	return k, nil
}

// Regenerate deletes the target's entry and runs a fresh setup.
func (c Cache) Regenerate(s Target) (*Keys, error) {
	unlock, err := c.lock()
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(c.EntryDir(s)); err != nil {
		unlock()
		return nil, fmt.Errorf("key cache: removing %s: %w", c.EntryDir(s), err)
	}
	unlock()
	return c.Setup(s)
}

// Store writes keys (e.g. from a ceremony) into the cache, replacing any entry.
func (c Cache) Store(k *Keys) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.RemoveAll(c.EntryDir(k.Target)); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	return c.store(k)
}

var cacheFiles = []string{"ccs", "pk", "vk"}

func (c Cache) store(k *Keys) error {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	writers := map[string]func(io.Writer) (int64, error){
		"ccs": k.CCS.WriteTo,
		"pk":  k.PK.WriteRawTo,
		"vk":  k.VK.WriteTo,
	}
	var sums strings.Builder
	for _, name := range cacheFiles {
		sum, err := writeFile(filepath.Join(tmp, name), writers[name])
		if err != nil {
			return fmt.Errorf("key cache: writing %s: %w", name, err)
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum, name)
	}
	if err := os.WriteFile(filepath.Join(tmp, "checksums"), []byte(sums.String()), 0o644); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	// Callers hold the lock, so whatever sits at the entry path is a leftover (say, a
	// directory without its checksums file) and not another writer's work.
	if err := os.RemoveAll(c.EntryDir(k.Target)); err != nil {
		return fmt.Errorf("key cache: %w", err)
	}
	if err := os.Rename(tmp, c.EntryDir(k.Target)); err != nil {
		return fmt.Errorf("key cache: installing entry: %w", err)
	}
	return nil
}

func writeFile(path string, wt func(io.Writer) (int64, error)) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := wt(bw); err != nil {
		f.Close()
		return "", err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), f.Close()
}

// Load reads and checks a target's entry. A missing entry wraps os.ErrNotExist; a file
// that does not match its checksum wraps ErrCacheCorrupt.
func (c Cache) Load(s Target) (*Keys, error) {
	dir := c.EntryDir(s)
	sums, err := os.ReadFile(filepath.Join(dir, "checksums"))
	if err != nil {
		return nil, fmt.Errorf("key cache %s: %w", s, err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, c.corrupt(s, "checksums", "malformed line %q", line)
		}
		want[f[1]] = f[0]
	}
	data := map[string][]byte{}
	for _, name := range cacheFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, c.corrupt(s, name, "missing")
			}
			return nil, fmt.Errorf("key cache %s: %w", s, err)
		}
		sum := sha256.Sum256(b)
		if w, ok := want[name]; !ok || w != hex.EncodeToString(sum[:]) {
			return nil, c.corrupt(s, name, "sha256 %x does not match the checksums file", sum)
		}
		data[name] = b
	}
	k := newKeys(s, groth16.NewCS(ecc.BN254), groth16.NewProvingKey(ecc.BN254), groth16.NewVerifyingKey(ecc.BN254))
	if _, err := k.CCS.ReadFrom(bytes.NewReader(data["ccs"])); err != nil {
		return nil, c.corrupt(s, "ccs", "%v", err)
	}
	// The checksum already vouches for pk, so the unchecked (fast) reader is safe.
	if _, err := k.PK.UnsafeReadFrom(bytes.NewReader(data["pk"])); err != nil {
		return nil, c.corrupt(s, "pk", "%v", err)
	}
	if _, err := k.VK.ReadFrom(bytes.NewReader(data["vk"])); err != nil {
		return nil, c.corrupt(s, "vk", "%v", err)
	}
	return k, nil
}

func (c Cache) corrupt(s Target, file, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s: %s (delete %s or regenerate the keys)",
		ErrCacheCorrupt, s, file, fmt.Sprintf(format, args...), c.EntryDir(s))
}
