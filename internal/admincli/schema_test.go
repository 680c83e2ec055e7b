package admincli_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tollgate-gw/tollgate/internal/admincli"
)

// The configuration's JSON Schema accepts what export writes and refuses
// what apply refuses for its shape (unknown or misspelled keys).
func TestConfigSchema(t *testing.T) {
	b, err := json.Marshal(admincli.ConfigSchema())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("config.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("config.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	validate := func(yamlText string) error {
		t.Helper()
		js, err := yaml.YAMLToJSON([]byte(yamlText))
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(inst)
	}

	// An export of a configured gateway.
	g := startGatewayWith(t, false)
	g.env["K1_VALUE"] = "k1-secret-value-0123456789"
	dir := t.TempDir()
	g.mustRun(t, "apply", "-f", writeConfig(t, dir, strings.ReplaceAll(shopConfig, "BODY", "hi")))
	exported := g.mustRun(t, "export")
	if err := validate(exported); err != nil {
		t.Errorf("the export does not validate: %v\n%s", err, exported)
	}
	if err := validate(strings.ReplaceAll(shopConfig, "BODY", "hi")); err != nil {
		t.Errorf("the example configuration does not validate: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown top-level key": "colours: []\n",
		"misspelled field":      "apis:\n  - id: shop\n    dispalyName: Shop\n",
		"missing id":            "keys:\n  - displayName: k\n",
		"wrong enum":            "apis:\n  - id: shop\n    protocol: PROTOCOL_SMTP\n",
		"output-only field":     "apis:\n  - id: shop\n    uid: x\n",
	} {
		if err := validate(bad); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	// The command writes the same schema.
	out := filepath.Join(dir, "schema.json")
	g.mustRun(t, "schema", "-f", out)
}
