package gateway_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// Environment of the WebSocket benchmarks.
const (
	// benchConnsEnv sets how many idle connections
	// BenchmarkWebSocketIdleConnections opens (default 10000).
	benchConnsEnv = "TOLLGATE_WS_BENCH_CONNS"
	// clientAddrEnv makes TestWebSocketClientProcess a client process.
	clientAddrEnv = "TOLLGATE_WS_CLIENT_ADDR"
	// clientReadEnv makes the client process read and count messages,
	// printing "count N" every 20 ms.
	clientReadEnv = "TOLLGATE_WS_CLIENT_READ"
	// benchSendEnv makes each client of BenchmarkWebSocketIdleConnections
	// send one message of that many bytes before it goes idle.
	benchSendEnv = "TOLLGATE_WS_BENCH_SEND"
	// benchTLSEnv, when set, makes BenchmarkWebSocketIdleConnections and
	// BenchmarkWebSocketMessage serve TLS (wss://), as a data port with a
	// certificate does.
	benchTLSEnv = "TOLLGATE_WS_BENCH_TLS"
)

// raiseFileLimit raises the open file limit to its hard maximum.
func raiseFileLimit(tb testing.TB) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatal(err)
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		tb.Fatal(err)
	}
	return l.Cur
}

// TestWebSocketClientProcess is not a test: BenchmarkWebSocketIdleConnections
// runs the test binary with it as a separate client process, so that the
// clients' memory is not counted as the gateway's. It opens the number of
// connections given as TOLLGATE_WS_BENCH_CONNS to the address in
// TOLLGATE_WS_CLIENT_ADDR, prints "ready N", and holds them until stdin
// closes.
func TestWebSocketClientProcess(t *testing.T) {
	addr := os.Getenv(clientAddrEnv)
	if addr == "" {
		t.Skip("a helper process of BenchmarkWebSocketIdleConnections")
	}
	raiseFileLimit(t)
	n, _ := strconv.Atoi(os.Getenv(benchConnsEnv))
	var (
		mu       sync.Mutex
		conns    []*websocket.Conn
		fails    atomic.Int64
		received atomic.Int64
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 64)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			url, opts := "ws://"+addr+"/prod", (*websocket.DialOptions)(nil)
			if os.Getenv(benchTLSEnv) != "" {
				url = "wss://" + addr + "/prod"
				opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
					TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the benchmark's throwaway certificate
				}}}
			}
			c, _, err := websocket.Dial(ctx, url, opts)
			if err != nil {
				fails.Add(1)
				return
			}
			if n, _ := strconv.Atoi(os.Getenv(benchSendEnv)); n > 0 {
				if err := c.Write(ctx, websocket.MessageBinary, make([]byte, n)); err != nil {
					fails.Add(1)
					return
				}
			}
			if os.Getenv(clientReadEnv) != "" {
				go func() {
					for {
						if _, _, err := c.Read(context.Background()); err != nil {
							return
						}
						received.Add(1)
					}
				}()
			} else {
				// Answer pings and notice a close, without keeping data.
				c.CloseRead(context.Background())
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Printf("ready %d %d\n", len(conns), fails.Load())
	if os.Getenv(clientReadEnv) != "" {
		go func() {
			for {
				time.Sleep(20 * time.Millisecond)
				fmt.Printf("count %d\n", received.Load())
			}
		}()
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// BenchmarkWebSocketIdleConnections opens TOLLGATE_WS_BENCH_CONNS (default
// 10000) idle WebSocket connections from a separate client process and
// reports the gateway's memory per connection (Go heap and stacks, after
// GC, bookkeeping included; kernel socket buffers excluded). With
// TOLLGATE_WS_BENCH_SEND, each client first sends one message of that many
// bytes, to a one-way route with a mock integration.
//
//	go test -run '^$' -bench WebSocketIdle -benchtime 1x ./server/gateway/
func BenchmarkWebSocketIdleConnections(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv(benchConnsEnv)); err == nil && v > 0 {
		n = v
	}
	if max := raiseFileLimit(b); uint64(n)+100 > max {
		b.Skipf("the open file limit %d is too low for %d connections", max, n)
	}
	gw, err := gateway.New()
	if err != nil {
		b.Fatal(err)
	}
	var tg *testGateway
	if os.Getenv(benchTLSEnv) != "" {
		tg = serveGatewayTLS(b, gw)
	} else {
		tg = serveGateway(b, gw)
	}
	var routes []*adminv1.Route
	if os.Getenv(benchSendEnv) != "" {
		// The message goes to a one-way route answered by a mock.
		def := wsRoute("default", "$default", false)
		def.Integration = &adminv1.Integration{Target: &adminv1.Integration_Mock{Mock: &adminv1.MockIntegration{StatusCode: 200}}}
		routes = append(routes, def)
	}
	tg.load(b, wsStage(wsDeployment("127.0.0.1:1", routes...), nil))
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()

		cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocketClientProcess$", "-test.v")
		cmd.Env = append(os.Environ(), clientAddrEnv+"="+tg.addr, benchConnsEnv+"="+strconv.Itoa(n))
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		var opened, failed int
		for sc.Scan() {
			if _, err := fmt.Sscanf(sc.Text(), "ready %d %d", &opened, &failed); err == nil {
				break
			}
		}
		elapsed := time.Since(start)
		for gw.Connections() < opened {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // let the upgrade requests' leftovers go
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if f := os.Getenv("TOLLGATE_WS_HEAP_PROFILE"); f != "" {
			if out, err := os.Create(f); err == nil {
				_ = pprof.Lookup("heap").WriteTo(out, 0)
				_ = out.Close()
			}
		}
		live := gw.Connections()
		perConn := float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / float64(live)
		b.ReportMetric(float64(live), "conns")
		b.ReportMetric(perConn, "B/conn")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/float64(live), "stack-B/conn")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(live), "goroutines/conn")
		b.ReportMetric(float64(opened)/elapsed.Seconds(), "connects/s")
		if failed > 0 || live != n {
			b.Errorf("%d of %d connections open, %d failed", live, n, failed)
		}
		_ = stdin.Close()
		_ = cmd.Wait()
		for gw.Connections() > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// BenchmarkWebSocketFanOut broadcasts 128-byte messages to 1,000
// connections of a stage through the HTTP callback API (PostToStage) and
// reports delivered messages per second. The clients run in-process and
// share the CPU with the gateway.
func BenchmarkWebSocketFanOut(b *testing.B) {
	const conns, batch = 1000, 200
	raiseFileLimit(b)
	gw, err := gateway.New(gateway.WithCallbackAdminToken(func(tok string) bool { return tok == testAdminToken }))
	if err != nil {
		b.Fatal(err)
	}
	tg := serveGateway(b, gw)
	tg.load(b, wsStage(wsDeployment("127.0.0.1:1"), &adminv1.WebSocketSettings{SendQueueSize: 4096}))
	var received atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range conns {
		c, _, err := websocket.Dial(ctx, "ws://"+tg.addr+"/prod", nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				received.Add(1)
			}
		}()
	}
	for gw.Connections() < conns {
		time.Sleep(10 * time.Millisecond)
	}
	msg := strings.Repeat("m", 128)
	post := func() {
		req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/@connections"), strings.NewReader(msg))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("broadcast: %d", resp.StatusCode)
		}
	}
	b.ResetTimer()
	start := time.Now()
	sent := 0
	for sent < b.N {
		k := min(batch, b.N-sent)
		for range k {
			post()
		}
		sent += k
		want := int64(sent) * conns
		for received.Load() < want {
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(received.Load())/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "broadcasts/s")
}

// BenchmarkWebSocketMessage sends messages on a two-way route through the
// gateway (routing, the interceptor chain, a unary gRPC integration call on
// loopback) and waits for each answer, over one connection per parallel
// worker; over TLS with TOLLGATE_WS_BENCH_TLS.
func BenchmarkWebSocketMessage(b *testing.B) {
	be := newWSBackend()
	be.notify = make(chan wsEvent) // unbuffered: drained below
	go func() {
		for range be.notify {
		}
	}()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	datav1.RegisterWebSocketIntegrationServiceServer(srv, be)
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	gw, err := gateway.New()
	if err != nil {
		b.Fatal(err)
	}
	var tg *testGateway
	url, opts := "", (*websocket.DialOptions)(nil)
	if os.Getenv(benchTLSEnv) != "" {
		tg = serveGatewayTLS(b, gw)
		url = "wss://" + tg.addr + "/prod"
		opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the benchmark's throwaway certificate
		}}}
	} else {
		tg = serveGateway(b, gw)
		url = "ws://" + tg.addr + "/prod"
	}
	tg.load(b, wsStage(wsDeployment(lis.Addr().String(), wsRoute("echo", "echo", true)), nil))
	msg := []byte(`{"action":"echo","text":"` + strings.Repeat("x", 100) + `"}`)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		c, _, err := websocket.Dial(ctx, url, opts)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.CloseNow()
		for pb.Next() {
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkWebSocketFanOutExternal is BenchmarkWebSocketFanOut with the
// 1,000 clients in a separate process (which still shares the machine's
// cores), so that only the gateway's work is in this process.
func BenchmarkWebSocketFanOutExternal(b *testing.B) {
	const conns, batch = 1000, 200
	raiseFileLimit(b)
	gw, err := gateway.New(gateway.WithCallbackAdminToken(func(tok string) bool { return tok == testAdminToken }))
	if err != nil {
		b.Fatal(err)
	}
	tg := serveGateway(b, gw)
	tg.load(b, wsStage(wsDeployment("127.0.0.1:1"), &adminv1.WebSocketSettings{SendQueueSize: 4096}))
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocketClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(), clientAddrEnv+"="+tg.addr, benchConnsEnv+"="+strconv.Itoa(conns), clientReadEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	var received atomic.Int64
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var n int64
			if strings.HasPrefix(sc.Text(), "ready ") {
				close(ready)
			} else if _, err := fmt.Sscanf(sc.Text(), "count %d", &n); err == nil {
				received.Store(n)
			}
		}
	}()
	<-ready
	for gw.Connections() < conns {
		time.Sleep(10 * time.Millisecond)
	}
	msg := strings.Repeat("m", 128)
	b.ResetTimer()
	start := time.Now()
	sent := 0
	for sent < b.N {
		k := min(batch, b.N-sent)
		for range k {
			req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/@connections"), strings.NewReader(msg))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		sent += k
		for received.Load() < int64(sent)*conns {
			time.Sleep(time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(int64(sent)*conns)/elapsed.Seconds(), "msgs/s")
}

// serveGatewayTLS serves gw's HTTP/1.1 over TLS on a loopback listener, as
// a data port with a certificate does (connsplit.WithTLS).
func serveGatewayTLS(t testing.TB, gw *gateway.Gateway) *testGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	leaf := testpki.NewCA(t, "bench CA").Issue(t, "127.0.0.1")
	split := connsplit.New(ln, connsplit.WithTLS(&tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		NextProtos:   []string{"http/1.1"},
	}))
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = split.Serve() }()
	go func() { _ = srv.Serve(split.HTTP()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = gw.Close()
	})
	return &testGateway{gw: gw, addr: ln.Addr().String(), seen: make(chan string, 1)}
}
