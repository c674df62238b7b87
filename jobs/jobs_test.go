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
)

// A receipt's URL is receipts/<jobId>.json beside the job file; other schemes are refused.
func TestReceiptURL(t *testing.T) {
	u, err := jobs.ReceiptURL("https://example.org/jobs/7/job.safetensors", big.NewInt(7))
	if err != nil || u.String() != "https://example.org/jobs/7/receipts/7.json" {
		t.Fatalf("%v, %v", u, err)
	}
	if _, err := jobs.ReceiptURL("ftp://x/job.safetensors", big.NewInt(1)); !errors.Is(err, jobs.ErrJobURI) {
		t.Fatalf("ftp scheme: %v", err)
	}
}

// A receipt is published as a file next to a file:// job file, or PUT next to an http one.
func TestPublishReceipt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	uri := "file://" + filepath.ToSlash(filepath.Join(dir, "job.safetensors"))
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
	if err := jobs.PublishReceipt(ctx, srv.Client(), srv.URL+"/j/job.safetensors", big.NewInt(4), []byte("doc")); err != nil || put != "doc" {
		t.Fatalf("PUT: %q, %v", put, err)
	}
	if err := jobs.PublishReceipt(ctx, srv.Client(), srv.URL+"/other/job.safetensors", big.NewInt(4), []byte("doc")); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("refused PUT: %v", err)
	}
}

// A trace is published at traces/<root>.safetensors beside the job file, named by its root.
func TestPublishTrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	uri := "file://" + filepath.ToSlash(filepath.Join(dir, "job.safetensors"))
	root := big.NewInt(0xabc)
	name := "0x" + strings.Repeat("0", 61) + "abc.safetensors"
	u, err := jobs.TraceURL(uri, root)
	if err != nil || !strings.HasSuffix(u.Path, "/traces/"+name) {
		t.Fatalf("%v, %v", u, err)
	}
	if err := jobs.PublishTrace(ctx, nil, uri, root, []byte("trace")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "traces", name)); err != nil || string(b) != "trace" {
		t.Fatalf("file trace %q, %v", b, err)
	}
	if _, err := jobs.TraceURL(uri, new(big.Int).Lsh(big.NewInt(1), 256)); err == nil {
		t.Fatal("a root wider than a word accepted")
	}
	if err := jobs.PublishTrace(ctx, nil, "ftp://x/job.safetensors", root, nil); !errors.Is(err, jobs.ErrJobURI) {
		t.Fatalf("ftp scheme: %v", err)
	}
}
