package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// lockedBuffer collects a server's error log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveGatewayLogged serves gw as serveGateway does, with the HTTP
// server's error log (where net/http reports handler panics) collected.
func serveGatewayLogged(t *testing.T, gw *gateway.Gateway) (string, *lockedBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: gw, Protocols: &protocols, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(logs, "", 0)}
	split := connsplit.New(ln)
	go func() { _ = split.Serve() }()
	go func() { _ = srv.Serve(split.HTTP()) }()
	go func() { _ = gw.ServeGRPC(split.GRPC()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = gw.Close()
	})
	return ln.Addr().String(), logs
}

// TestIssue13SlowBodyPastRouteTimeout sends a request body one byte at a
// time to a plain HTTP route whose timeout expires first: the gateway
// answers 504 while its transport is still reading the body, and a Read of
// the body after the handler returned must not race with the server
// finishing the request ("http: panic serving …: invalid concurrent
// Body.Read call"). Run with -race.
func TestIssue13SlowBodyPastRouteTimeout(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // waits for the whole (slow) body
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(upstream.Close)
	gw, err := gateway.New()
	if err != nil {
		t.Fatal(err)
	}
	addr, logs := serveGatewayLogged(t, gw)
	tg := &testGateway{gw: gw, addr: addr}
	d := deployment(t, "files", "v1", "127.0.0.1:1", &adminv1.Route{
		Name:        "apis/files/routes/upload",
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "POST", Path: "/upload"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: upstream.URL}}},
		Timeout:     durationpb.New(100 * time.Millisecond),
	})
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, nil))

	const bodyLen = 60
	const every = 10 * time.Millisecond // the body takes 600 ms: 6 route timeouts
	tests := []struct {
		name string
		send func(t *testing.T) int // returns the response status
	}{
		{"HTTP/1.1", func(t *testing.T) int {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(robustWait))
			fmt.Fprintf(c, "POST /prod/upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bodyLen)
			status := make(chan int, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					status <- 0
					return
				}
				status <- resp.StatusCode
			}()
			for range bodyLen {
				if _, err := c.Write([]byte{'x'}); err != nil {
					break // the server may close once it answered
				}
				time.Sleep(every)
			}
			return <-status
		}},
		{"h2c", func(t *testing.T) int {
			pr, pw := io.Pipe()
			go func() {
				defer pw.Close()
				for range bodyLen {
					if _, err := pw.Write([]byte{'x'}); err != nil {
						return
					}
					time.Sleep(every)
				}
			}()
			req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/upload"), pr)
			var p http.Protocols
			p.SetUnencryptedHTTP2(true)
			tr := &http.Transport{Protocols: &p}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: robustWait}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			time.Sleep(bodyLen * every) // let the body go on past the answer
			return resp.StatusCode
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.send(t); got != http.StatusGatewayTimeout {
				t.Errorf("status %d, want 504", got)
			}
			time.Sleep(50 * time.Millisecond)
			if l := logs.String(); strings.Contains(l, "panic") {
				t.Fatalf("the server logged a panic:\n%s", l)
			}
		})
	}
}
