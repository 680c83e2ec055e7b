package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server"
)

// benchTLSServer serves the demo with a TLS listener until the benchmark
// ends, quietly.
func benchTLSServer(b *testing.B, ca *testpki.CA) *server.Server {
	b.Helper()
	certFile, keyFile := ca.Issue(b, "127.0.0.1").WriteFiles(b, b.TempDir())
	return startServer(b, server.Config{
		DataDir: b.TempDir(), AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0", TLSListenAddr: "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, Demo: true, ShutdownTimeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Stderr: io.Discard, AccessLog: io.Discard,
	}).Server
}

// BenchmarkTLSHandshake measures handshakes per second on the data port's
// TLS listener: full handshakes (no session to resume) and resumed ones
// (TLS 1.3 session tickets), client and server in this process, ECDSA
// P-256 certificate.
func BenchmarkTLSHandshake(b *testing.B) {
	ca := testpki.NewCA(b, "bench CA")
	s := benchTLSServer(b, ca)
	for _, tc := range []struct {
		name   string
		resume bool
	}{{"full", false}, {"resumed", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := &tls.Config{RootCAs: ca.Pool(), NextProtos: []string{"http/1.1"}}
			if tc.resume {
				cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
			if tc.resume {
				// TLS 1.3 tickets arrive after the handshake: read
				// until one has, once; Go clients reuse the ticket.
				c, err := tls.Dial("tcp", s.TLSAddr(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = c.Read(make([]byte, 1))
				_ = c.Close()
			}
			resumed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c, err := tls.Dial("tcp", s.TLSAddr(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if c.ConnectionState().DidResume {
					resumed++
				}
				_ = c.Close()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
			if tc.resume && resumed < b.N/2 {
				b.Errorf("only %d of %d handshakes resumed", resumed, b.N)
			}
		})
	}
}

// BenchmarkKeptAliveCall measures a unary gRPC call through the gateway on
// one kept-alive connection, cleartext against TLS, in the same run: the
// difference is what TLS costs per call once the handshake is paid.
func BenchmarkKeptAliveCall(b *testing.B) {
	ca := testpki.NewCA(b, "bench CA")
	s := benchTLSServer(b, ca)
	for _, tc := range []struct {
		name  string
		addr  string
		creds credentials.TransportCredentials
	}{
		{"cleartext", s.DataAddr(), insecure.NewCredentials()},
		{"tls", s.TLSAddr(), credentials.NewTLS(&tls.Config{RootCAs: ca.Pool()})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			conn, err := grpc.NewClient(tc.addr, grpc.WithTransportCredentials(tc.creds))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			books := examplev1.NewBookstoreServiceClient(conn)
			ctx := context.Background()
			if _, err := books.ListShelves(ctx, &examplev1.ListShelvesRequest{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := books.ListShelves(ctx, &examplev1.ListShelvesRequest{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
