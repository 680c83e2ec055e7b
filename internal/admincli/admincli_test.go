package admincli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/admincli"
	"github.com/tollgate-gw/tollgate/server"
)

// gateway is a real gateway with the demo deployed, on loopback.
type gateway struct {
	*server.Server
	env map[string]string
}

func startGateway(t *testing.T) *gateway { return startGatewayWith(t, true) }

// startGatewayWith starts a gateway, with the demo or empty.
func startGatewayWith(t *testing.T, demo bool) *gateway {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir: t.TempDir(), AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second, Demo: demo,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready after 30 s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &gateway{Server: s, env: map[string]string{
		admincli.EnvAdminURL: "http://" + s.AdminAddr(), admincli.EnvAdminToken: s.AdminToken(),
	}}
}

// run runs a client command as the tollgate binary would.
func (g *gateway) run(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = admincli.Execute(t.Context(), args, func(k string) string { return g.env[k] }, &out, &errOut)
	return out.String(), err
}

func (g *gateway) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := g.run(t, args...)
	if err != nil {
		t.Fatalf("tollgate %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func TestResourceCommands(t *testing.T) {
	g := startGateway(t)

	// A table for people, JSON and YAML for scripts.
	if out := g.mustRun(t, "apis", "list"); !strings.Contains(out, "NAME") || !strings.Contains(out, "apis/bookstore") || !strings.Contains(out, "apis/chat") {
		t.Errorf("apis list:\n%s", out)
	}
	var apis []map[string]any
	if err := json.Unmarshal([]byte(g.mustRun(t, "apis", "list", "-o", "json")), &apis); err != nil || len(apis) != 2 {
		t.Errorf("apis list -o json: %v, %v", apis, err)
	}
	if out := g.mustRun(t, "stages", "get", "demo", "--api", "bookstore", "-o", "yaml"); !strings.Contains(out, "name: apis/bookstore/stages/demo") {
		t.Errorf("stages get -o yaml:\n%s", out)
	}

	// Create from YAML on a file, update one field, delete.
	file := filepath.Join(t.TempDir(), "route.yaml")
	if err := os.WriteFile(file, []byte("httpMatch:\n  method: GET\n  path: /hello\nmock:\n  statusCode: 200\n  body: hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := g.run(t, "routes", "create", "hello", "--api", "bookstore", "-f", file); err == nil {
		t.Fatal("a route with misspelled fields was created")
	}
	if err := os.WriteFile(file, []byte("http:\n  method: GET\n  path: /hello\nintegration:\n  mock:\n    statusCode: 200\n    body: hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := g.mustRun(t, "routes", "create", "hello", "--api", "bookstore", "-f", file); !strings.Contains(out, "apis/bookstore/routes/hello") {
		t.Errorf("routes create:\n%s", out)
	}
	if out := g.mustRun(t, "routes", "update", "apis/bookstore/routes/hello", "--data", `{"description":"says hi"}`, "-o", "json"); !strings.Contains(out, `"says hi"`) || !strings.Contains(out, `"/hello"`) {
		t.Errorf("routes update kept the other fields and changed the description?\n%s", out)
	}

	// A stage's Redis settings pass through as any field (enum by name).
	if out := g.mustRun(t, "stages", "update", "apis/bookstore/stages/demo", "--data", `{"redisFailureMode":"REDIS_FAILURE_MODE_FAIL_CLOSED","sharedCache":true}`, "-o", "json"); !strings.Contains(out, `"REDIS_FAILURE_MODE_FAIL_CLOSED"`) || !strings.Contains(out, `"sharedCache": true`) {
		t.Errorf("stages update with redis settings:\n%s", out)
	}
	if _, err := g.run(t, "stages", "update", "apis/bookstore/stages/demo", "--data", `{"redisFailureMode":"SOMETIMES"}`); err == nil {
		t.Error("an unknown redis failure mode was accepted")
	}

	// deploy makes the route live.
	if out := g.mustRun(t, "deploy", "bookstore", "--stage", "demo"); !strings.Contains(out, "stage apis/bookstore/stages/demo: apis/bookstore/deployments/") {
		t.Errorf("deploy:\n%s", out)
	}
	resp, err := http.Get("http://" + g.DataAddr() + "/demo/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hi" {
		t.Errorf("the deployed route answers %d %q", resp.StatusCode, body)
	}

	g.mustRun(t, "routes", "delete", "hello", "--api", "bookstore")
	if _, err := g.run(t, "routes", "get", "hello", "--api", "bookstore"); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("get after delete: %v", err)
	}

	// Keys and plans under their short names; usage; cache flush; settings.
	g.mustRun(t, "keys", "create", "acme", "--data", `{"displayName":"Acme"}`)
	g.mustRun(t, "plans", "create", "gold", "--data", `{"apiStages":[{"stage":"apis/bookstore/stages/demo"}],"quota":{"limit":10,"period":"PERIOD_DAY"}}`)
	g.mustRun(t, "plan-keys", "create", "--usage-plan", "gold", "--data", `{"apiKey":"apiKeys/acme"}`)
	if out := g.mustRun(t, "usage", "gold"); !strings.Contains(out, "apiKeys/acme") || !strings.Contains(out, "QUOTA LEFT") {
		t.Errorf("usage:\n%s", out)
	}
	if out := g.mustRun(t, "flush-cache", "bookstore", "demo"); !strings.Contains(out, "emptied the response cache") {
		t.Errorf("flush-cache:\n%s", out)
	}
	if out := g.mustRun(t, "settings", "get"); !strings.Contains(out, "throttle") {
		t.Errorf("settings get:\n%s", out)
	}
	// protojson varies its spacing on purpose (per binary), so the output
	// is compared without whitespace.
	if out := g.mustRun(t, "settings", "update", "--data", `{"throttle":{"rateLimit":500,"burstLimit":100}}`, "-o", "json"); !strings.Contains(strings.Join(strings.Fields(out), ""), `"rateLimit":500`) {
		t.Errorf("settings update:\n%s", out)
	}
}

// The audit log of the writes above, oldest first, without secrets.
func TestLogs(t *testing.T) {
	g := startGatewayWith(t, false)
	g.mustRun(t, "keys", "create", "acme", "--data", `{"displayName":"Acme"}`)
	g.mustRun(t, "keys", "update", "acme", "--data", `{"description":"pilot"}`)
	out := g.mustRun(t, "logs", "--since", "10m")
	create, update := strings.Index(out, "CreateApiKey apiKeys/acme"), strings.Index(out, "UpdateApiKey apiKeys/acme (description)")
	if create < 0 || update < create || !strings.Contains(out, "bootstrap") {
		t.Errorf("logs, want the create then the update by the bootstrap token:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(g.mustRun(t, "logs", "--since", "10m", "-o", "json", "--resource", "apiKeys/acme")), "\n")
	if len(lines) != 2 {
		t.Fatalf("logs -o json --resource: %d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["resource"] != "apiKeys/acme" {
			t.Errorf("line %q: %v", l, err)
		}
	}
}

// Errors say what to fix: the bad fields, the missing parent.
func TestErrors(t *testing.T) {
	g := startGateway(t)
	_, err := g.run(t, "plans", "create", "bad", "--data", `{"throttle":{"rateLimit":-1}}`)
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") || !strings.Contains(err.Error(), "usage_plan.throttle.rate_limit") {
		t.Errorf("bad input: %v, want the field named", err)
	}
	if _, err := g.run(t, "routes", "list"); err == nil || !strings.Contains(err.Error(), "--api is required") {
		t.Errorf("missing parent: %v", err)
	}
	if _, err := g.run(t, "apis", "list", "-o", "xml"); err == nil || !strings.Contains(err.Error(), "table, json or yaml") {
		t.Errorf("bad output: %v", err)
	}
	g.env[admincli.EnvAdminToken] = "not-the-admin-token-at-all"
	if _, err := g.run(t, "apis", "list"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("wrong token: %v", err)
	}
}

func TestIsCommand(t *testing.T) {
	for name, want := range map[string]bool{"apis": true, "keys": true, "api-keys": true, "deploy": true, "completion": true, "start": false, "serve": false} {
		if got := admincli.IsCommand(name); got != want {
			t.Errorf("IsCommand(%q) = %v, want %v", name, got, want)
		}
	}
}
