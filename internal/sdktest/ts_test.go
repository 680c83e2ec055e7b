package sdktest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tsHint says how to get what the TypeScript SDK test needs.
const tsHint = "the TypeScript SDK test needs Node.js (node on PATH) and the npm packages of package.json: run `make tools`"

// TestTypeScriptSDK calls a real gateway with the generated TypeScript SDK
// over gRPC (@connectrpc/connect-node): the admin API creates an API key
// and lists APIs, the data plane's WebSocket callback API inspects a
// connection and sends it a message.
func TestTypeScriptSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	require(t, err == nil, tsHint)
	require(t, fileExists(filepath.Join(repoRoot, "node_modules/@connectrpc/connect-node/package.json")), tsHint)

	s := startGateway(t)
	chat := connectChat(t, s)
	out := run(t, "testdata", node, "client.mjs",
		"http://"+s.AdminAddr(), "http://"+s.DataAddr(), s.AdminToken(), chat.id)

	checkClientResult(t, out, "from-typescript", "hello from typescript", chat)
}

// TestTypeScriptSDKReexports checks that the package's hand-written entry
// points (admin.js, data.js and their .d.ts) re-export every file that buf
// generates for their proto package, so that a new .proto file cannot be
// left out of the SDK.
func TestTypeScriptSDKReexports(t *testing.T) {
	sdk := filepath.Join(repoRoot, "gen/ts")
	reexport := regexp.MustCompile(`(?m)^export \* from "\./(.+)\.js";$`)
	for _, pkg := range []string{"admin", "data"} {
		generated, err := filepath.Glob(filepath.Join(sdk, "tollgate", pkg, "v1", "*_pb.js"))
		if err != nil || len(generated) == 0 {
			t.Fatalf("no generated files for tollgate.%s.v1: %v", pkg, err)
		}
		var want []string
		for _, f := range generated {
			rel, _ := filepath.Rel(sdk, f)
			want = append(want, strings.TrimSuffix(filepath.ToSlash(rel), ".js"))
		}
		for _, entry := range []string{pkg + ".js", pkg + ".d.ts"} {
			b, err := os.ReadFile(filepath.Join(sdk, entry))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range reexport.FindAllStringSubmatch(string(b), -1) {
				got = append(got, m[1])
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("gen/ts/%s re-exports (-generated +listed):\n%s", entry, diff)
			}
		}
	}
}
