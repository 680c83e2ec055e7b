package gateway_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// TestNodeClient runs a Connect-Node client (testdata/node/echo_client.mjs:
// Connect and gRPC-Web, HTTP/1.1 and HTTP/2, every method kind its
// transport allows) against the gateway. It needs node and the npm
// packages `make tools` installs; without them it is skipped, except in CI
// (CI=true), where it fails.
func TestNodeClient(t *testing.T) {
	need := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need("node is not installed: the Connect-Node client test needs it")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "node", "echo_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	probe := exec.Command(node, "--input-type=module", "-e", `await import("@connectrpc/connect-node")`)
	probe.Dir = filepath.Dir(script)
	if out, err := probe.CombinedOutput(); err != nil {
		need("the npm packages are not installed (make tools): %v: %s", err, out)
	}

	b := backend(t)
	gw, err := gateway.New()
	if err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int64
	tg := serveGateway(t, gw, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/GetBook") {
				gets.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "d1", b.Addr()), nil))
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	fdsFile := filepath.Join(t.TempDir(), "example.binpb")
	if err := os.WriteFile(fdsFile, fds, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx(t), node, script, tg.url("/prod"), fdsFile)
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	t.Logf("node client:\n%s", out)
	if err != nil {
		t.Fatalf("node client: %v", err)
	}
	if n := strings.Count(string(out), "ok "); n != 20 {
		t.Errorf("%d checks passed, want 20", n)
	}
	if gets.Load() != 1 {
		t.Errorf("the gateway saw %d Connect GETs of GetBook, want 1", gets.Load())
	}
}
