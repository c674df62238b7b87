package universal

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/probitylabs/probity/model"
)

var update = flag.Bool("update", false, "rewrite testdata/constraints.csv with the measured counts")

const constraintsCSV = "testdata/constraints.csv"

// familyName names slot families in the CSV.
func familyName(f int) string {
	switch f {
	case FamilyInput:
		return "input"
	case FamilySelect:
		return "select"
	}
	return model.Kind(f).String()
}

// costs compiles the class without slots and with one slot of each family: the job-level
// part and the cost of one slot per family. Slots are independent, so the class's total is
// base + sum Slots[f] * per[f]; the test checks that against a full compile.
func costs(t *testing.T, cl *Class) (base int, per [numFamilies + 1]int) {
	t.Helper()
	count := func(c *Class) int {
		ccs, err := c.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return ccs.GetNbConstraints()
	}
	empty := *cl
	empty.Slots = [numFamilies + 1]int{}
	base = count(&empty)
	for f := 1; f <= numFamilies; f++ {
		one := empty
		one.Slots[f] = 1
		per[f] = count(&one) - base
	}
	return base, per
}

// Constraint counts are pinned per slot family: a change that moves them must show up in
// review (and is recorded with -update). gpt2-small is pinned under -tags heavy only.
func TestConstraintCounts(t *testing.T) {
	pinned := map[[2]string]int{}
	version, tVersion := "", ""
	var fileRows [][]string
	if f, err := os.Open(constraintsCSV); err == nil {
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		fileRows = rows[1:]
		for _, r := range rows[1:] {
			n, _ := strconv.Atoi(r[2])
			pinned[[2]string{r[0], r[1]}] = n
			switch r[1] {
			case "version":
				version = r[2]
			case "targeted version":
				tVersion = r[2]
			}
		}
	} else if !*update {
		t.Fatalf("%s missing: run with -update", constraintsCSV)
	}
	rows := [][]string{{"class", "part", "constraints"}, {"all", "version", strconv.Itoa(CircuitVersion)},
		{"all", "targeted version", strconv.Itoa(TargetedVersion)}}
	sameVersion := version == strconv.Itoa(CircuitVersion)
	sameTVersion := tVersion == strconv.Itoa(TargetedVersion)
	changed, tChanged := false, false
	for _, cl := range Classes() {
		if cl.Name != "small" && !heavyTests {
			for _, r := range fileRows { // keep the heavy class's pinned rows on -update
				if r[0] == cl.Name {
					rows = append(rows, r)
				}
			}
			continue
		}
		base, per := costs(t, cl)
		total := base
		check := func(part string, n int) {
			p, ok := pinned[[2]string{cl.Name, part}]
			if !ok || p != n {
				// A class's total follows its slot counts, which are in its id; the job and
				// slot parts are the circuit's code, whose change needs a new version.
				// The targeted circuit's version is its own (TargetedClass.String).
				switch part {
				case "total":
				case "targeted":
					tChanged = true
				default:
					changed = true
				}
				if !*update {
					t.Errorf("%s %s: %d constraints, pinned %d (bump CircuitVersion, or TargetedVersion for the targeted row, then run go test ./circuits/universal -run TestConstraintCounts -update)", cl.Name, part, n, p)
				}
			}
			rows = append(rows, []string{cl.Name, part, strconv.Itoa(n)})
		}
		check("job", base)
		for f := 1; f <= numFamilies; f++ {
			check("slot "+familyName(f), per[f])
			total += cl.Slots[f] * per[f]
		}
		ccs, err := cl.Compile()
		if err != nil {
			t.Fatal(err)
		}
		if n := ccs.GetNbConstraints(); n != total {
			t.Errorf("%s: %d constraints, job + slots say %d", cl.Name, n, total)
		}
		if ccs.GetNbPublicVariables() != 6 { // the constant one and five inputs
			t.Errorf("%s: %d public variables, want 6", cl.Name, ccs.GetNbPublicVariables())
		}
		check("total", total)
		// The targeted circuit (circuit.md §5): the job level, 13 op slots, one input and one
		// select slot, whatever the class's slot counts.
		tcs, err := TargetedClass{cl}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		if tcs.GetNbPublicVariables() != 6 {
			t.Errorf("%s targeted: %d public variables, want 6", cl.Name, tcs.GetNbPublicVariables())
		}
		check("targeted", tcs.GetNbConstraints())
	}
	if *update && changed && sameVersion {
		t.Fatalf("the constraints changed under circuit version %d: bump CircuitVersion (cached and registered keys are for the old circuit)", CircuitVersion)
	}
	if *update && tChanged && sameTVersion {
		t.Fatalf("the targeted constraints changed under targeted version %d: bump TargetedVersion (cached and registered keys are for the old circuit)", TargetedVersion)
	}
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(constraintsCSV)
		if err != nil {
			t.Fatal(err)
		}
		if err := csv.NewWriter(f).WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		f.Close()
		fmt.Println("wrote", constraintsCSV)
	}
}
