package server_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server"
)

// tlsTestServer starts the demo with a TLS listener whose default
// certificate, issued by ca for 127.0.0.1 and localhost, is in the returned
// files.
func tlsTestServer(t *testing.T, ca *testpki.CA, configure ...func(*server.Config)) (ts *testServer, certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = ca.Issue(t, "127.0.0.1", "localhost").WriteFiles(t, t.TempDir())
	cfg := testConfig(t)
	cfg.Demo = true
	cfg.TLSListenAddr = "127.0.0.1:0"
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	for _, f := range configure {
		f(&cfg)
	}
	return startServer(t, cfg), certFile, keyFile
}

// httpsClient is an HTTPS client trusting ca that speaks the given protocols.
func httpsClient(t *testing.T, ca *testpki.CA, h1, h2 bool) *http.Client {
	var p http.Protocols
	p.SetHTTP1(h1)
	p.SetHTTP2(h2)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// dialTLS returns a gRPC client connection over TLS trusting ca.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestTLSListener: REST over HTTPS (HTTP/1.1 and HTTP/2 by ALPN) and gRPC
// over TLS reach the deployed demo API on the TLS port; clients limited to
// TLS 1.0 or 1.1 are refused.
func TestTLSListener(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	ts, _, _ := tlsTestServer(t, ca)
	url := "https://" + ts.TLSAddr() + "/demo/v1/shelves/fiction/books"

	for _, tc := range []struct {
		name      string
		h1, h2    bool
		wantProto string
		wantALPN  string
	}{
		{"http/1.1", true, false, "HTTP/1.1", ""},
		{"h2", false, true, "HTTP/2.0", "h2"},
		{"both offered", true, true, "HTTP/2.0", "h2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := httpsClient(t, ca, tc.h1, tc.h2).Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "books") {
				t.Errorf("status %d body %.200s", resp.StatusCode, body)
			}
			if resp.Proto != tc.wantProto || resp.TLS.NegotiatedProtocol != tc.wantALPN {
				t.Errorf("proto %s ALPN %q, want %s %q", resp.Proto, resp.TLS.NegotiatedProtocol, tc.wantProto, tc.wantALPN)
			}
		})
	}

	t.Run("grpc", func(t *testing.T) {
		books := examplev1.NewBookstoreServiceClient(dialTLS(t, ts.TLSAddr(), &tls.Config{RootCAs: ca.Pool()}))
		resp, err := books.ListShelves(t.Context(), &examplev1.ListShelvesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetShelves()) == 0 {
			t.Error("no shelves")
		}
	})

	for _, tc := range []struct {
		name    string
		version uint16
		wantErr bool
	}{
		{"TLS 1.0", tls.VersionTLS10, true},
		{"TLS 1.1", tls.VersionTLS11, true},
		{"TLS 1.2", tls.VersionTLS12, false},
		{"TLS 1.3", tls.VersionTLS13, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", ts.TLSAddr(), &tls.Config{RootCAs: ca.Pool(), MinVersion: tc.version, MaxVersion: tc.version})
			if err == nil {
				c.Close()
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("handshake error %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

// TestTLSCertificateRotation: replacing the certificate files and reloading
// (as on SIGHUP) while HTTPS and gRPC calls run, on new and kept-alive
// connections, fails no call, and new handshakes get the new certificate.
func TestTLSCertificateRotation(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	ts, certFile, keyFile := tlsTestServer(t, ca)
	addr := ts.TLSAddr()
	url := "https://" + addr + "/demo/v1/shelves/fiction/books"
	books := examplev1.NewBookstoreServiceClient(dialTLS(t, addr, &tls.Config{RootCAs: ca.Pool()}))
	fresh := httpsClient(t, ca, true, true)
	fresh.Transport.(*http.Transport).DisableKeepAlives = true // a handshake per call
	kept := httpsClient(t, ca, true, true)

	var calls, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	worker := func(call func() error) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				if err := call(); err != nil {
					failures.Add(1)
					t.Errorf("call during rotation: %v", err)
				}
			}
		})
	}
	get := func(c *http.Client) func() error {
		return func() error {
			resp, err := c.Get(url)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &statusError{resp.StatusCode}
			}
			return nil
		}
	}
	for range 2 {
		worker(get(fresh))
		worker(get(kept))
		worker(func() error {
			_, err := books.ListShelves(t.Context(), &examplev1.ListShelvesRequest{})
			return err
		})
	}
	var last *testpki.Leaf
	for i := range 5 {
		time.Sleep(50 * time.Millisecond)
		last = ca.IssueWith(t, testpki.Options{CommonName: "rotation " + string(rune('A'+i))}, "127.0.0.1", "localhost")
		last.Replace(t, certFile, keyFile)
		if err := ts.ReloadCertificates(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failed", calls.Load(), failures.Load())

	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(last.Cert.SerialNumber) != 0 {
		t.Errorf("new handshake got serial %v, want the last one written, %v", got, last.Cert.SerialNumber)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP status " + http.StatusText(e.code) }

// TestTLSConfigValidation: the TLS settings are checked together.
func TestTLSConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  server.Config
		want string // a substring of the error; "" for valid
	}{
		{"off", server.Config{}, ""},
		{"listener without certificate", server.Config{TLSListenAddr: ":8443"}, "tls-listen: needs tls-cert-file and tls-key-file"},
		{"certificate without key", server.Config{TLSCertFile: "c.pem"}, "tls-cert-file"},
		{"bad address", server.Config{TLSListenAddr: "8443", TLSCertFile: "c", TLSKeyFile: "k"}, "tls-listen:"},
		{"same port as listen", server.Config{TLSListenAddr: ":8080", TLSCertFile: "c", TLSKeyFile: "k"}, "own port"},
		{"valid", server.Config{TLSListenAddr: ":8443", TLSCertFile: "c", TLSKeyFile: "k"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
