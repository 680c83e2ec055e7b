package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// InstallHint tells a developer how to get the binary Start needs.
const InstallHint = "Redis is not installed: install it with `apt-get install -y redis-server` (Debian/Ubuntu; the tests start their own servers, the packaged one is not needed)"

// Server is a running throwaway Redis server.
type Server struct {
	// URL connects to the server: redis://127.0.0.1:PORT/0.
	URL string
	// Addr is the server's host:port.
	Addr string
	// Port is the loopback TCP port the server listens on.
	Port int

	bin string
	dir string

	mu  sync.Mutex
	cmd *exec.Cmd // nil while stopped
}

// Available reports whether redis-server was found.
func Available() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Start starts a new server and stops it when the test ends. Without
// redis-server it skips t, or fails it when CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(InstallHint + " (CI=true: Redis tests must run)")
		}
		t.Skip(InstallHint)
	}
	s := &Server{bin: bin, dir: t.TempDir()}
	s.Port = freePort(t)
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	s.URL = "redis://" + s.Addr + "/0"
	t.Cleanup(s.kill)
	s.Restart(t)
	return s
}

// Restart starts the server again after [Server.Stop], on the same port
// (with an empty dataset: nothing is persisted). Start calls it for the
// first start. It returns once the server accepts connections.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "", "--loglevel", "warning")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			// The port accepts: ask for a PING answer to be sure it is
			// Redis and it is ready.
			_, _ = c.Write([]byte("PING\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 7)
			n, _ := c.Read(buf)
			c.Close()
			if string(buf[:n]) == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not ready after 10s: %v\n%s", s.Addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL, as a crash), so that a test can see how
// its clients behave while Redis is down. Its data is lost.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects the server's output for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return fmt.Sprintf("%s", b.buf)
}
