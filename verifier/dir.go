package verifier

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// AuditDir audits every *.json file under dir, in its subdirectories too (a buyer directory
// keeps each job's receipts in its own receipts/), with up to workers goroutines (0: one per
// CPU). Reports come back in path order.
func AuditDir(ctx context.Context, dir string, policy Policy, opts Options, workers int) (*Summary, error) {
	if policy.IsZero() {
		return nil, ErrNoPolicy
	}
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no *.json receipts in it or below", dir)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	reports := make([]*Report, len(paths))
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(paths)) {
		wg.Go(func() {
			for i := range next {
				reports[i], errs[i] = AuditFile(ctx, paths[i], policy, opts)
			}
		})
	}
feed:
	for i := range paths {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Summary{Reports: reports}
	for i, r := range reports {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", paths[i], errs[i])
		}
		if r.OK() {
			s.Passed++
		} else {
			s.Failed++
		}
	}
	return s, nil
}
