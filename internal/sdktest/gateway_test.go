package sdktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/tollgate-gw/tollgate/server"
)

// repoRoot is the repository's root, relative to this package.
const repoRoot = "../.."

// require skips t, or fails it when CI=true, unless ok; hint says how to
// install what is missing.
func require(t *testing.T, ok bool, hint string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(hint + " (CI=true: the SDK tests must run)")
	}
	t.Skip(hint)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// startGateway starts a gateway with the demo (the bookstore API, the chat
// WebSocket API on the stage "live") on loopback, stopped with the test.
func startGateway(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{
		DataDir: t.TempDir(), AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second, Demo: true,
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
	return s
}

// chatClient is a WebSocket client connected to the demo chat.
type chatClient struct {
	conn *websocket.Conn
	id   string // its connection ID, from the chat's whoami action
}

// connectChat connects to the demo chat and learns the connection's ID.
func connectChat(t *testing.T, s *server.Server) *chatClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.DataAddr()+"/live?room=sdk&name=sdk", nil)
	if err != nil {
		t.Fatalf("connect to the chat: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"action":"whoami"}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	var who struct{ ConnectionID string }
	if err := json.Unmarshal(b, &who); err != nil || who.ConnectionID == "" {
		t.Fatalf("whoami answered %s: %v", b, err)
	}
	return &chatClient{conn: c, id: who.ConnectionID}
}

// read returns the next message the chat client receives.
func (c *chatClient) read(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		t.Fatalf("read from the chat: %v", err)
	}
	return string(b)
}

// run runs a client program and returns its standard output; it fails t
// with the program's standard error when it exits non-zero.
func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// checkClientResult checks what a client program printed: the JSON object
// the clients in testdata/ write after creating the API key keyID, listing
// the demo's APIs, calling without a token, inspecting the chat client's
// connection, sending it message, and asking for an unknown connection.
func checkClientResult(t *testing.T, out []byte, keyID, message string, chat *chatClient) {
	t.Helper()
	var got struct {
		KeyName           string
		KeyValueLength    int
		Apis              []string
		Unauthenticated   string
		ConnectionStage   string
		UnknownConnection string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("client output %s: %v", out, err)
	}
	if got.KeyName != "apiKeys/"+keyID || got.KeyValueLength < 20 {
		t.Errorf("created key %q with a value of %d characters", got.KeyName, got.KeyValueLength)
	}
	if diff := cmp.Diff([]string{"apis/bookstore", "apis/chat"}, got.Apis); diff != "" {
		t.Errorf("listed APIs (-want +got):\n%s", diff)
	}
	// Connect and Python name the code differently.
	if n := strings.ToLower(strings.ReplaceAll(got.Unauthenticated, "_", "")); n != "unauthenticated" {
		t.Errorf("a call without the token: %s, want UNAUTHENTICATED", got.Unauthenticated)
	}
	if got.ConnectionStage != "apis/chat/stages/live" {
		t.Errorf("connection's stage %q", got.ConnectionStage)
	}
	if n := strings.ToLower(strings.ReplaceAll(got.UnknownConnection, "_", "")); n != "notfound" {
		t.Errorf("an unknown connection: %s, want NOT_FOUND", got.UnknownConnection)
	}
	if msg := chat.read(t); msg != message {
		t.Errorf("the chat client received %q, want %q", msg, message)
	}
}
