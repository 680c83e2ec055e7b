package admincli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// writeUnannotated writes the example API's protoset without any
// google.api.http option to dir/name.
func writeUnannotated(t *testing.T, dir, name string) string {
	t.Helper()
	set := examplebackend.FileDescriptorSet()
	for _, f := range set.GetFile() {
		for _, s := range f.GetService() {
			for _, m := range s.GetMethod() {
				if m.GetOptions() != nil {
					proto.ClearExtension(m.GetOptions(), annotations.E_Http)
				}
			}
		}
	}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const shelvesRule = "type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n  - selector: tollgate.example.v1.BookstoreService.ListShelves\n    get: /v1/PREFIX/shelves\n"

// TestServiceConfigFromFiles gives an API without annotations its HTTP
// rules from a service config file, with `apis create --set-file` and with
// `apply`'s serviceConfigFile.
func TestServiceConfigFromFiles(t *testing.T) {
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	g := startGatewayWith(t, false)
	dir := t.TempDir()
	fds := writeUnannotated(t, dir, "shop.binpb")
	svc := writeFile(t, filepath.Join(dir, "api_config.yaml"), strings.ReplaceAll(shelvesRule, "PREFIX", "cli"))

	g.mustRun(t, "apis", "create", "cli", "--data", `{"defaultIntegration":{"grpc":{"target":"`+b.Addr()+`"}}}`,
		"--set-file", "file_descriptor_set="+fds, "--set-file", "serviceConfigYaml="+svc)
	g.mustRun(t, "deploy", "cli", "--stage", "prod")
	if code, body := g.get(t, "/prod/v1/cli/shelves", ""); code != 200 || !strings.Contains(body, "shelves") {
		t.Errorf("GET /prod/v1/cli/shelves = %d %s", code, body)
	}

	// update --set-file changes the field (and only it).
	writeFile(t, svc, strings.ReplaceAll(shelvesRule, "PREFIX", "cli2"))
	if out := g.mustRun(t, "apis", "update", "apis/cli", "--set-file", "service_config_yaml="+svc, "-o", "json"); !strings.Contains(out, "cli2") {
		t.Errorf("apis update --set-file:\n%s", out)
	}
	g.mustRun(t, "deploy", "cli", "--stage", "prod")
	if code, body := g.get(t, "/prod/v1/cli2/shelves", ""); code != 200 {
		t.Errorf("GET /prod/v1/cli2/shelves = %d %s", code, body)
	}

	// A field that cannot come from a file is named with the ones that can.
	if _, err := g.run(t, "apis", "create", "x", "--set-file", "protocol="+svc); err == nil || !strings.Contains(err.Error(), "service_config_yaml") {
		t.Errorf("--set-file protocol=...: %v", err)
	}
	// A bad rule is the server's INVALID_ARGUMENT, naming the rule.
	writeFile(t, svc, "http:\n  rules:\n  - selector: tollgate.example.v1.Nope.Get\n    get: /x\n")
	if _, err := g.run(t, "apis", "update", "apis/cli", "--set-file", "service_config_yaml="+svc); err == nil || !strings.Contains(err.Error(), "http.rules[0].selector") {
		t.Errorf("a bad rule: %v", err)
	}

	// apply reads serviceConfigFile relative to its file; a second apply
	// changes nothing.
	writeFile(t, filepath.Join(dir, "apply_config.yaml"), strings.ReplaceAll(shelvesRule, "PREFIX", "apply"))
	cfg := writeFile(t, filepath.Join(dir, "tollgate.yaml"), `
apis:
  - id: declared
    fileDescriptorSetFile: shop.binpb
    serviceConfigFile: apply_config.yaml
    defaultIntegration: {grpc: {target: "`+b.Addr()+`"}}
    stages:
      - id: live
        deploy: true
`)
	g.mustRun(t, "apply", "-f", cfg)
	if code, body := g.get(t, "/live/v1/apply/shelves", ""); code != 200 {
		t.Errorf("GET /live/v1/apply/shelves = %d %s", code, body)
	}
	if out := g.mustRun(t, "apply", "-f", cfg); !strings.Contains(out, "no changes") {
		t.Errorf("second apply:\n%s", out)
	}
}
