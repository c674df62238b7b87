package receipt

import "github.com/probitylabs/probity/circuits/universal"

// ClassOf spells a width class as a receipt's class field: its identifier, its name and its
// slots of families 1..15.
func ClassOf(cl *universal.Class) Class {
	return Class{ID: cl.ID(), Name: cl.Name, Slots: append([]int(nil), cl.Slots[1:]...)}
}

// DetectionOf spells a job's detection bounds (universal.Class.Bounds) as a receipt's
// detection field; a prover fills the receipt with it, an auditor compares with it.
func DetectionOf(bounds []universal.Bound) []Bound {
	out := make([]Bound, len(bounds))
	for i, b := range bounds {
		out[i] = Bound{Family: b.Family, Slots: b.Slots, Units: b.Units, Elements: b.Elements, Instance: b.Instance, Element: b.Element}
	}
	return out
}
