package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// tlsSetup is the server's TLS state: the data plane's certificates.
type tlsSetup struct {
	pair  *certs.FilePair // the default certificate; nil without TLS
	certs certs.Store     // chooses each handshake's certificate

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
	return errs
}

// setupTLS loads the default certificate, if one is configured.
func (s *Server) setupTLS() error {
	if s.cfg.TLSCertFile == "" {
		return nil
	}
	pair, err := certs.LoadFilePair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile, certs.WithLogger(s.log))
	if err != nil {
		return fmt.Errorf("server: tls-cert-file: %w", err)
	}
	s.tls.pair = pair
	s.tls.certs.SetDefault(pair.Certificate)
	return nil
}

// ReloadCertificates reads the default certificate's files again (as on
// SIGHUP). New handshakes use the new certificate; open connections keep
// theirs. If the files do not hold a valid certificate and key, the
// current one stays in use and the error says why. Without a configured
// certificate it does nothing.
func (s *Server) ReloadCertificates() error {
	if s.tls.pair == nil {
		return nil
	}
	if err := s.tls.pair.Reload(); err != nil {
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
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: s.tls.certs.GetCertificate,
	}
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
	if s.tls.pair != nil {
		wg.Go(func() { s.tls.pair.Watch(ctx) })
	}
	if ln == nil {
		return wg.Wait
	}
	split := connsplit.New(ln, connsplit.WithTimeout(readHeaderTimeout),
		connsplit.WithTLS(s.dataTLSConfig()),
		connsplit.WithHandshakeErrorLog(s.logHandshakeError))
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

// withTLSState sets r.TLS on requests of TLS connections that net/http
// took for cleartext HTTP/2 (see connsplit.TLSConnectionState), so that
// handlers see every HTTPS request as such.
func withTLSState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r.TLS = connsplit.TLSState(r.Context())
		}
		next.ServeHTTP(w, r)
	})
}
