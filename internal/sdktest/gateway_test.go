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
