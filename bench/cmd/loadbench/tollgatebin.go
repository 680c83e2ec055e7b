package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// kindTollgateBinary is the tollgate binary itself (cmd/tollgate serve,
// frames relay, configured through its admin API as deployEcho does), run
// as its own process like a peer. The other Tollgate targets run
// server.New inside a loadbench child, a binary that also links Vanguard,
// grpc-gateway and the harness: the same code on the data path, but not
// the same binary, so not the same mapped pages, heap at start or RSS.
// This target's memory columns are what an operator's process shows; it
// has no GCs column (the runtime's count is not readable from outside).
const kindTollgateBinary = "tollgate-bin"

// tollgateBinary returns the path of the tollgate binary to run:
// $LOADBENCH_TOLLGATE_BIN, or one built once per run, as `make build`
// builds it (-tags grpcnotrace), from the module that bench's go.mod
// replaces github.com/tollgate-gw/tollgate with.
var tollgateBinary = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("LOADBENCH_TOLLGATE_BIN"); p != "" {
		return p, nil
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tollgate-gw/tollgate").Output()
	if err != nil {
		return "", fmt.Errorf("locate the tollgate module: %w", err)
	}
	dir, err := os.MkdirTemp("", "loadbench-tollgate-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tollgate")
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", bin, "./cmd/tollgate")
	build.Dir = strings.TrimSpace(string(out))
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build tollgate: %w", err)
	}
	return bin, nil
})

// spawnTollgateBinary starts `tollgate serve` with the frames relay on
// loopback ports, waits for its admin API and deploys the echo API to it;
// procs, when set, is its GOMAXPROCS.
func spawnTollgateBinary(backend, procs string) (*proxyProcess, error) {
	bin, err := tollgateBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "loadbench-tollgate-bin-data-")
	if err != nil {
		return nil, err
	}
	listen, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "tollgate.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"),
		"--listen", listen, "--admin-addr", admin, "--grpc-relay", "frames")
	cmd.Env = append(os.Environ(), "TOLLGATE_ADMIN_TOKEN="+benchAdminToken)
	if extra := os.Getenv("LOADBENCH_PROXY_ENV"); extra != "" {
		cmd.Env = append(cmd.Env, strings.Fields(extra)...)
	}
	if procs != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+procs)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &proxyProcess{kind: kindTollgateBinary, addr: listen, cmd: cmd, external: true, dir: dir}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", admin, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s: admin API not listening on %s: %v", kindTollgateBinary, admin, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := deployEcho(ctx, admin, backend, ""); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s: %w", kindTollgateBinary, err)
	}
	return p, nil
}
