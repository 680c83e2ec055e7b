package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/server/demo"
)

// Serve listens on the admin and data ports, closes [Server.Ready] once
// both accept connections, and serves until ctx is cancelled (or
// [Server.Close] is called). It then shuts down gracefully: /readyz and gRPC
// health turn unready, the listeners close, calls in flight get up to
// Config.ShutdownTimeout to finish before they are cut, and the store is
// closed. Serve returns nil after a shutdown asked for through ctx.
//
// A port that cannot be bound fails Serve with an error naming the setting,
// such as "admin-addr 127.0.0.1:9090: address already in use". A Server
// serves once: calling Serve again, or after Close, returns
// [ErrServerClosed]. Serve always releases the Server before returning.
func (s *Server) Serve(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.started = true
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan struct{})
	s.stopServe, s.served = cancel, served
	s.mu.Unlock()
	defer close(served)
	defer cancel()
	defer func() {
		if rerr := s.release(); err == nil {
			err = rerr
		}
		if isClosed(s.ready) {
			s.log.Info("tollgate stopped")
		}
	}()

	adminLn, err := listen("admin-addr", s.cfg.AdminAddr)
	if err != nil {
		return err
	}
	dataLn, err := listen("listen", s.cfg.ListenAddr)
	if err != nil {
		_ = adminLn.Close()
		return err
	}
	tlsLn, err := s.listenTLS()
	if err != nil {
		_ = adminLn.Close()
		_ = dataLn.Close()
		return err
	}
	s.mu.Lock()
	s.adminAddr, s.dataAddr = adminLn.Addr().String(), dataLn.Addr().String()
	s.mu.Unlock()
	dataLn = s.withProxyProtocol(dataLn)

	adminSrv := s.newHTTPServer(s.withProbes(func() http.Handler { return s.adminAPI }))
	adminSrv.Protocols.SetHTTP2(true) // used only with admin TLS, by ALPN
	dataSrv := s.newHTTPServer(s.withTLSState(s.withProbes(func() http.Handler { return s.dataHandler })))
	dataSrv.ConnContext = connsplit.ConnContext
	// The data port hands gRPC connections to the gateway's gRPC server
	// (grpc-go's native transport) and the rest to the HTTP server.
	dataSplit := connsplit.New(s.limitConnections(dataLn), connsplit.WithTimeout(readHeaderTimeout), s.guardHTTP2(), s.guardHTTP1())
	// Each serving goroutine reports exactly once, when it stops; the
	// buffer lets them exit even when nobody is receiving any more.
	workers := 5 + tlsWorkers(tlsLn)
	errc := make(chan error, workers)
	go func() { errc <- serveHTTP(adminSrv, s.adminListener(adminLn), "admin-addr") }()
	go func() { errc <- serveHTTP(dataSrv, dataSplit.HTTP(), "listen") }()
	go func() { errc <- wrapServeErr(dataSplit.Serve(), "listen") }()
	go func() { errc <- wrapServeErr(s.gateway.ServeGRPC(dataSplit.GRPC()), "listen") }()
	go func() {
		// ErrServerStopped means a shutdown came before this goroutine
		// started serving: not a failure.
		if err := s.grpc.Serve(s.memLis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errc <- fmt.Errorf("server: admin gRPC: %w", err)
			return
		}
		errc <- nil
	}()
	waitTLS := s.serveDataTLS(ctx, tlsLn, dataSrv, errc)
	defer func() {
		cancel() // stops the certificate watcher, whatever ended Serve
		waitTLS()
	}()
	pending := workers

	// Usage counts are flushed to the store every second, and once more
	// after the data plane has stopped (see shutdown).
	quotaCtx, stopQuota := context.WithCancel(context.Background())
	quotaDone := make(chan struct{})
	go func() {
		defer close(quotaDone)
		s.quota.Run(quotaCtx)
	}()
	defer func() {
		stopQuota()
		<-quotaDone
	}()
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	defer stopPrune()
	go s.pruneAudit(pruneCtx)

	stopDemo := func() {}
	if s.cfg.Demo {
		stop, err := demo.Run(ctx, s.admin, s.log,
			demo.WithAdminURL(s.adminScheme()+"://"+dialableAddr(s.AdminAddr())),
			demo.WithDataAddr(dialableAddr(s.DataAddr())),
			demo.WithProtosetPath(filepath.Join(s.cfg.DataDir, "bookstore.protoset")),
			demo.WithTokenHint(s.tokenHint()))
		if err != nil {
			s.shutdown(adminSrv, dataSrv, stopDemo)
			_ = s.drain(errc, pending)
			if ctx.Err() != nil {
				// Asked to stop while setting up the demo: that is a
				// shutdown, not a failure.
				return nil
			}
			return fmt.Errorf("server: demo: %w", err)
		}
		stopDemo = stop
	}

	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(adminv1.AdminService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	s.serving.Store(true)
	close(s.ready)
	s.log.Info("tollgate is ready",
		"admin_addr", s.AdminAddr(), "data_addr", s.DataAddr(), "tls_addr", s.TLSAddr(), "data_dir", s.cfg.DataDir)
	s.warnIfExposed(adminLn.Addr())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		// A listener failed while serving: shut down and report it.
		pending--
		s.log.Error("serving failed; shutting down", "error", serveErr)
	}
	s.shutdown(adminSrv, dataSrv, stopDemo)
	if err := s.drain(errc, pending); serveErr == nil {
		serveErr = err
	}
	return serveErr
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// serveHTTP serves srv on ln until srv is shut down, which is not an error.
func serveHTTP(srv *http.Server, ln net.Listener, setting string) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %s: %w", setting, err)
	}
	return nil
}

// wrapServeErr names the setting of a listener that failed.
func wrapServeErr(err error, setting string) error {
	if err != nil {
		return fmt.Errorf("server: %s: %w", setting, err)
	}
	return nil
}

// drain waits for the pending serving goroutines to stop and returns the
// first error they reported.
func (s *Server) drain(errc <-chan error, pending int) error {
	var first error
	for range pending {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// shutdown stops serving gracefully, within Config.ShutdownTimeout.
//
// The order matters. The HTTP servers go first: their Shutdown closes the
// listeners and waits for requests in flight, including gRPC calls on the
// admin port (served through grpc.Server.ServeHTTP) and REST calls, which
// are themselves waiting on calls over the in-memory connection. Only then
// is the gRPC server stopped: GracefulStop cannot drain ServeHTTP calls
// (it closes them at once), so by then none may be left.
func (s *Server) shutdown(adminSrv, dataSrv *http.Server, stopDemo func()) {
	s.serving.Store(false)
	s.health.Shutdown()
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()

	var wg sync.WaitGroup
	for _, srv := range []*http.Server{adminSrv, dataSrv} {
		wg.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				s.log.Warn("calls still in flight at the shutdown timeout were cut off", "error", err)
				_ = srv.Close()
			}
		})
	}
	wg.Wait()
	s.stopDataPlane(ctx)

	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("admin gRPC calls still in flight at the shutdown timeout were cut off")
		s.grpc.Stop()
		<-done
	}
	stopDemo()
}

// tokenHint is a shell expression for the admin token, for the how-to-call
// hints in the logs, which must never contain the token itself.
func (s *Server) tokenHint() string {
	if s.tokenSource == "config" {
		return "$TOLLGATE_ADMIN_TOKEN"
	}
	return "$(cat " + s.tokenPath + ")"
}

// warnIfExposed warns when the admin API listens beyond loopback without
// TLS: the token would cross the network in clear text.
func (s *Server) warnIfExposed(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsLoopback() || s.tls.admin != nil {
		return
	}
	s.log.Warn("the admin API listens on a non-loopback address without TLS; the admin token is sent in clear text, so expose it only on a trusted network (or set --admin-tls-cert-file; --require-admin-tls refuses this)",
		"admin_addr", addr.String())
}

// dialableAddr returns addr as a client on this machine would dial it: a
// listener on every address ("[::]:8080", "0.0.0.0:8080") becomes
// "localhost:8080", for the hints printed to the user.
func dialableAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return net.JoinHostPort("localhost", port)
	}
	return addr
}
