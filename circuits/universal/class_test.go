package universal

import "testing"

// The catalogue and the test classes are valid; a class whose rows outgrow its parameter trees
// or its column comparisons is refused.
func TestClassValidate(t *testing.T) {
	for _, cl := range append(Classes(), testClass()) {
		if err := cl.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	bad := Small()
	bad.RowDepth = bad.ParamDepth + 1
	if bad.Validate() == nil {
		t.Fatal("RowDepth > ParamDepth accepted")
	}
	bad = Small()
	bad.Elems = 1 // 31 values: 5 bits, fewer than 7 row bits
	if bad.Validate() == nil {
		t.Fatal("rows wider than the column bits accepted")
	}
}
