package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Peer proxies: C gRPC proxies from the distribution's packages, run as
// their own processes from a config file the harness writes into a temp
// dir. A peer target is named <kind>-<n>: HAProxy with n threads, nginx
// with n worker processes (-peer-workers).
const (
	peerHAProxy = "haproxy"
	peerNginx   = "nginx"
)

// peerTarget returns the target name of a peer with n workers.
func peerTarget(kind string, n int) string { return fmt.Sprintf("%s-%d", kind, n) }

// parsePeer splits a target name into its peer kind and workers.
func parsePeer(t string) (kind string, workers int, ok bool) {
	i := strings.LastIndexByte(t, '-')
	if i < 0 {
		return "", 0, false
	}
	kind = t[:i]
	if kind != peerHAProxy && kind != peerNginx {
		return "", 0, false
	}
	n, err := strconv.Atoi(t[i+1:])
	if err != nil || n < 1 {
		return "", 0, false
	}
	return kind, n, true
}

// peerBinary is the executable of a peer kind, or "" when it is absent.
func peerBinary(kind string) string {
	for _, p := range []string{kind, "/usr/sbin/" + kind} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// peerVersion is the first line of the peer's version output.
func peerVersion(kind string) string {
	bin := peerBinary(kind)
	if bin == "" {
		return ""
	}
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

// haproxyConfig relays cleartext HTTP/2 (gRPC) from listen to backend over
// HTTP/2 with n threads.
func haproxyConfig(listen, backend string, n int) string {
	return fmt.Sprintf(`global
    nbthread %d
    maxconn 4000
    tune.h2.max-concurrent-streams 1000

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend grpc_in
    bind %s proto h2
    default_backend grpc_backend

backend grpc_backend
    server echo %s proto h2
`, n, listen, backend)
}

// nginxConfig relays cleartext HTTP/2 (gRPC) from listen to backend with
// grpc_pass and n worker processes; everything it writes stays in dir.
func nginxConfig(dir, listen, backend string, n int) string {
	return fmt.Sprintf(`worker_processes %d;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    upstream grpc_backend {
        server %[3]s;
        keepalive 1024;
    }
    server {
        listen %[4]s http2;
        http2_max_concurrent_streams 1000;
        location / {
            grpc_pass grpc://grpc_backend;
        }
    }
}
`, n, dir, backend, listen)
}

// spawnPeer starts a peer proxy in front of backend from a config file in a
// new temp dir. It returns errPeerAbsent when the binary is not installed.
func spawnPeer(target, backend string) (*proxyProcess, error) {
	kind, n, _ := parsePeer(target)
	bin := peerBinary(kind)
	if bin == "" {
		return nil, errPeerAbsent
	}
	dir, err := os.MkdirTemp("", "loadbench-"+kind+"-")
	if err != nil {
		return nil, err
	}
	// nginx's workers run as an unprivileged user when started as root.
	_ = os.Chmod(dir, 0o777)
	listen, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := filepath.Join(dir, kind+".conf")
	var cmd *exec.Cmd
	switch kind {
	case peerHAProxy:
		err = os.WriteFile(conf, []byte(haproxyConfig(listen, backend, n)), 0o644)
		cmd = exec.Command(bin, "-db", "-f", conf)
	case peerNginx:
		err = os.WriteFile(conf, []byte(nginxConfig(dir, listen, backend, n)), 0o644)
		cmd = exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", conf, "-g", "daemon off;")
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &proxyProcess{kind: target, addr: listen, cmd: cmd, external: true, dir: dir}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not listen on %s: %v", target, listen, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Wait for nginx's workers to be forked.
	if kind == peerNginx {
		for time.Now().Before(deadline) && len(p.pids()) < n+1 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p, nil
}

var errPeerAbsent = errors.New("not installed")

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// pids returns the process and its children (nginx's workers).
func (p *proxyProcess) pids() []int {
	root := p.cmd.Process.Pid
	out := []int{root}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f, err := procStat(pid); err == nil && len(f) > 1 && f[1] == strconv.Itoa(root) {
			out = append(out, pid)
		}
	}
	return out
}

// procStat returns the fields of /proc/<pid>/stat after the command name:
// f[0] is the state, f[1] the parent pid, f[11] utime, f[12] stime.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, errors.New("bad /proc stat")
	}
	return strings.Fields(s[i+1:]), nil
}

// clockTick is the kernel's USER_HZ, the unit of /proc's CPU times (100
// on Linux; sysconf is not reachable without cgo).
const clockTick = 100

// treeCPU is the user+system CPU of the peer's processes so far, read
// from /proc (10 ms resolution: cells should last seconds).
func (p *proxyProcess) treeCPU() (time.Duration, error) {
	var ticks int64
	for _, pid := range p.pids() {
		f, err := procStat(pid)
		if err != nil || len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

// machineCPU is the whole machine's busy CPU time so far (every process,
// every core: /proc/stat's cpu line without idle and iowait).
func machineCPU() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, errors.New("empty /proc/stat")
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, fmt.Errorf("bad /proc/stat line %q", sc.Text())
	}
	var busy int64
	// user nice system idle iowait irq softirq steal (guest is in user).
	for i, v := range fields[1:] {
		if i >= 8 {
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 {
			continue
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTick, nil
}

// stopExternal ends a peer (SIGTERM: fast shutdown for both) and removes its dir.
func (p *proxyProcess) stopExternal() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(p.dir)
}
