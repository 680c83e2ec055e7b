package connsplit_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// splitTLS serves, behind TLS, a gRPC health server only on the native
// transport (the HTTP side refuses gRPC) and an HTTP server answering
// "<proto> tls=<whether the handler sees TLS>".
func splitTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, Certificates: []tls.Certificate{cert}}
	sp := connsplit.New(ln, connsplit.WithTLS(cfg))
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Protocols:   &protocols,
		ConnContext: connsplit.ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				http.Error(w, "gRPC must use the native transport", http.StatusTeapot)
				return
			}
			seen := r.TLS != nil || connsplit.TLSState(r.Context()) != nil
			_, _ = io.WriteString(w, r.Proto+" tls="+map[bool]string{true: "yes", false: "no"}[seen])
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
	return ln.Addr().String()
}

// TestTLS: after the handshake, HTTP/1.1 and HTTP/2 requests reach the HTTP
// server, which sees them as TLS, and gRPC reaches grpc-go's transport.
func TestTLS(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	addr := splitTLS(t, ca.Issue(t, "127.0.0.1").TLS)

	for _, tc := range []struct {
		name      string
		protocols func(*http.Protocols)
		want      string
	}{
		{"http/1.1", func(p *http.Protocols) { p.SetHTTP1(true) }, "HTTP/1.1 tls=yes"},
		{"h2", func(p *http.Protocols) { p.SetHTTP2(true) }, "HTTP/2.0 tls=yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p http.Protocols
			tc.protocols(&p)
			tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := c.Get("https://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if got := string(body); got != tc.want {
				t.Errorf("body %q, want %q", got, tc.want)
			}
			if resp.TLS == nil {
				t.Fatal("response without TLS")
			}
			// Go's client offers no ALPN for HTTP/1.1 only: both mean HTTP/1.1.
			if got := resp.TLS.NegotiatedProtocol; got != tc.name && (tc.name != "http/1.1" || got != "") {
				t.Errorf("ALPN %q, want %q", got, tc.name)
			}
		})
	}

	t.Run("grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: ca.Pool()})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		resp, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("status %v", resp.GetStatus())
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second}
		if _, err := c.Get("https://" + addr + "/"); err == nil {
			t.Error("a client that does not trust the CA connected")
		}
	})
}
