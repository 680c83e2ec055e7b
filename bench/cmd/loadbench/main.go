// Command loadbench is Tollgate's load harness. It starts an echo backend,
// puts proxies in front of it (Tollgate, grpc-gateway, vanguard), drives
// closed-loop load at several concurrencies and prints a table of calls/s,
// latency quantiles, errors and the proxy's CPU and peak memory, and writes
// the same as JSON. See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/metadata"
)

const (
	scenarioGRPCUnary  = "grpc-unary"
	scenarioRESTUnary  = "rest-unary"
	scenarioGRPCStream = "grpc-stream"
	targetDirect       = "direct"
)

var notes = []string{
	"The load generator (client) and the echo backend run in ONE process; the proxy under test runs as a separate child process so its CPU and memory are its own. Client, backend and proxy all compete for the same cores, so absolute numbers are pessimistic: compare rows of one run on one machine.",
	"Proxy CPU is getrusage(RUSAGE_SELF) user+system of the proxy child over the measured window (warm-up excluded), divided by calls (unary) or messages (stream, fan-out); GCs is how many collections the proxy's Go runtime completed in the measured window (Go proxies only). Peak RSS is the child's VmHWM, reset before each cell via /proc/<pid>/clear_refs when permitted; it counts the pages of the binary's code and read-only data mapped from the page cache (clean, shared, reclaimable: ~30-40 MiB for a Go binary of this size, ~11 MiB for HAProxy and its libraries). Peak anon is the largest RssAnon (heap, stacks, runtime) sampled every 10 ms over the measured window: the memory the proxy itself allocates.",
	"vs ref: ops/s as a share of the direct call's in the same scenario and concurrency (gRPC, WebSocket), or of grpc-gateway's static handler (REST), or, for connect-unary and grpcweb-unary, of the grpc-unary cell of the same target (Vanguard's: tollgate's) at the same concurrency: the cost of the web protocol over gRPC through the same gateway.",
	"tollgate-tls: tollgate called on its TLS listener (TLS 1.3, ECDSA P-256, ALPN h2 for gRPC, HTTP/1.1 for REST) over kept-alive connections: the difference to the tollgate row is TLS's cost per call, handshakes excluded (see BenchmarkTLSHandshake for those).",
	"tollgate: routing, request IDs, metrics, the account throttle (raised to 1e6 rps) and transcoding, no keys or authorizers. tollgate-policy: the whole chain on the same API: API key in a usage plan (plan throttle + quota), a custom authorizer whose decision is cached (300 s), account + stage + route throttles, metrics, tracing sampled at 1 % exported over OTLP/HTTP to a sink in the proxy process; limits high enough not to refuse.",
	"Tollgate runs with its shipped collector setting (internal/gctune: GOGC=400 while the heap stays under 24 MiB, down to 100 above) unless GOGC or GOMEMLIMIT is set; the peers, client and backend run with Go's default GOGC=100.",
	"ws-echo: one WebSocket connection per worker, each round trip a 1 KiB JSON message; direct is a coder/websocket echo server in the bench process, Tollgate routes it through the chain to a gRPC HandleMessage backend and back (two-way route). ws-fanout: broadcasts of 1 KiB to -fanout-conns connections (conc column), at most 8 undelivered at a time; direct is the same per-connection queue design in the bench process, Tollgate is ConnectionsService.PostToStage.",
	"tollgate-bin: the tollgate binary itself (tollgate serve --grpc-relay frames, built with -tags grpcnotrace as make build does, or LOADBENCH_TOLLGATE_BIN), configured through its admin API and measured from /proc like the peers; the other tollgate targets run server.New inside the harness binary (which also links Vanguard and grpc-gateway), so their RSS counts other mapped pages.",
	"TARGET@N (e.g. tollgate-frames@1, named in -targets): that Go proxy with GOMAXPROCS=N, to compare with a peer held to as many threads (haproxy-1); without @N a Go proxy uses every core, as haproxy-N with N = cores does.",
	"haproxy-N and nginx-N: the Debian packages run from a config file the harness writes into a temp dir (HAProxy: cleartext h2 frontend, proto h2 to the backend, nbthread N; nginx: listen http2, grpc_pass to an upstream with keepalive, worker_processes N); their CPU and peak RSS are read from /proc for the process and its workers (CPU at 10 ms resolution).",
	"machine CPU µs/op: the whole machine's busy CPU (/proc/stat, all cores, user+nice+system+irq+softirq+steal) over the cell divided by ops: client + backend + proxy, and whatever else runs on the machine at the time.",
	"Envoy (grpc_json_transcoder) is not measured: no Envoy package is available from the Debian repositories this machine can reach (checked with apt-cache, Debian 12).",
	"gRPC clients use one HTTP/2 connection per target; REST, Connect and gRPC-Web clients use HTTP/1.1 with a keep-alive pool (one connection per concurrent worker). connect-unary is the Connect protocol's unary POST with a binary (application/proto) body; grpcweb-unary is binary gRPC-Web. Both are translated to gRPC inside the gateway (Tollgate: in process into its gRPC server and chain; Vanguard: its transcoder in front of a reverse proxy).",
}

// cell is one measured (scenario, target, concurrency).
type cell struct {
	Scenario       string  `json:"scenario"`
	Target         string  `json:"target"`
	Concurrency    int     `json:"concurrency"`
	Unit           string  `json:"unit"` // "call" or "msg": what ops_per_sec and proxy_cpu_us_per_op count
	ElapsedSec     float64 `json:"elapsed_sec"`
	Calls          int     `json:"calls"`
	Msgs           int     `json:"msgs"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	CallsPerSec    float64 `json:"calls_per_sec"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	P50Micros      float64 `json:"p50_us"`
	P99Micros      float64 `json:"p99_us"`
	P999Micros     float64 `json:"p999_us"`
	ProxyCPUMicros float64 `json:"proxy_cpu_us,omitempty"`
	ProxyCPUPerOp  float64 `json:"proxy_cpu_us_per_op,omitempty"`
	ProxyGCs       int64   `json:"proxy_gc_cycles,omitempty"`
	ProxyCores     float64 `json:"proxy_cores,omitempty"`
	ProxyPeakRSS   int64   `json:"proxy_peak_rss_bytes,omitempty"`
	ProxyPeakAnon  int64   `json:"proxy_peak_anon_bytes,omitempty"`
	// MachineCPUPerOp is the whole machine's busy CPU (/proc/stat: client,
	// backend, proxy and anything else running) over the cell per op.
	MachineCPUPerOp float64 `json:"machine_cpu_us_per_op,omitempty"`
}

type report struct {
	Time         time.Time         `json:"time"`
	GoVersion    string            `json:"go_version"`
	NumCPU       int               `json:"num_cpu"`
	GOMAXPROCS   int               `json:"gomaxprocs"`
	DurationSec  float64           `json:"duration_sec"`
	WarmupSec    float64           `json:"warmup_sec"`
	PayloadBytes int               `json:"payload_bytes"`
	StreamRepeat int               `json:"stream_repeat"`
	Notes        []string          `json:"notes"`
	PeerVersions map[string]string `json:"peer_versions,omitempty"`
	Cells        []cell            `json:"cells"`
}

func main() {
	var (
		role        = flag.String("role", "main", "internal: main, or proxy for a proxy child process")
		kind        = flag.String("kind", "", "internal: proxy kind of a -role=proxy child")
		backend     = flag.String("backend", "", "internal: backend address of a -role=proxy child")
		duration    = flag.Duration("duration", 5*time.Second, "measured duration of each cell")
		warmup      = flag.Duration("warmup", 500*time.Millisecond, "unmeasured warm-up before each cell")
		concList    = flag.String("concurrency", "1,16,64", "comma-separated concurrency levels")
		payload     = flag.Int("payload", 1024, "payload size in bytes")
		repeat      = flag.Int("stream-repeat", 1000, "messages per EchoServerStream call (at most 10000)")
		scenarioArg = flag.String("scenarios", "grpc-unary,rest-unary,connect-unary,grpcweb-unary,grpc-stream,ws-echo,ws-fanout", "comma-separated scenarios: grpc-unary, rest-unary, connect-unary, grpcweb-unary, grpc-stream, ws-echo, ws-fanout")
		fanoutConns = flag.Int("fanout-conns", 1000, "WebSocket connections a ws-fanout broadcast goes to")
		out         = flag.String("out", "results/latest.json", "JSON output file (empty: none)")
		peerWorkers = flag.String("peer-workers", "1,2", "comma-separated HAProxy threads / nginx worker processes of the peer targets (haproxy-N, nginx-N) of grpc-unary and grpc-stream")
		targetArg   = flag.String("targets", "", "comma-separated targets to run (empty: all of each scenario), e.g. direct,tollgate,haproxy-1,nginx-1; a Go proxy target with @N, e.g. tollgate-frames@1, runs it with GOMAXPROCS=N")
		peerArg     = flag.String("peers", "haproxy,nginx", "peer proxies to measure (empty: none); one that is not installed is skipped")
	)
	flag.Parse()
	if *role == "proxy" {
		if err := runProxyChild(*kind, *backend); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench proxy:", err)
			os.Exit(1)
		}
		return
	}
	concs, err := parseInts(*concList)
	if err != nil {
		fatal(err)
	}
	scenarios := strings.Split(*scenarioArg, ",")
	for _, s := range scenarios {
		switch s {
		case scenarioGRPCUnary, scenarioRESTUnary, scenarioGRPCStream, scenarioWSEcho, scenarioWSFanout, scenarioConnectUnary, scenarioGRPCWebUnary:
		default:
			fatal(fmt.Errorf("unknown scenario %q", s))
		}
	}
	if *repeat < 1 || *repeat > 10000 {
		fatal(fmt.Errorf("-stream-repeat must be between 1 and 10000"))
	}
	rep := report{
		Time: time.Now().UTC(), GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		DurationSec: duration.Seconds(), WarmupSec: warmup.Seconds(), PayloadBytes: *payload, StreamRepeat: *repeat, Notes: notes,
	}
	peerNs, err := parseInts(*peerWorkers)
	if err != nil {
		fatal(fmt.Errorf("-peer-workers: %w", err))
	}
	var peers []string
	for p := range strings.SplitSeq(*peerArg, ",") {
		switch p = strings.TrimSpace(p); p {
		case "":
		case peerHAProxy, peerNginx:
			if peerBinary(p) == "" {
				fmt.Fprintf(os.Stderr, "loadbench: %s is not installed (apt-get install %s): its targets are skipped\n", p, p)
				continue
			}
			if rep.PeerVersions == nil {
				rep.PeerVersions = map[string]string{}
			}
			rep.PeerVersions[p] = peerVersion(p)
			for _, n := range peerNs {
				peers = append(peers, peerTarget(p, n))
			}
		default:
			fatal(fmt.Errorf("unknown peer %q (haproxy, nginx)", p))
		}
	}
	if *fanoutConns < 1 {
		fatal(fmt.Errorf("-fanout-conns must be at least 1"))
	}
	raiseFileLimit()
	b := &bench{only: splitSet(*targetArg), peers: peers, duration: *duration, warmup: *warmup, concs: concs, payload: make([]byte, *payload), repeat: int32(*repeat), fanoutConns: *fanoutConns}
	for i := range b.payload {
		b.payload[i] = byte(i)
	}
	b.backend, b.stopBackend, err = startBackend()
	if err != nil {
		fatal(err)
	}
	defer b.stopBackend()
	b.wsDirect, b.stopWSDirect, err = startWSDirect()
	if err != nil {
		fatal(err)
	}
	defer b.stopWSDirect()
	for _, s := range scenarios {
		cells, err := b.scenario(s)
		rep.Cells = append(rep.Cells, cells...)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadbench: %s: %v\n", s, err)
		}
	}
	printTable(rep)
	if *out != "" {
		if err := writeJSON(*out, rep); err != nil {
			fatal(err)
		}
		fmt.Printf("\nwrote %s\n", *out)
	}
}

type bench struct {
	peers            []string // peer proxy targets (haproxy-N, nginx-N)
	only             map[string]bool
	duration, warmup time.Duration
	concs            []int
	payload          []byte
	repeat           int32
	backend          string
	stopBackend      func()
	wsDirect         string // the direct WebSocket server
	stopWSDirect     func()
	fanoutConns      int
}

// scenario runs every target of scenario s at every concurrency.
func (b *bench) scenario(s string) ([]cell, error) {
	var targets []string
	switch s {
	case scenarioGRPCUnary, scenarioGRPCStream:
		targets = append([]string{targetDirect, kindTollgate, kindTollgateFrames, kindTollgateBinary, kindTollgateTLS, kindTollgatePolicy, kindTollgatePolicyFrames}, b.peers...)
	case scenarioRESTUnary:
		targets = []string{kindTollgate, kindTollgateFrames, kindTollgateTLS, kindTollgatePolicy, kindTollgatePolicyFrames, kindGRPCGateway, kindVanguard}
	case scenarioConnectUnary, scenarioGRPCWebUnary:
		targets = []string{kindTollgate, kindTollgatePolicy, kindVanguard}
	case scenarioWSEcho, scenarioWSFanout:
		targets = []string{targetDirect, kindTollgate}
	}
	var cells []cell
	for _, t := range b.withProcs(targets) {
		if len(b.only) > 0 && !b.only[t] {
			continue
		}
		cs, err := b.target(s, t)
		cells = append(cells, cs...)
		if err != nil {
			return cells, fmt.Errorf("%s: %w", t, err)
		}
	}
	return cells, nil
}

// withProcs adds, after each Go proxy target, the variants of it that
// -targets names with a processor count ("tollgate-frames@1": the proxy
// child runs with GOMAXPROCS=1), to compare a Go proxy with a peer held to
// the same number of threads (haproxy-1).
func (b *bench) withProcs(targets []string) []string {
	var out []string
	for _, t := range targets {
		out = append(out, t)
		for only := range b.only {
			if base, procs, ok := strings.Cut(only, "@"); ok && base == t && t != targetDirect {
				if _, _, peer := parsePeer(t); !peer && procs != "" {
					out = append(out, only)
				}
			}
		}
	}
	return out
}

func (b *bench) target(s, full string) ([]cell, error) {
	// t is the target's kind; full may add "@N", the proxy's GOMAXPROCS.
	t, procs, _ := strings.Cut(full, "@")
	addr := b.backend
	var p *proxyProcess
	if _, _, ok := parsePeer(t); ok {
		var err error
		if p, err = spawnPeer(t, b.backend); errors.Is(err, errPeerAbsent) {
			fmt.Fprintf(os.Stderr, "loadbench: %s: %v, skipped\n", t, err)
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		defer p.stop()
		addr = p.addr
	} else if t == kindTollgateBinary {
		var err error
		if p, err = spawnTollgateBinary(b.backend, procs); err != nil {
			return nil, err
		}
		defer p.stop()
		addr = p.addr
	} else if t != targetDirect {
		var err error
		if p, err = spawnProxy(t, b.backend, procs); err != nil {
			return nil, err
		}
		defer p.stop()
		addr = p.addr
	}
	unit := "call"
	// makeFn returns the call of a cell with conc workers (or, for a
	// fan-out, conc connections) and what to close after it.
	var makeFn func(conc int) (callFunc, func(), error)
	same := func(fn callFunc) func(int) (callFunc, func(), error) {
		return func(int) (callFunc, func(), error) { return fn, func() {}, nil }
	}
	concs := b.concs
	switch s {
	case scenarioGRPCUnary, scenarioGRPCStream:
		dial := dialGRPC
		if t == kindTollgateTLS {
			dial = dialGRPCTLS
		}
		conn, err := dial(addr)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		md := metadata.MD{}
		if isTollgateTarget(t) {
			md.Set("x-tollgate-stage", benchStageID)
		}
		if isPolicyTarget(t) {
			md = metadata.Join(md, policyMetadata())
		}
		if s == scenarioGRPCUnary {
			makeFn = same(grpcUnary(conn, md, b.payload))
		} else {
			makeFn = same(grpcStream(conn, md, b.payload, b.repeat))
			unit = "msg"
		}
	case scenarioRESTUnary:
		url := "http://" + addr + "/v1/echo"
		header := http.Header{}
		if isTollgateTarget(t) {
			url = "http://" + addr + "/" + benchStageID + "/v1/echo"
		}
		client := newHTTPClient()
		if t == kindTollgateTLS {
			url = "https://" + addr + "/" + benchStageID + "/v1/echo"
			client = newHTTPSClient()
		}
		if isPolicyTarget(t) {
			for k, v := range policyMetadata() {
				header[http.CanonicalHeaderKey(k)] = v
			}
		}
		defer client.CloseIdleConnections()
		makeFn = same(restUnary(client, url, header, b.payload))
	case scenarioConnectUnary, scenarioGRPCWebUnary:
		url := "http://" + addr + "/tollgate.example.v1.EchoService/Echo"
		header := http.Header{}
		if t == kindTollgate || t == kindTollgatePolicy {
			url = "http://" + addr + "/" + benchStageID + "/tollgate.example.v1.EchoService/Echo"
		}
		if isPolicyTarget(t) {
			for k, v := range policyMetadata() {
				header[http.CanonicalHeaderKey(k)] = v
			}
		}
		client := newHTTPClient()
		defer client.CloseIdleConnections()
		fn, err := webUnary(s, client, url, header, b.payload)
		if err != nil {
			return nil, err
		}
		makeFn = same(fn)
	case scenarioWSEcho:
		if t == targetDirect {
			addr = b.wsDirect
		}
		echoURL, _ := wsURLs(t, addr)
		makeFn = func(conc int) (callFunc, func(), error) {
			return wsEcho(context.Background(), echoURL, conc, b.payload)
		}
	case scenarioWSFanout:
		unit = "msg"
		concs = []int{b.fanoutConns}
		var post func(context.Context, []byte) error
		if t == targetDirect {
			addr = b.wsDirect
			client := newHTTPClient()
			defer client.CloseIdleConnections()
			post = directPost(client, addr)
		} else {
			conn, err := dialGRPC(addr)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			post = tollgatePost(conn)
		}
		_, fanoutURL := wsURLs(t, addr)
		makeFn = func(conc int) (callFunc, func(), error) {
			f, err := dialFanout(context.Background(), fanoutURL, conc)
			if err != nil {
				return nil, nil, err
			}
			return broadcaster(f, post, b.payload), f.close, nil
		}
	}
	var cells []cell
	for _, conc := range concs {
		fmt.Fprintf(os.Stderr, "loadbench: %-11s %-12s c=%-3d ...", s, t, conc)
		fn, done, err := makeFn(conc)
		if err != nil {
			return cells, err
		}
		workers := conc
		if s == scenarioWSFanout {
			workers = 1 // one broadcaster; conc is the connections
		}
		if b.warmup > 0 {
			runLoad(workers, b.warmup, fn)
		}
		var cpu0 time.Duration
		var gc0 int64
		var gcOK bool
		if p != nil {
			p.resetPeakRSS()
			var err error
			if cpu0, err = p.cpu(); err != nil {
				return cells, err
			}
			if gc0, gcOK, err = p.gcCycles(); err != nil {
				return cells, err
			}
		}
		var anon *anonSampler
		if p != nil {
			anon = p.sampleAnon()
		}
		m0, merr := machineCPU()
		r := runLoad(workers, b.duration, fn)
		m1, merr1 := machineCPU()
		peakAnon := anon.stop()
		done()
		c := cell{
			Scenario: s, Target: full, Concurrency: conc, Unit: unit,
			ElapsedSec: r.Elapsed.Seconds(), Calls: r.Calls, Msgs: r.Msgs, Errors: r.Errors, FirstError: r.FirstErr,
			CallsPerSec: float64(r.Calls-r.Errors) / r.Elapsed.Seconds(),
			P50Micros:   micros(quantile(r.Latencies, 0.50)),
			P99Micros:   micros(quantile(r.Latencies, 0.99)),
			P999Micros:  micros(quantile(r.Latencies, 0.999)),
		}
		ops := r.Calls - r.Errors
		if unit == "msg" {
			ops = r.Msgs
		}
		c.OpsPerSec = float64(ops) / r.Elapsed.Seconds()
		if merr == nil && merr1 == nil && ops > 0 {
			c.MachineCPUPerOp = micros(m1-m0) / float64(ops)
		}
		if p != nil {
			cpu1, err := p.cpu()
			if err != nil {
				return cells, err
			}
			c.ProxyCPUMicros = micros(cpu1 - cpu0)
			if ops > 0 {
				c.ProxyCPUPerOp = c.ProxyCPUMicros / float64(ops)
			}
			if gc1, _, err := p.gcCycles(); err != nil {
				return cells, err
			} else if gcOK {
				c.ProxyGCs = gc1 - gc0
			}
			c.ProxyCores = (cpu1 - cpu0).Seconds() / r.Elapsed.Seconds()
			if rss, err := p.peakRSS(); err == nil {
				c.ProxyPeakRSS = rss
			}
			c.ProxyPeakAnon = peakAnon
		}
		fmt.Fprintf(os.Stderr, " %.0f %s/s, %d errors\n", c.OpsPerSec, unit, c.Errors)
		if r.FirstErr != "" {
			fmt.Fprintf(os.Stderr, "loadbench:   first error: %s\n", r.FirstErr)
		}
		cells = append(cells, c)
	}
	return cells, nil
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// refKey identifies the cells compared with each other: by scenario, or
// for the web client scenarios, by the target of the grpc-unary cell.
type refKey struct {
	scenario    string
	concurrency int
}

// refOf is the key of a cell's reference.
func refOf(c cell) refKey {
	if webScenario(c.Scenario) {
		t := c.Target
		if t == kindVanguard {
			t = kindTollgate
		}
		return refKey{t, c.Concurrency}
	}
	return refKey{c.Scenario, c.Concurrency}
}

// referenceOps returns, per scenario and concurrency, the ops/s that the
// "vs ref" column compares with: the direct call where the scenario has one
// (the physical limit), otherwise grpc-gateway's static handler (what a
// user would hand-build).
func referenceOps(cells []cell) map[refKey]float64 {
	refs := map[refKey]float64{}
	for _, c := range cells {
		if c.Scenario == scenarioGRPCUnary && c.Target != targetDirect {
			// The reference of the web client scenarios' cells.
			refs[refKey{c.Target, c.Concurrency}] = c.OpsPerSec
		}
	}
	for _, c := range cells {
		k := refKey{c.Scenario, c.Concurrency}
		switch c.Target {
		case targetDirect:
			refs[k] = c.OpsPerSec
		case kindGRPCGateway:
			if _, ok := refs[k]; !ok {
				refs[k] = c.OpsPerSec
			}
		}
	}
	return refs
}

func printTable(r report) {
	fmt.Printf("\nTollgate load harness — %s, %d CPUs, GOMAXPROCS=%d, %s per cell (+%s warm-up), payload %d B, stream repeat %d\n\n",
		r.GoVersion, r.NumCPU, r.GOMAXPROCS, time.Duration(r.DurationSec*float64(time.Second)),
		time.Duration(r.WarmupSec*float64(time.Second)), r.PayloadBytes, r.StreamRepeat)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\ttarget\tconc\tcalls/s\tops/s\tunit\tvs ref\tp50 µs\tp99 µs\tp99.9 µs\terrors\tproxy CPU µs/op\tGCs\tCPU s/10k ops\tproxy cores\tproxy peak RSS MiB\tpeak anon MiB\tmachine CPU µs/op\t")
	refs := referenceOps(r.Cells)
	for _, c := range r.Cells {
		cpu, gc, per10k, cores, rss, anon := "-", "-", "-", "-", "-", "-"
		if c.Target != targetDirect {
			cpu = fmt.Sprintf("%.1f", c.ProxyCPUPerOp)
			if c.ProxyGCs > 0 {
				gc = strconv.FormatInt(c.ProxyGCs, 10)
			}
			per10k = fmt.Sprintf("%.2f", c.ProxyCPUPerOp*1e4/1e6)
			cores = fmt.Sprintf("%.2f", c.ProxyCores)
			rss = fmt.Sprintf("%.1f", float64(c.ProxyPeakRSS)/(1<<20))
			if c.ProxyPeakAnon > 0 {
				anon = fmt.Sprintf("%.1f", float64(c.ProxyPeakAnon)/(1<<20))
			}
		}
		machine := "-"
		if c.MachineCPUPerOp > 0 {
			machine = fmt.Sprintf("%.1f", c.MachineCPUPerOp)
		}
		ratio := "-"
		if ref := refs[refOf(c)]; ref > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*c.OpsPerSec/ref)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%.0f\t%.0f\t%s\t%s\t%.0f\t%.0f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			c.Scenario, c.Target, c.Concurrency, c.CallsPerSec, c.OpsPerSec, c.Unit, ratio,
			c.P50Micros, c.P99Micros, c.P999Micros, c.Errors, cpu, gc, per10k, cores, rss, anon, machine)
	}
	w.Flush()
	fmt.Println()
	for _, k := range []string{peerHAProxy, peerNginx} {
		if v := r.PeerVersions[k]; v != "" {
			fmt.Printf("* %s: %s\n", k, v)
		}
	}
	for _, n := range r.Notes {
		fmt.Println("* " + n)
	}
}

func writeJSON(path string, r report) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad concurrency %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// splitSet is the set of a comma-separated list's non-empty items.
func splitSet(s string) map[string]bool {
	m := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			m[f] = true
		}
	}
	return m
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadbench:", err)
	os.Exit(1)
}
