package sdk_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/probitylabs/probity/circuits/universal/universaltest"
	"github.com/probitylabs/probity/jobs"
	"github.com/probitylabs/probity/model"
	"github.com/probitylabs/probity/sdk"
)

// A trace whose header declares far more rows than the job has is refused from the header
// alone: the file here is only a header (its data section is missing), so reading it whole
// would fail otherwise, and a real one that size would cost the reading.
func TestCheckDeliveryRefusesRowsFromHeader(t *testing.T) {
	m, err := universaltest.Model(1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "model.safetensors")
	if err := model.WriteFile(modelPath, m); err != nil {
		t.Fatal(err)
	}
	root, err := m.Root()
	if err != nil {
		t.Fatal(err)
	}
	job := &jobs.GenJob{ModelRoot: root, Prompt: []int32{1, 2, 3}, New: 2}
	header := []byte(`{"` + m.Input.Name + `":{"dtype":"I32","shape":[100000000],"data_offsets":[0,400000000]}}`)
	file := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	if err := os.WriteFile(filepath.Join(dir, jobs.TraceFile), append(file, header...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = sdk.CheckDelivery(modelPath, job, dir)
	if !errors.Is(err, jobs.ErrFile) || !strings.Contains(err.Error(), "shape [100000000] in its header, the job has 4 rows") {
		t.Fatalf("got %v", err)
	}
}
