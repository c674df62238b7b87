package prover_test

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probitylabs/probity/chain"
	"github.com/probitylabs/probity/circuits"
	"github.com/probitylabs/probity/commit"
	"github.com/probitylabs/probity/prover"
	"github.com/probitylabs/probity/tensor"
)

// specFor builds the spec a buyer would post for the files (tiny shape, one layer).
func specFor(t *testing.T, in, mf string) chain.JobSpec {
	t.Helper()
	s, _ := circuits.Lookup("tiny")
	x, _ := tensor.LoadActivations(in)
	m, _ := tensor.LoadModel(mf)
	ta, err := commit.CommitActivations(x, int(s.D))
	if err != nil {
		t.Fatal(err)
	}
	tw, err := commit.CommitLayer(m.Layers[0].Weight, m.Layers[0].Bias)
	if err != nil {
		t.Fatal(err)
	}
	return chain.JobSpec{InputRoot: commit.ToBig(ta.Root()), Rows: uint32(x.Rows()), Layers: []chain.Layer{{
		ShapeId: s.ID(), WeightsRoot: commit.ToBig(tw.Root()), Epilogue: m.Layers[0].Epilogue.Word()}}}
}

func TestFetchHTTP(t *testing.T) {
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 4, 5, 16, 4)
	files := map[string]string{"/jobs/1/x.safetensors": in, "/models/m.safetensors": mf}
	var puts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut:
			puts = append(puts, r.URL.Path)
		case r.URL.Path == "/jobs/1/manifest.json":
			w.Write([]byte(`{"version":"probity.manifest.v0","input":"x.safetensors","model":"../../models/m.safetensors"}`))
		case r.URL.Path == "/slow/manifest.json":
			time.Sleep(2 * time.Second)
		case r.URL.Path == "/big/manifest.json":
			w.Write([]byte(`{"version":"probity.manifest.v0","input":"/jobs/1/x.safetensors","model":"/models/m.safetensors"}` + strings.Repeat(" ", 2000)))
		case files[r.URL.Path] != "":
			http.ServeFile(w, r, files[r.URL.Path])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := &prover.Fetcher{MaxManifestBytes: 1024, MaxFileBytes: 1 << 20, Timeout: time.Second}
	ctx := context.Background()
	gotIn, gotModel, err := f.FetchJob(ctx, srv.URL+"/jobs/1/manifest.json", filepath.Join(dir, "w"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prover.CheckJobFiles(specFor(t, in, mf), gotIn, gotModel); err != nil {
		t.Fatalf("fetched files do not check: %v", err)
	}
	for _, c := range []struct{ uri, want string }{
		{srv.URL + "/big/manifest.json", "exceeds the limit"},
		{srv.URL + "/slow/manifest.json", "deadline"},
		{srv.URL + "/none/manifest.json", "404"},
		{"ftp://host/manifest.json", "scheme"},
		{"file://" + dir + "/manifest.json", "not allowed"},
	} {
		_, _, err := f.FetchJob(ctx, c.uri, filepath.Join(dir, "w2"))
		if !errors.Is(err, prover.ErrFetch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.uri, err, c.want)
		}
	}
	small := &prover.Fetcher{MaxManifestBytes: 1024, MaxFileBytes: 100, Timeout: time.Second}
	if _, _, err := small.FetchJob(ctx, srv.URL+"/jobs/1/manifest.json", filepath.Join(dir, "w3")); !errors.Is(err, prover.ErrFetch) {
		t.Errorf("file over the limit: %v", err)
	}
}

func TestCheckJobFilesMismatch(t *testing.T) {
	dir := t.TempDir()
	in, mf := writeFiles(t, dir, 4, 5, 16, 4)
	good := specFor(t, in, mf)
	if _, err := prover.CheckJobFiles(good, in, mf); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		mod  func(s *chain.JobSpec)
	}{
		{"inputRoot", func(s *chain.JobSpec) { s.InputRoot = new(big.Int).Add(s.InputRoot, big.NewInt(1)) }},
		{"rows", func(s *chain.JobSpec) { s.Rows = 6 }},
		{"layers[0].weightsRoot", func(s *chain.JobSpec) { s.Layers[0].WeightsRoot = big.NewInt(5) }},
		{"layers[0].epilogue", func(s *chain.JobSpec) { s.Layers[0].Epilogue = new(big.Int).Add(s.Layers[0].Epilogue, big.NewInt(1)) }},
		{"layers", func(s *chain.JobSpec) { s.Layers = append(s.Layers, s.Layers[0]) }},
	} {
		s := good
		s.Layers = append([]chain.Layer(nil), good.Layers...)
		c.mod(&s)
		_, err := prover.CheckJobFiles(s, in, mf)
		var me *prover.MismatchError
		if !errors.As(err, &me) || me.What != c.what || !errors.Is(err, prover.ErrMismatch) {
			t.Errorf("%s: %v", c.what, err)
		}
	}
	// A model of another shape than the spec names.
	_, other := writeFiles(t, t.TempDir(), 4, 5, 16, 8)
	var me *prover.MismatchError
	if _, err := prover.CheckJobFiles(good, in, other); !errors.As(err, &me) || me.What != "layers[0] dims" {
		t.Errorf("wrong dims: %v", err)
	}
	if _, err := prover.CheckJobFiles(good, in, filepath.Join(dir, "missing")); !errors.As(err, &me) || me.What != "model file" {
		t.Errorf("missing model: %v", err)
	}
}

func TestJournal(t *testing.T) {
	j, err := prover.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"10", "9", "100"} {
		if err := j.Save(&prover.Record{JobID: id, Step: prover.StepLocked, Stake: "5"}); err != nil {
			t.Fatal(err)
		}
	}
	// A temp file left by a crash mid-write is ignored.
	os.WriteFile(filepath.Join(j.Dir, ".11.json.tmp123"), []byte("{garbage"), 0o600)
	all, err := j.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].JobID != "9" || all[1].JobID != "10" || all[2].JobID != "100" {
		t.Fatalf("records %v", all)
	}
	r, err := j.Load("10")
	if err != nil || r.Step != prover.StepLocked || r.Version != prover.JournalVersion {
		t.Fatalf("load: %+v %v", r, err)
	}
	r.Step = prover.StepExecuted
	r.OutputRoots = []string{"0x01"}
	if err := j.Save(r); err != nil {
		t.Fatal(err)
	}
	if r2, _ := j.Load("10"); r2.Step != prover.StepExecuted || r2.Roots()[0].Int64() != 1 {
		t.Fatalf("overwrite lost: %+v", r2)
	}
	os.WriteFile(filepath.Join(j.Dir, "7.json"), []byte(`{"version":2,"jobId":"7","step":"locked"}`), 0o600)
	if _, err := j.Load("7"); !errors.Is(err, prover.ErrJournal) || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("foreign version: %v", err)
	}
	if _, err := j.All(); !errors.Is(err, prover.ErrJournal) {
		t.Fatalf("All with a foreign record: %v", err)
	}
}

func FuzzJournalRecord(f *testing.F) {
	f.Add([]byte(`{"version":1,"jobId":"3","step":"committed","outputRoots":["0x05"]}`))
	f.Add([]byte(`{"version":1,"jobId":"x","step":"locked"}`))
	f.Add([]byte(`{"version":1,"jobId":"3","step":"teleported"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		j, _ := prover.OpenJournal(dir)
		os.WriteFile(filepath.Join(dir, "1.json"), b, 0o600)
		r, err := j.Load("1")
		if err != nil {
			if !errors.Is(err, prover.ErrJournal) {
				t.Fatalf("error outside ErrJournal: %v", err)
			}
			return
		}
		// Whatever was accepted survives a save and reload unchanged in meaning.
		if err := j.Save(r); err != nil {
			t.Fatal(err)
		}
		r2, err := j.Load(r.JobID)
		if err != nil || r2.Step != r.Step || r2.JobID != r.JobID {
			t.Fatalf("round trip: %+v %v", r2, err)
		}
	})
}
