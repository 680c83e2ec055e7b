package sdktest_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// python is Debian's interpreter, for which python3-grpcio and
// python3-protobuf install (another python3 first on PATH may lack them).
const python = "/usr/bin/python3"

// pyHint says how to get what the Python SDK test needs.
const pyHint = "the Python SDK test needs Debian's python3-grpcio and python3-protobuf for /usr/bin/python3: apt-get install -y python3-grpcio python3-protobuf (or make tools, as root)"

// TestPythonSDK calls a real gateway with the generated Python SDK over
// gRPC (grpcio): the admin API creates an API key and lists APIs, the data
// plane's WebSocket callback API inspects a connection and sends it a
// message.
func TestPythonSDK(t *testing.T) {
	ok := fileExists(python) && exec.Command(python, "-c", "import grpc, google.protobuf").Run() == nil
	require(t, ok, pyHint)
	sdk, err := filepath.Abs(filepath.Join(repoRoot, "gen/python"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", sdk)
	// No stray bytecode in gen/ (make checkgenerate would see it).
	t.Setenv("PYTHONDONTWRITEBYTECODE", "1")

	s := startGateway(t)
	chat := connectChat(t, s)
	out := run(t, "testdata", python, "client.py", s.AdminAddr(), s.DataAddr(), s.AdminToken(), chat.id)
	checkClientResult(t, out, "from-python", "hello from python", chat)
}
