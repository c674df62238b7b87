package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/probitylabs/probity/internal/atomicfile"
	"github.com/probitylabs/probity/tensor"
)

// File names of a job directory:
//
//	DIR/manifest.json                 the manifest (NewManifest)
//	DIR/input.safetensors             the activations, tensor "x" (spec §3.1)
//	DIR/model.safetensors             the model
//	DIR/out/layer-<l>.safetensors     layer l's output, tensor "y" (OutputTensor)
//	DIR/receipts/<jobId>.json         the published receipt (ReceiptURL)
const (
	ManifestFile = "manifest.json"
	InputFile    = "input.safetensors"
	ModelFile    = "model.safetensors"
	OutputsDir   = "out"
	// OutputTensor is the name of the int8 tensor in an output file.
	OutputTensor = "y"
)

// Dir is a job directory laid out as above.
type Dir string

// Input is the activation file's path.
func (d Dir) Input() string { return filepath.Join(string(d), InputFile) }

// Model is the model file's path.
func (d Dir) Model() string { return filepath.Join(string(d), ModelFile) }

// Manifest is the manifest's path.
func (d Dir) Manifest() string { return filepath.Join(string(d), ManifestFile) }

// Outputs is the directory of the per-layer output files.
func (d Dir) Outputs() string { return filepath.Join(string(d), OutputsDir) }

// Output is layer l's output file.
func (d Dir) Output(l int) string { return OutputPath(d.Outputs(), l) }

// OutputPaths lists the output files present, layer 0 up to the first missing one.
func (d Dir) OutputPaths() []string {
	var out []string
	for l := 0; ; l++ {
		p := d.Output(l)
		if _, err := os.Stat(p); err != nil {
			return out
		}
		out = append(out, p)
	}
}

// OutputPath is layer l's output file in an output directory: what an executor writes
// (spec: executor contract).
func OutputPath(outDir string, l int) string {
	return filepath.Join(outDir, fmt.Sprintf("layer-%d.safetensors", l))
}

// SaveOutput writes a layer output file (tensor OutputTensor) atomically.
func SaveOutput(path string, y *tensor.Int8) error {
	var buf bytes.Buffer
	if err := tensor.Write(&buf, map[string]any{OutputTensor: y}, nil); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}

// ErrNoOutput matches a missing output file.
var ErrNoOutput = errors.New("no output file")

// LoadOutput reads a layer output file and checks that it holds an int8 matrix.
func LoadOutput(path string) (*tensor.Int8, error) {
	f, err := tensor.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoOutput, path)
	}
	if err != nil {
		return nil, err
	}
	y, err := f.Int8(OutputTensor)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, _, err := y.Matrix(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return y, nil
}

// Publish lays out a job directory for providers to fetch: it copies the input and model into
// dir, makes dir/receipts for the provider's receipt, and writes dir/manifest.json (spec
// §6.1, URIs relative to the manifest). It returns the manifest's file:// URI.
func Publish(dir, inputFile, modelFile string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	d := Dir(abs)
	if err := os.MkdirAll(filepath.Join(abs, "receipts"), 0o755); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	for _, f := range [][2]string{{inputFile, d.Input()}, {modelFile, d.Model()}} {
		if err := copyFile(f[0], f[1]); err != nil {
			return "", fmt.Errorf("publish: %w", err)
		}
	}
	m, err := NewManifest().Encode()
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(d.Manifest(), m); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(d.Manifest())}).String(), nil
}

func copyFile(src, dst string) error {
	if s, d := filepath.Clean(src), filepath.Clean(dst); s == d {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
