package receipt

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads a receipt document from a local file: a regular file (a FIFO, a device or a
// directory is refused before it is opened, so a read never blocks on one) of at most MaxSize
// bytes, read through a limit so a file that grows while read is refused too.
func ReadFile(path string) ([]byte, error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("receipt: %s is not a regular file (%s)", path, before.Mode().Type())
	}
	if before.Size() > MaxSize {
		return nil, fmt.Errorf("receipt: %s is %d bytes, a receipt is at most %d", path, before.Size(), MaxSize)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The path may have been replaced between the stat and the open.
	if after, err := f.Stat(); err != nil || !os.SameFile(before, after) {
		return nil, fmt.Errorf("receipt: %s changed while opened", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("receipt: reading %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("receipt: %s grew past %d bytes while read", path, MaxSize)
	}
	return data, nil
}
