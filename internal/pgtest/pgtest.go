package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint tells a developer how to get the binaries Start needs.
const InstallHint = "PostgreSQL is not installed: install it with `apt-get install -y postgresql` (Debian/Ubuntu; the tests start their own servers, the packaged cluster is not needed)"

// userName is the database superuser initdb creates.
const userName = "tollgate"

// Server is a running throwaway PostgreSQL server.
type Server struct {
	// URL connects to the server's "postgres" database as a superuser.
	URL string
	// Port is the loopback TCP port the server listens on.
	Port int

	bin    string // directory of initdb and pg_ctl
	dir    string // temporary directory: data dir, socket, log
	asUser string // run the binaries as this user ("" = as ourselves)

	mu      sync.Mutex
	running bool
	dbs     atomic.Int64
}

// binDir finds the directory holding initdb and pg_ctl: $PATH first, then
// the newest /usr/lib/postgresql/<version>/bin (Debian's layout).
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "pg_ctl")); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// Available reports whether the PostgreSQL binaries were found.
func Available() bool { return binDir() != "" }

// Start starts a new server and stops it (removing its files) when the test
// ends. Without PostgreSQL binaries it skips t, or fails it when CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binDir()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(InstallHint + " (CI=true: PostgreSQL tests must run)")
		}
		t.Skip(InstallHint)
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user to run as: %v", err)
		}
		s.asUser = "postgres"
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() {
		s.stop("immediate")
		_ = os.RemoveAll(dir)
	})
	if s.asUser != "" {
		// The postgres user must be able to enter and write the directory.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("chown", s.asUser, dir).CombinedOutput(); err != nil {
			t.Fatalf("chown %s %s: %v: %s", s.asUser, dir, err, out)
		}
	}
	if out, err := s.command("initdb", "-D", s.dataDir(), "-A", "trust", "-U", userName, "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	// freePort's port can be taken by another process before the server
	// binds it (tests start servers in parallel): then try another.
	for attempt := 1; ; attempt++ {
		s.Port = freePort(t)
		s.URL = s.urlFor("postgres")
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 5 || !errors.Is(err, errPortTaken) {
			t.Fatal(err)
		}
	}
}

// errPortTaken is start's error when the server could not bind its port.
var errPortTaken = errors.New("port already in use")

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// command builds a command running a PostgreSQL binary, as the postgres
// user when we are root.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// Restart starts the server again after [Server.Stop], on the same port
// with the same data. Start calls it for the first start.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// start starts the server unless it runs.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=200", s.Port, s.dir)
	out, err := s.command("pg_ctl", "-D", s.dataDir(), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		_ = os.Remove(filepath.Join(s.dir, "log"))
		if bytes.Contains(log, []byte("Address already in use")) {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return fmt.Errorf("pg_ctl start: %w: %s\nserver log:\n%s", err, out, log)
	}
	s.running = true
	return nil
}

// Stop stops the server (fast shutdown: open connections are closed), so
// that a test can see how its clients behave while the database is down.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.stop("fast"); err != nil {
		t.Fatalf("pg_ctl stop: %v: %s", err, out)
	}
}

func (s *Server) stop(mode string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil, nil
	}
	out, err := s.command("pg_ctl", "-D", s.dataDir(), "-m", mode, "-w", "stop").CombinedOutput()
	if err == nil {
		s.running = false
	}
	return out, err
}

// NewDatabase creates an empty database and returns its URL, so that each
// test (or subtest) gets a store of its own on one server.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test%d", s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("connect to %s: %v", s.URL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	return s.urlFor(name)
}

func (s *Server) urlFor(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(userName), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), Path: "/" + db}
	return u.String()
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
