package jobs_test

import (
	"context"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/tensor"
)

// A manifest that parses encodes back to a manifest that parses to the same value, and every
// rejection is an ErrManifest.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":"probity.manifest.v0","input":"x.safetensors","model":"m.safetensors"}`))
	f.Add([]byte(`{"version":"probity.manifest.v0","input":"https://h/x","model":"file:///m","extra":1}`))
	f.Add([]byte(`{"version":"probity.manifest.v0","input":"a","model":"b"} {}`))
	f.Add([]byte(`{"version":"v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := jobs.ParseManifest(b)
		if err != nil {
			if !errors.Is(err, jobs.ErrManifest) {
				t.Fatalf("error outside ErrManifest: %v", err)
			}
			return
		}
		if m.Version != jobs.ManifestVersion || m.Input == "" || m.Model == "" {
			t.Fatalf("accepted an incomplete manifest: %+v", m)
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := jobs.ParseManifest(enc)
		if err != nil || *again != *m {
			t.Fatalf("round trip: %+v, %v (want %+v)", again, err, m)
		}
	})
}

// The directory Publish writes is the one a provider fetches and an auditor reads: the
// manifest names the files next to it, and outputs round-trip through their layout.
func TestPublishedLayout(t *testing.T) {
	src := t.TempDir()
	in, mf := filepath.Join(src, "x"), filepath.Join(src, "m")
	if err := os.WriteFile(in, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, []byte("model"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "job")
	uri, err := jobs.Publish(dir, in, mf)
	if err != nil {
		t.Fatal(err)
	}
	d := jobs.Dir(dir)
	if uri != "file://"+filepath.ToSlash(d.Manifest()) {
		t.Fatalf("manifest URI %s", uri)
	}
	raw, err := os.ReadFile(d.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	m, err := jobs.ParseManifest(raw)
	if err != nil || *m != jobs.NewManifest() {
		t.Fatalf("published manifest %+v, %v", m, err)
	}
	for p, want := range map[string]string{d.Input(): "input", d.Model(): "model"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Fatalf("%s holds %q", p, b)
		}
	}
	if len(d.OutputPaths()) != 0 {
		t.Fatal("outputs listed before any was written")
	}
	if _, err := jobs.LoadOutput(d.Output(0)); !errors.Is(err, jobs.ErrNoOutput) {
		t.Fatalf("missing output: %v", err)
	}
	if err := os.MkdirAll(d.Outputs(), 0o755); err != nil {
		t.Fatal(err)
	}
	y := tensor.RandomInput(3, 2, 5)
	for l := range 2 {
		if err := jobs.SaveOutput(d.Output(l), y); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.OutputPaths(); len(got) != 2 || got[1] != filepath.Join(dir, "out", "layer-1.safetensors") {
		t.Fatalf("outputs %v", got)
	}
	back, err := jobs.LoadOutput(d.Output(1))
	if err != nil || len(back.Data) != len(y.Data) {
		t.Fatalf("output round trip: %v", err)
	}
	for i := range y.Data {
		if back.Data[i] != y.Data[i] {
			t.Fatalf("output element %d: %d, want %d", i, back.Data[i], y.Data[i])
		}
	}
}

func TestReceiptURL(t *testing.T) {
	u, err := jobs.ReceiptURL("https://example.org/jobs/7/manifest.json", big.NewInt(7))
	if err != nil || u.String() != "https://example.org/jobs/7/receipts/7.json" {
		t.Fatalf("%v, %v", u, err)
	}
	if _, err := jobs.ReceiptURL("ftp://x/manifest.json", big.NewInt(1)); !errors.Is(err, jobs.ErrManifest) {
		t.Fatalf("ftp scheme: %v", err)
	}
}

// A receipt is published as a file next to a file:// manifest, or PUT next to an http one.
func TestPublishReceipt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	uri := "file://" + filepath.ToSlash(filepath.Join(dir, "manifest.json"))
	if err := jobs.PublishReceipt(ctx, nil, uri, big.NewInt(4), []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "receipts", "4.json")); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("file receipt %q, %v", b, err)
	}
	var put string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/j/receipts/4.json" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		b, _ := io.ReadAll(r.Body)
		put = string(b)
	}))
	defer srv.Close()
	if err := jobs.PublishReceipt(ctx, srv.Client(), srv.URL+"/j/manifest.json", big.NewInt(4), []byte("doc")); err != nil || put != "doc" {
		t.Fatalf("PUT: %q, %v", put, err)
	}
	if err := jobs.PublishReceipt(ctx, srv.Client(), srv.URL+"/other/manifest.json", big.NewInt(4), []byte("doc")); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("refused PUT: %v", err)
	}
}
