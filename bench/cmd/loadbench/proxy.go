package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/vanguard"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gctune"
	"github.com/tollgate-gw/tollgate/server"
)

// Proxy kinds; each runs in its own child process.
const (
	kindTollgate = "tollgate"
	// kindTollgateFrames and kindTollgatePolicyFrames are kindTollgate and
	// kindTollgatePolicy with --grpc-relay=frames (server/gateway/h2relay).
	kindTollgateFrames       = "tollgate-frames"
	kindTollgatePolicyFrames = "tollgate-policy-frames"
	kindGRPCGateway          = "grpc-gateway"
	kindVanguard             = "vanguard"
)

const (
	benchAdminToken = "bench-admin-token-0123456789abcdef"
	benchAPIID      = "bench"
	benchStageID    = "bench"
)

// runProxyChild is the body of `loadbench -role=proxy`: it starts one proxy
// in front of backend, writes "READY <addr>" to stdout, then answers each
// "cpu" line on stdin with "CPU <user+system µs>" and each "gc" line with
// "GC <collections so far>" until stdin closes.
func runProxyChild(kind, backend string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// LOADBENCH_CPUPROFILE_DIR=dir writes dir/<kind>.pprof: the proxy's CPU
	// profile over the whole child's life (all its cells).
	if dir := os.Getenv("LOADBENCH_CPUPROFILE_DIR"); dir != "" {
		f, err := os.Create(filepath.Join(dir, kind+".pprof"))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// LOADBENCH_HEAPPROFILE_DIR=dir writes dir/<kind>.heap.pprof and
	// dir/<kind>.heap.pprof.txt: the heap profile and the runtime's memory
	// classes when the runtime held the most memory (checked every 20 ms).
	// It also writes dir/<kind>.end.heap.pprof when the child stops, after
	// a collection: a heap profile is as of the last completed collection,
	// and a streaming proxy may collect once in a whole run, so only this
	// one holds the run's allocations (alloc_space) and what is live at its
	// end (inuse_space). Allocations are sampled every 64 KiB instead of
	// 512 KiB.
	if dir := os.Getenv("LOADBENCH_HEAPPROFILE_DIR"); dir != "" {
		goruntime.MemProfileRate = 64 << 10
		go writePeakHeapProfile(ctx, filepath.Join(dir, kind+".heap.pprof"))
		defer writeEndHeapProfile(filepath.Join(dir, kind+".end.heap.pprof"))
	}
	var (
		addr string
		done func()
		err  error
	)
	switch kind {
	case kindTollgate, kindTollgatePolicy, kindTollgateTLS, kindTollgateFrames, kindTollgatePolicyFrames:
		addr, done, err = startTollgate(ctx, backend, isPolicyTarget(kind), kind == kindTollgateTLS,
			kind == kindTollgateFrames || kind == kindTollgatePolicyFrames)
	case kindGRPCGateway:
		addr, done, err = startGRPCGateway(ctx, backend)
	case kindVanguard:
		addr, done, err = startVanguard(backend)
	default:
		err = fmt.Errorf("unknown proxy kind %q", kind)
	}
	if err != nil {
		return err
	}
	defer done()
	fmt.Printf("READY %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "cpu":
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
				return err
			}
			us := ru.Utime.Sec*1e6 + ru.Utime.Usec + ru.Stime.Sec*1e6 + ru.Stime.Usec
			fmt.Printf("CPU %d\n", us)
		case "gc":
			gc := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
			metrics.Read(gc)
			fmt.Printf("GC %d\n", gc[0].Value.Uint64())
		}
	}
	return nil
}

// isTollgateTarget reports whether a target is one of Tollgate's.
func isTollgateTarget(t string) bool {
	switch t {
	case kindTollgate, kindTollgateTLS, kindTollgatePolicy, kindTollgateFrames, kindTollgatePolicyFrames, kindTollgateBinary:
		return true
	}
	return false
}

// isPolicyTarget reports whether a target runs the whole policy chain.
func isPolicyTarget(t string) bool { return t == kindTollgatePolicy || t == kindTollgatePolicyFrames }

func startTollgate(ctx context.Context, backend string, policies, withTLS, frames bool) (string, func(), error) {
	stopSidecars, authAddr := func() {}, ""
	if policies {
		var err error
		if authAddr, stopSidecars, err = startPolicySidecars(); err != nil {
			return "", nil, err
		}
	}
	// As the tollgate binary does (cmd/tollgate): gctune's collector
	// target unless GOGC or GOMEMLIMIT is set.
	gctune.Apply(os.Getenv)
	dir, err := os.MkdirTemp("", "loadbench-tollgate-")
	if err != nil {
		stopSidecars()
		return "", nil, err
	}
	cfg := server.Config{
		DataDir:    dir,
		AdminAddr:  "127.0.0.1:0",
		ListenAddr: "127.0.0.1:0",
		AdminToken: benchAdminToken,
		Logger:     slog.New(slog.DiscardHandler),
		Stderr:     io.Discard,
	}
	// Each target names its relay: frames became the server's default,
	// and the tollgate and tollgate-policy rows measure grpc-go's.
	cfg.GRPCRelay = "grpc"
	if frames {
		cfg.GRPCRelay = "frames"
	}
	if withTLS {
		cfg.TLSListenAddr = "127.0.0.1:0"
		if cfg.TLSCertFile, cfg.TLSKeyFile, err = writeSelfSigned(dir); err != nil {
			os.RemoveAll(dir)
			stopSidecars()
			return "", nil, err
		}
	}
	s, err := server.New(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx) }()
	cleanup := func() {
		stop()
		<-served
		stopSidecars()
		os.RemoveAll(dir)
	}
	select {
	case <-s.Ready():
	case err := <-served:
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("tollgate: %w", err)
	case <-time.After(30 * time.Second):
		cleanup()
		return "", nil, errors.New("tollgate: not ready after 30s")
	}
	if err := deployEcho(ctx, s.AdminAddr(), backend, authAddr); err != nil {
		cleanup()
		return "", nil, err
	}
	if withTLS {
		return s.TLSAddr(), cleanup, nil
	}
	return s.DataAddr(), cleanup, nil
}

// deployEcho creates the API "bench" for the echo backend, deploys it to the
// stage "bench" and lifts the account throttle so it does not cap the load.
// With authAddr set, it then turns the whole policy chain on
// (enablePolicies).
func deployEcho(ctx context.Context, adminAddr, backend, authAddr string) error {
	conn, err := grpc.NewClient(adminAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	admin := adminv1.NewAdminServiceClient(conn)
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+benchAdminToken)
	fds, err := echoDescriptorSet()
	if err != nil {
		return err
	}
	raw, err := proto.Marshal(fds)
	if err != nil {
		return err
	}
	api, err := admin.CreateApi(ctx, &adminv1.CreateApiRequest{ApiId: benchAPIID, Api: &adminv1.Api{
		Protocol:         adminv1.Api_PROTOCOL_GRPC_REST,
		DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: raw},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{
			Grpc: &adminv1.GrpcIntegration{Target: backend},
		}},
	}})
	if err != nil {
		return fmt.Errorf("create api: %w", err)
	}
	dep, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: api.GetName()})
	if err != nil {
		return fmt.Errorf("create deployment: %w", err)
	}
	if _, err := admin.CreateStage(ctx, &adminv1.CreateStageRequest{
		Parent: api.GetName(), StageId: benchStageID,
		Stage: &adminv1.Stage{Deployment: dep.GetName()},
	}); err != nil {
		return fmt.Errorf("create stage: %w", err)
	}
	if _, err := admin.UpdateAccountSettings(ctx, &adminv1.UpdateAccountSettingsRequest{
		AccountSettings: &adminv1.AccountSettings{
			Name:     "settings",
			Throttle: &adminv1.ThrottleSettings{RateLimit: 1e6, BurstLimit: 1e6},
		},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"throttle"}},
	}); err != nil {
		return fmt.Errorf("raise account throttle: %w", err)
	}
	if authAddr != "" {
		return enablePolicies(ctx, admin, api.GetName(), authAddr)
	}
	return deployWebSocket(ctx, admin, backend)
}

func serveHTTP(h http.Handler) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(lis)
	return lis.Addr().String(), func() { srv.Close() }, nil
}

// startGRPCGateway serves the generated (static) grpc-gateway handler of the
// echo service.
func startGRPCGateway(ctx context.Context, backend string) (string, func(), error) {
	mux := runtime.NewServeMux()
	if err := examplev1.RegisterEchoServiceHandlerFromEndpoint(ctx, mux, backend,
		[]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}); err != nil {
		return "", nil, err
	}
	return serveHTTP(mux)
}

// startVanguard serves a vanguard transcoder that turns REST/JSON into gRPC
// (binary protobuf) and forwards it over h2c to backend.
func startVanguard(backend string) (string, func(), error) {
	target, err := url.Parse("http://" + backend)
	if err != nil {
		return "", nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	proxy.Transport = tr
	svc := vanguard.NewService(examplev1.EchoService_ServiceDesc.ServiceName, proxy,
		vanguard.WithTargetProtocols(vanguard.ProtocolGRPC),
		vanguard.WithTargetCodecs(vanguard.CodecProto),
	)
	tc, err := vanguard.NewTranscoder([]*vanguard.Service{svc})
	if err != nil {
		return "", nil, err
	}
	return serveHTTP(tc)
}

// proxyProcess is the parent's handle on a proxy child.
type proxyProcess struct {
	kind string
	addr string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	// external: a peer proxy (HAProxy, nginx) whose CPU and memory are
	// read from /proc for it and its children; dir is its config dir.
	external bool
	dir      string
}

// spawnProxy starts a proxy child of kind in front of backend; procs, when
// set, is its GOMAXPROCS.
func spawnProxy(kind, backend, procs string) (*proxyProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-role=proxy", "-kind="+kind, "-backend="+backend)
	cmd.Stderr = os.Stderr
	// LOADBENCH_PROXY_ENV adds space-separated NAME=value pairs to the
	// proxy child's environment only (e.g. GOMAXPROCS=1), so a runtime
	// setting can be A/B'd without changing the client and backend.
	if extra := os.Getenv("LOADBENCH_PROXY_ENV"); extra != "" || procs != "" {
		cmd.Env = append(os.Environ(), strings.Fields(extra)...)
		if procs != "" {
			cmd.Env = append(cmd.Env, "GOMAXPROCS="+procs)
		}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proxyProcess{kind: kind, cmd: cmd, in: in, out: bufio.NewReader(stdout)}
	line, err := p.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		p.stop()
		return nil, fmt.Errorf("%s proxy did not start (got %q, %v)", kind, line, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "READY "))
	return p, nil
}

// cpu returns the child's user+system CPU time so far.
func (p *proxyProcess) cpu() (time.Duration, error) {
	if p.external {
		return p.treeCPU()
	}
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		return 0, err
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return 0, err
	}
	us, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "CPU ")), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad cpu line %q: %w", line, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// gcCycles returns how many collections the child's Go runtime has
// completed; ok is false for a peer.
func (p *proxyProcess) gcCycles() (n int64, ok bool, err error) {
	if p.external {
		return 0, false, nil
	}
	if _, err := io.WriteString(p.in, "gc\n"); err != nil {
		return 0, false, err
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return 0, false, err
	}
	n, err = strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "GC ")), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bad gc line %q: %w", line, err)
	}
	return n, true, nil
}

// resetPeakRSS resets the VmHWM of the child (and of a peer's worker
// processes) (Linux clear_refs "5"); best effort.
func (p *proxyProcess) resetPeakRSS() bool {
	ok := true
	for _, pid := range p.procs() {
		ok = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil && ok
	}
	return ok
}

// procs is the child, or a peer and its worker processes.
func (p *proxyProcess) procs() []int {
	if p.external {
		return p.pids()
	}
	return []int{p.cmd.Process.Pid}
}

// peakRSS returns the child's VmHWM in bytes (for a peer, the sum over its
// processes).
func (p *proxyProcess) peakRSS() (int64, error) {
	var sum int64
	for _, pid := range p.procs() {
		n, err := vmHWM(pid)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

func vmHWM(pid int) (int64, error) { return statusKB(pid, "VmHWM:") }

// statusKB returns a kB field of /proc/<pid>/status in bytes.
func statusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

func (p *proxyProcess) stop() {
	if p.external {
		p.stopExternal()
		return
	}
	p.in.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// anonSampler polls the RssAnon of a proxy's processes (summed) until
// stopped and keeps the largest: VmHWM also counts the binary's pages
// mapped from the page cache, which say nothing about the memory the proxy
// allocates.
type anonSampler struct {
	done chan struct{}
	peak chan int64
}

func (p *proxyProcess) sampleAnon() *anonSampler {
	s := &anonSampler{done: make(chan struct{}), peak: make(chan int64, 1)}
	go func() {
		var peak int64
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var sum int64
			for _, pid := range p.procs() {
				if n, err := statusKB(pid, "RssAnon:"); err == nil {
					sum += n
				}
			}
			peak = max(peak, sum)
			select {
			case <-s.done:
				s.peak <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak in bytes (0 for a nil s).
func (s *anonSampler) stop() int64 {
	if s == nil {
		return 0
	}
	close(s.done)
	return <-s.peak
}

// writePeakHeapProfile rewrites path with the heap profile, and path.txt
// with the runtime's memory classes, whenever the memory the runtime holds
// has grown past its largest value so far, until ctx ends.
func writePeakHeapProfile(ctx context.Context, path string) {
	descs := metrics.All()
	var samples []metrics.Sample
	for _, d := range descs {
		if strings.HasPrefix(d.Name, "/memory/classes/") || strings.HasPrefix(d.Name, "/gc/heap/live") || d.Name == "/gc/cycles/total:gc-cycles" || d.Name == "/gc/gogc:percent" {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	var peak uint64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		metrics.Read(samples)
		var total uint64
		for _, s := range samples {
			if s.Name == "/memory/classes/total:bytes" {
				total = s.Value.Uint64()
			}
		}
		if total <= peak+peak/50 {
			continue
		}
		peak = total
		var b strings.Builder
		for _, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				fmt.Fprintf(&b, "%-55s %10.2f MiB  (%d)\n", s.Name, float64(s.Value.Uint64())/(1<<20), s.Value.Uint64())
			}
		}
		_ = os.WriteFile(path+".txt", []byte(b.String()), 0o644)
		if f, err := os.Create(path); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
}

// writeEndHeapProfile writes the heap profile to path after a collection.
func writeEndHeapProfile(path string) {
	goruntime.GC()
	if f, err := os.Create(path); err == nil {
		_ = pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
}
