//go:build !unix

package circuits

import (
	"fmt"
	"os"
)

// lock is a no-op where flock is unavailable; the atomic rename still keeps entries whole.
func (c Cache) lock() (func(), error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("key cache: %w", err)
	}
	return func() {}, nil
}
