// Package models ships the integer models Probity's demo and tests generate with, each the
// output of `probity model import` on a float checkpoint in testdata/models (whose README says
// how the checkpoint was made), and pinned to it by a test that re-imports the checkpoint and
// requires the same bytes.
package models

import (
	_ "embed"

	"github.com/probitylabs/probity/model"
)

// KJVFile is the integer form of testdata/models/kjv-gpt2: a byte-level GPT-2 (vocabulary 256,
// context 128, width 64, 4 heads, 2 blocks) trained on the King James Bible.
//
//go:embed kjv-gpt2.safetensors
var KJVFile []byte

// KJVLogitScale is the real value of one logit code of KJVFile (what `probity model import`
// prints), for sampling with a temperature: `probity generate --temperature T --logit-scale`.
const KJVLogitScale = 0.235454

// KJV parses KJVFile.
func KJV() (*model.Model, error) { return model.Parse(KJVFile) }

// KJVImport is how KJVFile was made (from the repository root), and what the test re-runs.
const KJVImport = "probity model import --checkpoint testdata/models/kjv-gpt2 " +
	"--calibration testdata/models/kjv-gpt2/calibration.txt --heldout testdata/models/kjv-gpt2/heldout.txt " +
	"--out models/kjv-gpt2.safetensors"
