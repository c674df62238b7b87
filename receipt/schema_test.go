package receipt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSchemaMatchesStruct keeps specs/receipt.schema.json and the Go types in step: every
// object of the schema lists exactly the JSON keys of the matching Go struct, all required.
func TestSchemaMatchesStruct(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "specs", "receipt.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	defs := schema["$defs"].(map[string]any)
	props := schema["properties"].(map[string]any)
	objects := []struct {
		name string
		node any
		typ  reflect.Type
	}{
		{"receipt", schema, reflect.TypeOf(Receipt{})},
		{"job", props["job"], reflect.TypeOf(Job{})},
		{"layer", defs["layer"], reflect.TypeOf(Layer{})},
		{"proof", defs["proof"], reflect.TypeOf(Proof{})},
		{"detection", props["detection"], reflect.TypeOf(Detection{})},
		{"timings", props["timings"], reflect.TypeOf(Timings{})},
	}
	for _, o := range objects {
		node := o.node.(map[string]any)
		var schemaProps, required []string
		for k := range node["properties"].(map[string]any) {
			schemaProps = append(schemaProps, k)
		}
		for _, r := range node["required"].([]any) {
			required = append(required, r.(string))
		}
		if node["additionalProperties"] != false {
			t.Errorf("%s: schema allows additional properties; the decoder does not", o.name)
		}
		var tags []string
		for i := range o.typ.NumField() {
			tag := strings.Split(o.typ.Field(i).Tag.Get("json"), ",")[0]
			tags = append(tags, tag)
		}
		// The required list must be in struct order: it documents the canonical key order.
		if !slices.Equal(required, tags) {
			t.Errorf("%s: schema required %v, Go fields %v", o.name, required, tags)
		}
		slices.Sort(schemaProps)
		slices.Sort(tags)
		if !slices.Equal(schemaProps, tags) {
			t.Errorf("%s: schema properties %v, Go fields %v", o.name, schemaProps, tags)
		}
	}
	pi := defs["proof"].(map[string]any)["properties"].(map[string]any)["publicInputs"].(map[string]any)
	if int(pi["minItems"].(float64)) != NumPublicInputs || int(pi["maxItems"].(float64)) != NumPublicInputs {
		t.Errorf("schema publicInputs length differs from NumPublicInputs = %d", NumPublicInputs)
	}
	if v := props["version"].(map[string]any)["const"]; v != Version {
		t.Errorf("schema version %v, Go %s", v, Version)
	}
}
