package connsplit_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tollgate-gw/tollgate/internal/connsplit"
)

// split serves a gRPC health server and an HTTP server (HTTP/1.1 and h2c)
// on one loopback port and returns its address.
func split(t *testing.T, opts ...connsplit.Option) (string, *connsplit.Splitter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sp := connsplit.New(ln, opts...)
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Protocols: &protocols,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				gs.ServeHTTP(w, r) // a gRPC call on a connection that started as REST
				return
			}
			_, _ = io.WriteString(w, "http "+r.Proto)
		}),
	}
	done := make(chan struct{}, 3)
	go func() { _ = sp.Serve(); done <- struct{}{} }()
	go func() { _ = gs.Serve(sp.GRPC()); done <- struct{}{} }()
	go func() { _ = hs.Serve(sp.HTTP()); done <- struct{}{} }()
	t.Cleanup(func() {
		_ = sp.Close()
		gs.Stop()
		_ = hs.Close()
		for range 3 {
			<-done
		}
	})
	return ln.Addr().String(), sp
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkHealth(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("gRPC health check: %v", err)
	}
}

func TestSplitterServesEveryKindOnOnePort(t *testing.T) {
	addr, _ := split(t)

	h1 := &http.Client{Transport: &http.Transport{}}
	if got := get(t, h1, "http://"+addr+"/x"); got != "http HTTP/1.1" {
		t.Errorf("HTTP/1.1 client got %q", got)
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &p}}
	if got := get(t, h2c, "http://"+addr+"/x"); got != "http HTTP/2.0" {
		t.Errorf("h2c client got %q", got)
	}

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkHealth(t, conn)
}

func TestSplitterIdleGRPCChannel(t *testing.T) {
	// A channel that connects ahead of its first call sends only the
	// preface and SETTINGS; it must still reach the gRPC server.
	addr, _ := split(t, connsplit.WithFirstRequestWait(50*time.Millisecond))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Connect()
	time.Sleep(200 * time.Millisecond)
	checkHealth(t, conn)
}

func TestSplitterSlowAndSilentClients(t *testing.T) {
	addr, _ := split(t, connsplit.WithTimeout(300*time.Millisecond))

	// A client trickling its HTTP/1.1 request byte by byte is served.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	for i := range len(req) {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "http HTTP/1.1") {
		t.Errorf("trickled request got %q", b)
	}

	// A client that sends nothing is closed after the timeout, and does
	// not hold up others meanwhile.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if got := get(t, &http.Client{Transport: &http.Transport{}}, "http://"+addr+"/y"); got != "http HTTP/1.1" {
		t.Errorf("client behind a silent one got %q", got)
	}
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("silent client: read = %v, want EOF (closed by the splitter)", err)
	}
}

func TestSplitterCloseStopsAccepting(t *testing.T) {
	addr, sp := split(t)
	if err := sp.HTTP().Close(); err != nil {
		t.Fatalf("closing the HTTP listener: %v", err)
	}
	if _, err := sp.GRPC().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("gRPC Accept after close = %v, want net.ErrClosed", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts connections after its listener was closed")
	}
	if sp.GRPC().Addr().String() != addr {
		t.Errorf("Addr = %v, want %v", sp.GRPC().Addr(), addr)
	}
}
