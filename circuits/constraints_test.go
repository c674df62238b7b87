package circuits

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/constraints.csv with the measured counts")

const constraintsCSV = "testdata/constraints.csv"

// Constraint counts are pinned: a change that moves them must show up in review (and is
// recorded with -update). llm-4096 is pinned too but only compiled with -tags heavy (35 s, 3.3 GB).
func TestConstraintCounts(t *testing.T) {
	pinned := map[string][2]int{}
	if f, err := os.Open(constraintsCSV); err == nil {
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			c, _ := strconv.Atoi(r[1])
			ps, _ := strconv.Atoi(r[2])
			pinned[r[0]] = [2]int{c, ps}
		}
	} else if !*update {
		t.Fatalf("%s missing: run with -update", constraintsCSV)
	}
	rows := [][]string{{"shape", "constraints", "per_sample", "public", "shape_id"}}
	for _, s := range Catalogue() {
		if s.K >= 4096 && !heavyTests && !*update {
			continue
		}
		ccs, err := Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		n := ccs.GetNbConstraints()
		per := n / int(s.Kn)
		if ccs.GetNbPublicVariables() != 6 { // the constant one plus five inputs
			t.Errorf("%s: %d public variables, want 6", s.Name, ccs.GetNbPublicVariables())
		}
		if p, ok := pinned[s.Name]; !*update && (!ok || p[0] != n) {
			t.Errorf("%s: %d constraints, pinned %v (run go test ./circuits -run TestConstraintCounts -update)", s.Name, n, p)
		}
		rows = append(rows, []string{s.Name, strconv.Itoa(n), strconv.Itoa(per), "5", s.IDHex()})
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(constraintsCSV), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(constraintsCSV)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		f.Close()
		fmt.Println("wrote", constraintsCSV)
	}
}

// The mlp-256 shape must stay within the per-sample budget the performance target rests on.
func TestPerSampleBudget(t *testing.T) {
	s, _ := Lookup("mlp-256")
	ccs, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	if per := ccs.GetNbConstraints() / int(s.Kn); per > 18000 {
		t.Fatalf("mlp-256: %d constraints per sample, budget 18000", per)
	}
}
