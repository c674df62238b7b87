package prover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/tensor"
)

// ErrFetch matches failures to fetch a manifest or a job file.
var ErrFetch = errors.New("fetching job files")

// ErrMismatch matches job files that do not match the posted spec (the job is refused).
var ErrMismatch = errors.New("job files do not match the posted spec")

// MismatchError names what did not match.
type MismatchError struct {
	What      string // "inputRoot", "layers[0].weightsRoot", ...
	Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: posted %s, files give %s", e.What, e.Want, e.Got)
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Fetcher downloads manifests and job files within size and time limits.
type Fetcher struct {
	MaxManifestBytes int64
	MaxFileBytes     int64
	Timeout          time.Duration
	AllowFile        bool
	Client           *http.Client
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return http.DefaultClient
}

// open returns a reader over a URI's content, at most limit bytes (one more is an error).
func (f *Fetcher) get(ctx context.Context, u *url.URL, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	var r io.ReadCloser
	switch u.Scheme {
	case "file":
		if !f.AllowFile {
			return nil, fmt.Errorf("%w: %s: file:// URIs are not allowed (fetch.allowFile)", ErrFetch, u)
		}
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		r = fh
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		resp, err := f.client().Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFetch, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: GET %s: %s", ErrFetch, u.Redacted(), resp.Status)
		}
		if resp.ContentLength > limit {
			resp.Body.Close()
			return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFetch, u.Redacted(), resp.ContentLength, limit)
		}
		r = resp.Body
	default:
		return nil, fmt.Errorf("%w: %q: scheme must be file, http or https", ErrFetch, u.String())
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrFetch, u.Redacted(), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s exceeds the limit of %d bytes", ErrFetch, u.Redacted(), limit)
	}
	return b, nil
}

// FetchJob downloads the manifest at manifestURI and the files it names into the job
// directory dir (jobs.Dir: input.safetensors, model.safetensors) and returns their paths.
func (f *Fetcher) FetchJob(ctx context.Context, manifestURI, dir string) (inputPath, modelPath string, err error) {
	base, err := url.Parse(manifestURI)
	if err != nil {
		return "", "", fmt.Errorf("%w: manifest URI %q: %v", ErrFetch, manifestURI, err)
	}
	mb, err := f.get(ctx, base, f.MaxManifestBytes)
	if err != nil {
		return "", "", err
	}
	m, err := jobs.ParseManifest(mb)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrFetch, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	d := jobs.Dir(dir)
	for _, it := range []struct{ ref, dst string }{{m.Input, d.Input()}, {m.Model, d.Model()}} {
		ref, err := url.Parse(it.ref)
		if err != nil {
			return "", "", fmt.Errorf("%w: manifest URI %q: %v", ErrFetch, it.ref, err)
		}
		u := base.ResolveReference(ref)
		b, err := f.get(ctx, u, f.MaxFileBytes)
		if err != nil {
			return "", "", err
		}
		if err := writeAtomic(it.dst, b); err != nil {
			return "", "", err
		}
	}
	return d.Input(), d.Model(), nil
}

// JobFiles are a job's tensors, loaded and checked against the spec.
type JobFiles struct {
	Input  *tensor.Int8
	Model  tensor.Model
	Shapes []circuits.Shape
}

// CheckJobFiles loads the input and model and recomputes inputRoot, every weightsRoot and
// epilogue word, the rows and each layer's dimensions against the posted spec and its
// shapes (spec §6.1). A mismatch is a *MismatchError.
func CheckJobFiles(spec chain.JobSpec, inputPath, modelPath string) (*JobFiles, error) {
	if len(spec.Layers) == 0 {
		return nil, &MismatchError{What: "layers", Want: "at least one", Got: "none"}
	}
	shapes := make([]circuits.Shape, len(spec.Layers))
	for l, ly := range spec.Layers {
		s, err := circuits.ByID(ly.ShapeId)
		if err != nil {
			return nil, fmt.Errorf("layers[%d]: %w", l, err)
		}
		shapes[l] = s
	}
	x, err := tensor.LoadActivations(inputPath)
	if err != nil {
		return nil, &MismatchError{What: "input file", Want: "an activation file", Got: err.Error()}
	}
	m, err := tensor.LoadModel(modelPath)
	if err != nil {
		return nil, &MismatchError{What: "model file", Want: "a model file", Got: err.Error()}
	}
	if len(m.Layers) != len(spec.Layers) {
		return nil, &MismatchError{What: "layers", Want: fmt.Sprint(len(spec.Layers)), Got: fmt.Sprint(len(m.Layers))}
	}
	if x.Rows() != int(spec.Rows) {
		return nil, &MismatchError{What: "rows", Want: fmt.Sprint(spec.Rows), Got: fmt.Sprint(x.Rows())}
	}
	D := int(shapes[0].D)
	for l, s := range shapes {
		if int(s.D) != D {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d].shape.D", l), Want: fmt.Sprint(D), Got: fmt.Sprint(s.D)}
		}
		K, N, err := m.Layers[l].Dims()
		if err != nil {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d] dims", l), Want: s.String(), Got: err.Error()}
		}
		if K != int(s.K) || N != int(s.N) {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d] dims", l), Want: fmt.Sprintf("K=%d N=%d", s.K, s.N), Got: fmt.Sprintf("K=%d N=%d", K, N)}
		}
	}
	if x.Cols() != int(shapes[0].K) {
		return nil, &MismatchError{What: "input cols", Want: fmt.Sprint(shapes[0].K), Got: fmt.Sprint(x.Cols())}
	}
	t, err := commit.CommitActivations(x, D)
	if err != nil {
		return nil, &MismatchError{What: "inputRoot", Want: bigHex(spec.InputRoot), Got: err.Error()}
	}
	if got := commit.ToBig(t.Root()); got.Cmp(spec.InputRoot) != 0 {
		return nil, &MismatchError{What: "inputRoot", Want: bigHex(spec.InputRoot), Got: bigHex(got)}
	}
	for l, ly := range m.Layers {
		t, err := commit.CommitLayer(ly.Weight, ly.Bias)
		if err != nil {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d].weightsRoot", l), Want: bigHex(spec.Layers[l].WeightsRoot), Got: err.Error()}
		}
		if got := commit.ToBig(t.Root()); got.Cmp(spec.Layers[l].WeightsRoot) != 0 {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d].weightsRoot", l), Want: bigHex(spec.Layers[l].WeightsRoot), Got: bigHex(got)}
		}
		if got := ly.Epilogue.Word(); got.Cmp(spec.Layers[l].Epilogue) != 0 {
			return nil, &MismatchError{What: fmt.Sprintf("layers[%d].epilogue", l), Want: bigHex(spec.Layers[l].Epilogue), Got: bigHex(got)}
		}
	}
	return &JobFiles{Input: x, Model: m, Shapes: shapes}, nil
}

// publishReceipt delivers an encoded receipt next to the manifest (jobs.PublishReceipt),
// within the fetch timeout.
func (f *Fetcher) publishReceipt(ctx context.Context, manifestURI string, jobID *big.Int, doc []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	return jobs.PublishReceipt(ctx, f.client(), manifestURI, jobID, doc)
}
