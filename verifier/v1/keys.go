package verifierv1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/circuits/universal"
	"github.com/probitylabs/probity/verifier"
)

// CacheKey reads a class's verifying key from the default circuits key cache (the entry's vk
// file, checked against its checksums), the default of Options.Keys. It never runs a setup:
// an auditor verifies against keys it already trusts. (verifier.CacheKeys does the same for
// v0 shapes, looked up by shape id.)
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
	return verifier.ReadVerifyingKeyFile(path)
}
