package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// tlsSetup is the server's TLS state: the data plane's certificates and
// the admin port's.
type tlsSetup struct {
	pair  *certs.FilePair // the default certificate; nil without TLS
	certs certs.Store     // chooses each handshake's certificate

	admin         *certs.FilePair // the admin port's certificate; nil without TLS
	adminClientCA *x509.CertPool  // the admin callers' CAs; nil: no client certificates

	loadMu sync.Mutex                            // serializes loadCertificates
	served atomic.Pointer[[]servedCert]          // the stored certificates in use
	mtls   atomic.Pointer[map[string]mtlsPolicy] // domains with mutual TLS
	// byResource are the stored certificates by resource name, for
	// backends' mutual TLS.
	byResource atomic.Pointer[map[string]*tls.Certificate]
	data       *tls.Config // the data port's TLS configuration

	mu   sync.Mutex
	addr string // the TLS listener's address, once listening
}

// validateTLS checks the TLS settings of c, which has its defaults applied.
func (c Config) validateTLS() []error {
	var errs []error
	if c.TLSListenAddr != "" {
		if err := validateAddr(c.TLSListenAddr); err != nil {
			errs = append(errs, fmt.Errorf("tls-listen: %w", err))
		}
		for _, other := range []string{c.ListenAddr, c.AdminAddr} {
			if c.TLSListenAddr == other && !hasPortZero(other) {
				errs = append(errs, fmt.Errorf("tls-listen: %q is also used by another listener; every listener needs its own port", c.TLSListenAddr))
			}
		}
		if c.TLSCertFile == "" || c.TLSKeyFile == "" {
			errs = append(errs, errors.New("tls-listen: needs tls-cert-file and tls-key-file"))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tls-cert-file: tls-cert-file and tls-key-file go together; set both or neither"))
	}
	if (c.AdminTLSCertFile == "") != (c.AdminTLSKeyFile == "") {
		errs = append(errs, errors.New("admin-tls-cert-file: admin-tls-cert-file and admin-tls-key-file go together; set both or neither"))
	}
	if c.AdminClientCAFile != "" && c.AdminTLSCertFile == "" {
		errs = append(errs, errors.New("admin-client-ca-file: client certificates need TLS; set admin-tls-cert-file and admin-tls-key-file"))
	}
	if c.RequireAdminTLS && c.AdminTLSCertFile == "" && !isLoopbackAddr(c.AdminAddr) {
		errs = append(errs, fmt.Errorf("require-admin-tls: admin-addr %q is not a loopback address and the admin port has no TLS; set admin-tls-cert-file and admin-tls-key-file, or bind it to 127.0.0.1", c.AdminAddr))
	}
	return errs
}

// isLoopbackAddr reports whether the host of addr is certainly a loopback
// address: a loopback IP or "localhost". An empty host (every interface)
// and other names are not.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setupTLS loads the configured certificates and client CAs.
func (s *Server) setupTLS() error {
	s.tls.data = s.dataTLSConfig()
	if s.cfg.TLSCertFile != "" {
		pair, err := certs.LoadFilePair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, certs.WithLogger(s.log))
		if err != nil {
			return fmt.Errorf("server: tls-cert-file: %w", err)
		}
		s.tls.pair = pair
		s.tls.certs.SetDefault(pair.Certificate)
	}
	if s.cfg.AdminTLSCertFile != "" {
		pair, err := certs.LoadFilePair(s.cfg.AdminTLSCertFile, s.cfg.AdminTLSKeyFile, certs.WithLogger(s.log))
		if err != nil {
			return fmt.Errorf("server: admin-tls-cert-file: %w", err)
		}
		s.tls.admin = pair
	}
	if s.cfg.AdminClientCAFile != "" {
		pool, err := certs.LoadPool(s.cfg.AdminClientCAFile)
		if err != nil {
			return fmt.Errorf("server: admin-client-ca-file: %w", err)
		}
		s.tls.adminClientCA = pool
	}
	return nil
}

// adminListener wraps the admin port's listener ln in TLS when the admin
// port has a certificate: only TLS is served then, HTTP/2 (gRPC) or
// HTTP/1.1 by ALPN, and with a client CA every caller must present a
// certificate it issued.
func (s *Server) adminListener(ln net.Listener) net.Listener {
	if s.tls.admin == nil {
		return ln
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.tls.admin.Certificate(), nil
		},
	}
	if s.tls.adminClientCA != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = s.tls.adminClientCA
	}
	return tls.NewListener(ln, cfg)
}

// adminScheme is the scheme of admin URLs, for the hints in the logs.
func (s *Server) adminScheme() string {
	if s.tls.admin != nil {
		return "https"
	}
	return "http"
}

// ReloadCertificates reads the certificate files of the data and admin
// ports again (as on SIGHUP). New handshakes use the new certificate; open connections keep
// theirs. If the files do not hold a valid certificate and key, the
// current one stays in use and the error says why. Without a configured
// certificate it does nothing.
func (s *Server) ReloadCertificates() error {
	var errs []error
	for _, p := range []*certs.FilePair{s.tls.pair, s.tls.admin} {
		if p != nil {
			errs = append(errs, p.Reload())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("server: reload certificates: %w", err)
	}
	return nil
}

// TLSAddr returns the host:port of the data plane's TLS listener, with the
// actual port when Config.TLSListenAddr asked for port 0. It is empty
// without a TLS listener, and until [Server.Ready] is closed.
func (s *Server) TLSAddr() string {
	s.tls.mu.Lock()
	defer s.tls.mu.Unlock()
	return s.tls.addr
}

// dataTLSConfig is the TLS configuration of the data port: TLS 1.2 or
// later (1.3 preferred, with Go's default cipher suites), HTTP/2 or
// HTTP/1.1 by ALPN, session tickets on (their keys rotated by crypto/tls),
// and each handshake's certificate read from the certificate store, so
// replacing a certificate needs no restart.
func (s *Server) dataTLSConfig() *tls.Config {
	return s.tls.certs.TLSConfig(&tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	})
}

// listenTLS opens the data plane's TLS listener, or returns nil when none
// is configured.
func (s *Server) listenTLS() (net.Listener, error) {
	if s.cfg.TLSListenAddr == "" {
		return nil, nil
	}
	ln, err := listen("tls-listen", s.cfg.TLSListenAddr)
	if err != nil {
		return nil, err
	}
	s.tls.mu.Lock()
	s.tls.addr = ln.Addr().String()
	s.tls.mu.Unlock()
	return ln, nil
}

// tlsWorkers is how many serving goroutines serveDataTLS starts for ln.
func tlsWorkers(ln net.Listener) int {
	if ln == nil {
		return 0
	}
	return 3
}

// serveDataTLS serves the data plane on the TLS listener ln, if any, with
// the same HTTP server and gRPC server as the cleartext port: after the
// handshake, connsplit hands gRPC connections to grpc-go's native
// transport and the rest to dataSrv, whose Shutdown closes ln. Each of the
// tlsWorkers(ln) goroutines reports once on errc. It also starts watching
// the certificate files until ctx is done, and returns a function that
// waits for the watcher to stop.
func (s *Server) serveDataTLS(ctx context.Context, ln net.Listener, dataSrv *http.Server, errc chan<- error) (wait func()) {
	var wg sync.WaitGroup
	for _, p := range []*certs.FilePair{s.tls.pair, s.tls.admin} {
		if p != nil {
			wg.Go(func() { p.Watch(ctx) })
		}
	}
	if ln == nil {
		return wg.Wait
	}
	// The same connection caps (shared with the cleartext port) and HTTP/2
	// guard as the cleartext port. HTTP/1.x over TLS reaches net/http as
	// the *tls.Conn itself, which it needs for the connection state, so
	// the HTTP/1 framing guard sees only cleartext connections.
	if cl := s.conns.Load(); cl != nil {
		ln = cl.Share(ln)
	}
	split := connsplit.New(ln, connsplit.WithTimeout(readHeaderTimeout),
		connsplit.WithTLS(s.tls.data),
		connsplit.WithHandshakeErrorLog(s.logHandshakeError), s.guardHTTP2())
	go func() { errc <- serveHTTP(dataSrv, split.HTTP(), "tls-listen") }()
	go func() { errc <- wrapServeErr(split.Serve(), "tls-listen") }()
	go func() { errc <- wrapServeErr(s.gateway.ServeGRPC(split.GRPC()), "tls-listen") }()
	return wg.Wait
}

// logHandshakeError logs why a client's TLS handshake failed (it did not
// trust the certificate, offered only old TLS versions...), except for
// clients that just went away.
func (s *Server) logHandshakeError(remote net.Addr, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	s.log.Info("TLS handshake failed", "remote_addr", remote.String(), "error", err)
}

// connsplitTLSState returns the TLS state connsplit.ConnContext recorded
// for r's connection, or nil.
func connsplitTLSState(r *http.Request) *tls.ConnectionState {
	return connsplit.TLSState(r.Context())
}
