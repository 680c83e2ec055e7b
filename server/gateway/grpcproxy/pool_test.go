package grpcproxy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

func TestPoolReusesOneConnPerBackend(t *testing.T) {
	t.Parallel()
	rec := startRecorder(t)
	gw := startGateway(t, to(rec.addr, 0), gatewayConfig{})
	c := examplev1.NewEchoServiceClient(dial(t, gw.addr))
	for i := range 100 {
		if _, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := gw.pool.Len(); n != 1 {
		t.Errorf("pool has %d connections, want 1", n)
	}
	if n := rec.accepts.Load(); n != 1 {
		t.Errorf("backend accepted %d TCP connections, want 1", n)
	}
	b := grpcproxy.Backend{Target: rec.addr}
	first, err := gw.pool.Conn(b)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := gw.pool.Conn(b); again != first {
		t.Error("Conn returned a different connection for the same backend")
	}
	// A different Authority is a different backend.
	other, err := gw.pool.Conn(grpcproxy.Backend{Target: rec.addr, Authority: "other.test"})
	if err != nil {
		t.Fatal(err)
	}
	if other == first || gw.pool.Len() != 2 {
		t.Errorf("a backend with another authority shares a connection (Len %d)", gw.pool.Len())
	}
}

// waitShutdown waits until cc is closed.
func waitShutdown(t *testing.T, cc *grpc.ClientConn, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for cc.GetState() != connectivity.Shutdown {
		if time.Now().After(deadline) {
			t.Fatalf("connection to %s still %v after %v", cc.Target(), cc.GetState(), within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPoolRetain(t *testing.T) {
	t.Parallel()
	a := grpcproxy.Backend{Target: startBackend(t).Addr()}
	b := grpcproxy.Backend{Target: startBackend(t).Addr()}
	pool := grpcproxy.NewPool(grpcproxy.WithRetainGrace(0))
	t.Cleanup(func() { _ = pool.Close() })
	ca, _ := pool.Conn(a)
	cb, _ := pool.Conn(b)

	pool.Retain([]grpcproxy.Backend{a})
	if n := pool.Len(); n != 1 {
		t.Errorf("Len() = %d after Retain, want 1", n)
	}
	waitShutdown(t, cb, time.Second)
	if s := ca.GetState(); s == connectivity.Shutdown {
		t.Error("the retained connection was closed")
	}
	if again, _ := pool.Conn(a); again != ca {
		t.Error("Conn after Retain made a new connection for a retained backend")
	}
	// A retired backend that is used again gets a new connection.
	nb, err := pool.Conn(b)
	if err != nil {
		t.Fatal(err)
	}
	if nb == cb {
		t.Error("Conn returned the closed connection")
	}
	if _, err := examplev1.NewEchoServiceClient(nb).Echo(testContext(t), &examplev1.EchoRequest{Message: "hi"}); err != nil {
		t.Errorf("call on the new connection: %v", err)
	}
}

func TestPoolRetainGrace(t *testing.T) {
	t.Parallel()
	be := startBackend(t)
	routed := make(chan struct{}, 1)
	director := func(_ context.Context, _ string) (grpcproxy.Call, error) {
		select {
		case routed <- struct{}{}:
		default:
		}
		return grpcproxy.Call{Backend: grpcproxy.Backend{Target: be.Addr()}}, nil
	}
	gw := startGateway(t, director, gatewayConfig{
		poolOpts: []grpcproxy.PoolOption{grpcproxy.WithRetainGrace(time.Second)},
	})
	c := examplev1.NewEchoServiceClient(dial(t, gw.addr))
	if _, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "warm"}); err != nil {
		t.Fatal(err)
	}
	<-routed
	cc, _ := gw.pool.Conn(grpcproxy.Backend{Target: be.Addr()})

	errc := make(chan error, 1)
	go func() {
		_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "sleep:500ms"})
		errc <- err
	}()
	<-routed
	time.Sleep(100 * time.Millisecond) // let the call reach the backend
	gw.pool.Retain(nil)
	if n := gw.pool.Len(); n != 0 {
		t.Errorf("Len() = %d after Retain(nil), want 0", n)
	}
	if err := <-errc; err != nil {
		t.Errorf("call in flight during Retain failed: %v", err)
	}
	// The call ran on the retired connection: it made no new one.
	if n := gw.pool.Len(); n != 0 {
		t.Errorf("Len() = %d after the call, want 0", n)
	}
	if s := cc.GetState(); s == connectivity.Shutdown {
		t.Error("retired connection closed before its grace period ended")
	}
	waitShutdown(t, cc, 5*time.Second)
}

func TestPoolRetainRevives(t *testing.T) {
	t.Parallel()
	b := grpcproxy.Backend{Target: "127.0.0.1:1"}
	c := grpcproxy.Backend{Target: "127.0.0.1:2"}
	pool := grpcproxy.NewPool(grpcproxy.WithRetainGrace(time.Minute))
	cb, _ := pool.Conn(b)
	cc, _ := pool.Conn(c)
	pool.Retain(nil)
	if n := pool.Len(); n != 0 {
		t.Fatalf("Len() = %d, want 0", n)
	}
	// Within the grace period, a call or a later Retain takes the
	// connection back instead of dialling again.
	if got, _ := pool.Conn(b); got != cb {
		t.Error("Conn during the grace period made a new connection")
	}
	pool.Retain([]grpcproxy.Backend{b, c})
	if n := pool.Len(); n != 2 {
		t.Errorf("Len() = %d after Retain took a connection back, want 2", n)
	}
	if got, _ := pool.Conn(c); got != cc {
		t.Error("Retain did not take the draining connection back")
	}
	// Close closes retired connections in their grace period too.
	pool.Retain([]grpcproxy.Backend{b})
	if err := pool.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitShutdown(t, cb, time.Second)
	waitShutdown(t, cc, time.Second)
}

func TestPoolClose(t *testing.T) {
	t.Parallel()
	pool := grpcproxy.NewPool()
	b := grpcproxy.Backend{Target: "127.0.0.1:1"}
	cc, err := pool.Conn(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitShutdown(t, cc, time.Second)
	if _, err := pool.Conn(b); !errors.Is(err, grpcproxy.ErrPoolClosed) {
		t.Errorf("Conn after Close: %v, want ErrPoolClosed", err)
	}
	if err := pool.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	pool.Retain(nil) // does nothing
	if n := pool.Len(); n != 0 {
		t.Errorf("Len() = %d after Close, want 0", n)
	}
}

func TestPoolBadTarget(t *testing.T) {
	t.Parallel()
	pool := grpcproxy.NewPool()
	t.Cleanup(func() { _ = pool.Close() })
	if _, err := pool.Conn(grpcproxy.Backend{}); err == nil {
		t.Error("Conn with an empty target succeeded")
	}

	// Through the proxy, a target the pool cannot use is UNAVAILABLE,
	// without naming it (the log does).
	target := "unknown-scheme://x"
	c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, to(target, 0), gatewayConfig{}).addr))
	_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "hi"})
	st := wantCode(t, err, codes.Unavailable)
	if strings.Contains(st.Message(), target) || gatewayerr.Reason(err) != gatewayerr.ReasonBackendUnavailable {
		t.Errorf("message %q (reason %q): want BACKEND_UNAVAILABLE without the target", st.Message(), gatewayerr.Reason(err))
	}
}

// selfSignedTLS returns a server certificate for name and a pool that
// trusts it.
func selfSignedTLS(t *testing.T, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

func TestPoolTLS(t *testing.T) {
	t.Parallel()
	cert, roots := selfSignedTLS(t, "backend.test")
	be := startBackend(t, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})))
	trusting := []grpcproxy.PoolOption{grpcproxy.WithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "ignored.test", MinVersion: tls.VersionTLS12})}

	tests := []struct {
		name     string
		backend  grpcproxy.Backend
		poolOpts []grpcproxy.PoolOption
		wantCode codes.Code
	}{
		{name: "trusted CA and authority", backend: grpcproxy.Backend{Target: be.Addr(), TLS: true, Authority: "backend.test"}, poolOpts: trusting},
		{name: "name mismatch", backend: grpcproxy.Backend{Target: be.Addr(), TLS: true, Authority: "other.test"}, poolOpts: trusting, wantCode: codes.Unavailable},
		{name: "system roots do not trust it", backend: grpcproxy.Backend{Target: be.Addr(), TLS: true, Authority: "backend.test"}, wantCode: codes.Unavailable},
		{name: "plaintext to a TLS backend", backend: grpcproxy.Backend{Target: be.Addr()}, wantCode: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			director := func(context.Context, string) (grpcproxy.Call, error) {
				return grpcproxy.Call{Backend: tt.backend}, nil
			}
			c := examplev1.NewEchoServiceClient(dial(t, startGateway(t, director, gatewayConfig{poolOpts: tt.poolOpts}).addr))
			_, err := c.Echo(testContext(t), &examplev1.EchoRequest{Message: "hi"})
			if tt.wantCode == codes.OK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			st := wantCode(t, err, tt.wantCode)
			if st.Message() != "the backend is unavailable" || strings.Contains(st.Message(), be.Addr()) {
				t.Errorf("message %q, want the reason without the backend address", st.Message())
			}
		})
	}
}

// TestPoolAdjust checks Retain for a change: the removed backends' connections
// are retired, the others kept, and an added backend's draining
// connection taken back.
func TestPoolAdjust(t *testing.T) {
	t.Parallel()
	a := grpcproxy.Backend{Target: "127.0.0.1:1"}
	b := grpcproxy.Backend{Target: "127.0.0.1:2"}
	pool := grpcproxy.NewPool(grpcproxy.WithRetainGrace(time.Minute))
	t.Cleanup(func() { _ = pool.Close() })
	ca, _ := pool.Conn(a)
	cb, _ := pool.Conn(b)
	pool.Adjust(nil, []grpcproxy.Backend{b})
	if n := pool.Len(); n != 1 {
		t.Fatalf("Len() = %d after removing one of two, want 1", n)
	}
	if got, _ := pool.Conn(a); got != ca {
		t.Error("the backend left alone got a new connection")
	}
	// Added again within the grace period: the same connection.
	pool.Adjust([]grpcproxy.Backend{b}, nil)
	if n := pool.Len(); n != 2 {
		t.Errorf("Len() = %d after adding it back, want 2", n)
	}
	if got, _ := pool.Conn(b); got != cb {
		t.Error("Adjust did not take the draining connection back")
	}
	// Removing a backend the pool has no connection to does nothing.
	pool.Adjust(nil, []grpcproxy.Backend{{Target: "127.0.0.1:3"}})
	if n := pool.Len(); n != 2 {
		t.Errorf("Len() = %d, want 2", n)
	}
}
