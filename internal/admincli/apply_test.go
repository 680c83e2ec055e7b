package admincli_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// get returns the status and body of a GET to the gateway's data port.
func (g *gateway) get(t *testing.T, path, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.DataAddr()+path, nil)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// writeConfig writes a configuration and the protoset it names.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop.binpb"), fds, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const shopConfig = `
apis:
  - id: shop
    displayName: Shop
    fileDescriptorSetFile: shop.binpb
    defaultIntegration: {grpc: {target: "127.0.0.1:1"}}
    routes:
      - id: hello
        http: {method: GET, path: /hello}
        integration: {mock: {body: BODY}}
        apiKeyRequired: true
    stages:
      - id: prod
        deploy: true
        variables: {color: blue}
keys:
  - id: k1
    displayName: Key one
    valueFrom: {env: K1_VALUE}
plans:
  - id: gold
    apiStages: [{stage: apis/shop/stages/prod}]
    keys: [k1]
`

func TestApply(t *testing.T) {
	g := startGatewayWith(t, false)
	const key = "k1-secret-value-0123456789"
	g.env["K1_VALUE"] = key
	dir := t.TempDir()
	file := writeConfig(t, dir, strings.ReplaceAll(shopConfig, "BODY", "hi"))

	out := g.mustRun(t, "apply", "-f", file)
	for _, want := range []string{"create apis/shop", "create apis/shop/routes/hello", "create a deployment of apis/shop", "create apis/shop/stages/prod", "create apiKeys/k1", "add apiKeys/k1 to usagePlans/gold"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, key) {
		t.Error("apply printed the key's value")
	}
	if code, body := g.get(t, "/prod/hello", key); code != 200 || body != "hi" {
		t.Fatalf("GET /prod/hello with the key = %d %q", code, body)
	}

	// Idempotent.
	if out := g.mustRun(t, "apply", "-f", file); !strings.Contains(out, "no changes") {
		t.Errorf("second apply:\n%s", out)
	}

	// A dry run says what would change and changes nothing; apply deploys it.
	writeConfig(t, dir, strings.ReplaceAll(shopConfig, "BODY", "hello"))
	out = g.mustRun(t, "apply", "-f", file, "--dry-run")
	if !strings.Contains(out, "would update apis/shop/routes/hello (integration)") || !strings.Contains(out, "would create a deployment") {
		t.Errorf("dry run:\n%s", out)
	}
	if _, body := g.get(t, "/prod/hello", key); body != "hi" {
		t.Errorf("the dry run changed the gateway: %q", body)
	}
	g.mustRun(t, "apply", "-f", file)
	if _, body := g.get(t, "/prod/hello", key); body != "hello" {
		t.Errorf("after apply: %q, want the new body deployed", body)
	}

	// Export, then apply on an empty gateway: the same configuration.
	exported := filepath.Join(dir, "export.yaml")
	g.mustRun(t, "export", "-f", exported)
	g2 := startGatewayWith(t, false)
	g2.env["K1_VALUE"] = key
	out = g2.mustRun(t, "apply", "-f", exported)
	if !strings.Contains(out, "create apis/shop/routes/hello") {
		t.Errorf("apply of the export:\n%s", out)
	}
	if out := g2.mustRun(t, "apply", "-f", exported); !strings.Contains(out, "no changes") {
		t.Errorf("export → apply does not round-trip:\n%s", out)
	}
	if out := g.mustRun(t, "apply", "-f", exported); !strings.Contains(out, "no changes") {
		t.Errorf("the export differs from the gateway it came from:\n%s", out)
	}

	// --prune deletes what the file no longer names.
	trimmed := strings.Replace(strings.ReplaceAll(shopConfig, "BODY", "hello"), "keys:\n  - id: k1\n    displayName: Key one\n    valueFrom: {env: K1_VALUE}\n", "", 1)
	trimmed = strings.Replace(trimmed, "    keys: [k1]\n", "", 1)
	writeConfig(t, dir, trimmed)
	out = g.mustRun(t, "apply", "-f", file, "--prune")
	if !strings.Contains(out, "remove apiKeys/k1 from usagePlans/gold") || !strings.Contains(out, "delete apiKeys/k1") {
		t.Errorf("prune:\n%s", out)
	}
}

// A bad field is named with its file and resource.
func TestApplyErrors(t *testing.T) {
	g := startGatewayWith(t, false)
	dir := t.TempDir()
	file := writeConfig(t, dir, `
apis:
  - id: shop
    fileDescriptorSetFile: shop.binpb
    routes:
      - id: bad
        http: {method: FETCH, path: /x}
        integration: {mock: {}}
`)
	_, err := g.run(t, "apply", "-f", file)
	if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "apis[shop].routes[bad]") || !strings.Contains(err.Error(), "route.http.method") {
		t.Errorf("error = %v; want the file, the resource and the field", err)
	}
	file = writeConfig(t, dir, "apis:\n  - id: shop\n    colour: blue\n")
	if _, err := g.run(t, "apply", "-f", file); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field: %v", err)
	}
	file = writeConfig(t, dir, "keys:\n  - id: k\n    value: secret-in-the-file-0123456789\n")
	if _, err := g.run(t, "apply", "-f", file); err == nil || !strings.Contains(err.Error(), "valueFrom") {
		t.Errorf("a key value in the file: %v", err)
	}
}
