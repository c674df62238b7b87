package prover

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/probitylabs/probity/internal/fetch"
)

// Job files are fetched in the background so a slow or silent buyer's server never holds the
// intake loop (which reads the chain and the books for every other job): admit starts the
// fetch and answers errFetching, and the job is considered again at a later poll, when the
// bytes are there. Admission itself stays serial, so the backlog and the caps it checks are
// never raced.

// errFetching: the job file is being fetched; the job is considered again later.
var errFetching = errors.New("job file being fetched")

// maxFetches bounds the downloads in flight (a book of many slow offers cannot open
// unbounded connections).
const maxFetches = 8

// fetchedTTL is how long a fetched job file waits for its job to be considered again.
const fetchedTTL = 2 * time.Minute

type prefetcher struct {
	f   *fetch.Fetcher
	ctx context.Context // the node's run context: downloads end with it

	mu    sync.Mutex
	files map[string]*fetched // by URI
}

type fetched struct {
	done chan struct{}
	b    []byte
	err  error
	at   time.Time // when it finished
}

func newPrefetcher(f *fetch.Fetcher) *prefetcher {
	return &prefetcher{f: f, ctx: context.Background(), files: map[string]*fetched{}}
}

// get returns uri's content once fetched (at most limit bytes), else starts its fetch (when
// fewer than maxFetches run) and returns errFetching.
func (p *prefetcher) get(uri string, limit int64) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	running := 0
	for k, e := range p.files {
		select {
		case <-e.done:
			if time.Since(e.at) > fetchedTTL {
				delete(p.files, k)
			}
		default:
			running++
		}
	}
	if e, ok := p.files[uri]; ok {
		select {
		case <-e.done:
			delete(p.files, uri)
			return e.b, e.err
		default:
			return nil, errFetching
		}
	}
	if running >= maxFetches {
		return nil, errFetching
	}
	e := &fetched{done: make(chan struct{})}
	p.files[uri] = e
	go func() {
		b, err := p.f.Get(p.ctx, uri, limit)
		p.mu.Lock()
		e.b, e.err, e.at = b, err, time.Now()
		p.mu.Unlock()
		close(e.done)
	}()
	return nil, errFetching
}
