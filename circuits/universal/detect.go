package universal

import (
	"math"

	"github.com/probitylabs/probity/model"
)

// Bound is the detection bound of one slot family for one job (specs/circuit.md §3): the
// probability that the proof's slots of that family would catch a falsification.
type Bound struct {
	Family string
	Slots  int
	// Units is what one slot draws uniformly among: the family's op instances (op kinds), the
	// input rows, or the generation steps.
	Units int
	// Instance is the probability of catching a provider that falsifies one whole unit (every
	// element of one op instance, one input row, one token); Element that of one falsified
	// element of one op instance, whose result has Elements elements.
	Instance, Element float64
	Elements          int
}

// Bounds returns the bound of every family the model uses, for a trace of T rows and n
// generated tokens.
func (cl *Class) Bounds(m *model.Model, T, n int) ([]Bound, error) {
	shapes, err := m.Shapes()
	if err != nil {
		return nil, err
	}
	counts := m.KindCounts()
	catch := func(p float64, k int) float64 { return 1 - math.Pow(1-p, float64(k)) }
	var out []Bound
	for k := 1; k <= model.NumKinds; k++ {
		if counts[k] == 0 {
			continue
		}
		// the smallest result among the kind's ops: the hardest element to hit
		elems := math.MaxInt
		for i := range m.Ops {
			if int(m.Ops[i].Kind) == k {
				w := shapes[i+1].Width
				if w == 0 {
					w = T
				}
				elems = min(elems, T*w)
			}
		}
		K, u := cl.Slots[k], counts[k]
		out = append(out, Bound{Family: model.Kind(k).String(), Slots: K, Units: u, Elements: elems,
			Instance: catch(1/float64(u), K), Element: catch(1/float64(u*elems), K)})
	}
	out = append(out,
		Bound{Family: "input", Slots: cl.Slots[FamilyInput], Units: T, Elements: 1,
			Instance: catch(1/float64(T), cl.Slots[FamilyInput]), Element: catch(1/float64(T), cl.Slots[FamilyInput])},
		Bound{Family: "select", Slots: cl.Slots[FamilySelect], Units: n, Elements: 1,
			Instance: catch(1/float64(n), cl.Slots[FamilySelect]), Element: catch(1/float64(n), cl.Slots[FamilySelect])})
	return out, nil
}
