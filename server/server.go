package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/test/bufconn"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/interceptors/quota"
	"github.com/tollgate-gw/tollgate/internal/connlimit"
	"github.com/tollgate-gw/tollgate/internal/rawsock"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/adminauth"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/store"
)

// ErrServerClosed is returned by [Server.Serve] when it is called after the
// Server was closed, or a second time: a Server runs once, because shutting
// down releases the store it was built on.
var ErrServerClosed = errors.New("server: closed")

// Server is a Tollgate gateway: the admin API and the data plane with their
// listeners, over one data dir. Build it with [New], run it with
// [Server.Serve].
type Server struct {
	cfg Config
	log *slog.Logger

	store       store.Store
	adminToken  string
	adminAuth   *adminauth.Authenticator // checks the admin token, on both ports
	tokenSource string                   // "file" or "config": where adminToken came from
	tokenPath   string                   // the token file, when tokenSource is "file"
	admin       *admin.Service
	gateway     *gateway.Gateway
	authorizers *authorizer.Interceptor
	account     atomic.Pointer[adminv1.AccountSettings] // for the account-wide throttle
	quota       *quota.Counter                          // usage counts and quotas
	respCache   *cache.Cache                            // the stages' response caches
	obs         *observability                          // traces, metrics, access logs
	watch       storeWatch                              // follows other nodes' writes (shared stores)
	redis       *redisState                             // state shared with other nodes in Redis, or nil
	// loadMu serializes loadDeployed (admin writes and the store watch),
	// so a reload that read an older configuration never replaces a newer one.
	loadMu sync.Mutex

	// The data port's connections (set once it listens) and HTTP requests
	// in flight, for metrics.
	conns        atomic.Pointer[connlimit.Listener]
	openRequests atomic.Int64
	resetLimited atomic.Int64 // HTTP/2 connections ended for rapid reset
	// HTTP/1.x requests refused for both Content-Length and Transfer-Encoding.
	ambiguousRefused atomic.Int64
	tls              tlsSetup // certificates of the TLS listeners

	// grpc serves the admin API, health and reflection, both to gRPC
	// clients on the admin port (through ServeHTTP) and to the REST gateway
	// over memLis.
	grpc   *grpc.Server
	health *health.Server
	memLis *bufconn.Listener
	gwConn *grpc.ClientConn
	// adminAPI answers the admin port: gRPC and REST.
	adminAPI http.Handler
	// dataHandler answers data-port requests other than the health probes.
	// It is a field so that the data plane can replace the placeholder
	// that answers "no API is deployed" to everything.
	dataHandler http.Handler

	ready   chan struct{} // closed once both ports listen
	serving atomic.Bool   // true between ready and the start of shutdown

	mu        sync.Mutex
	adminAddr string
	dataAddr  string
	started   bool               // Serve was called
	stopServe context.CancelFunc // cancels the running Serve
	served    chan struct{}      // closed when the running Serve returns

	releaseOnce sync.Once
	releaseErr  error
}

// New validates cfg, opens (creating them if needed) the data dir and the
// store in it, migrates the store, settles the admin token and builds the
// admin API. It does not listen yet: that is [Server.Serve]'s job.
//
// When no admin token is configured and the data dir has none, New
// generates one, saves it in <DataDir>/admin-token and prints it once to
// cfg.Stderr; it is never logged.
//
// If New fails, everything it opened is closed again. A Server that is
// never served must be closed with [Server.Close] to release the store.
func New(cfg Config) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("server: invalid config: %w", err)
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = newLogger(cfg)
	}
	s := &Server{cfg: cfg, log: log, ready: make(chan struct{})}
	defer func() {
		if err != nil {
			// Cleanup after a failed setup releases whatever was opened;
			// its own error would only hide the cause.
			_ = s.release()
		}
	}()

	// 0700: the data dir holds the token and key hashes; nobody else needs
	// to list it.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: create data dir: %w", err)
	}
	st, where, err := s.openStore()
	if err != nil {
		return nil, fmt.Errorf("server: open store: %w", err)
	}
	s.store = st
	if err := s.setupTLS(); err != nil {
		return nil, err
	}
	applied, err := store.Migrate(context.Background(), st, store.Migrations)
	if err != nil {
		return nil, fmt.Errorf("server: migrate store: %w", err)
	}
	if applied > 0 {
		log.Info("store migrated", "store", where, "migrations_applied", applied)
	}

	if err := s.settleToken(); err != nil {
		return nil, err
	}
	if err := s.openRedis(); err != nil {
		return nil, err
	}
	s.quota = quota.NewCounter(admin.NewUsageStore(st), append(s.quotaOptions(), quota.WithLogger(log))...)
	s.admin, err = admin.New(st, admin.WithLogger(log), admin.WithMaxRouteTimeout(cfg.MaxRouteTimeout),
		admin.WithOnDeploy(s.loadDeployed), admin.WithPreflight(s.preflight), admin.WithOnSettings(s.setAccountSettings), admin.WithQuotaCounter(s.quota), admin.WithCacheFlusher(s.flushCache),
		admin.WithAuthorizerCacheFlusher(s.flushAuthorizersCache), admin.WithStageHealth(s.stageHealth), admin.WithLinkLocalTargets(cfg.AllowLinkLocalTargets))
	if err != nil {
		return nil, fmt.Errorf("server: build admin service: %w", err)
	}
	// The bootstrap token, and the named admin tokens of the admin service.
	s.adminAuth, err = adminauth.New(s.adminToken, adminauth.WithTokens(s.admin))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// Read before what is cached from the store, so that the watch
	// started below misses no change made meanwhile by another node.
	since, err := s.storeVersion()
	if err != nil {
		return nil, err
	}
	s.loadKeyIndex()
	acct, err := s.admin.GetAccountSettings(context.Background(), &adminv1.GetAccountSettingsRequest{Name: "settings"})
	if err != nil {
		return nil, fmt.Errorf("server: read account settings: %w", err)
	}
	s.account.Store(acct)
	if err := s.buildDataPlane(); err != nil {
		return nil, err
	}
	s.listenFleet()
	if err := s.buildAdminAPI(s.adminAuth); err != nil {
		return nil, err
	}
	s.loadDeployed()
	s.watchStore(since)
	return s, nil
}

// settleToken loads, or generates and announces, the admin token.
func (s *Server) settleToken() error {
	token, created, err := adminauth.LoadOrCreateToken(s.cfg.DataDir, s.cfg.AdminToken)
	if err != nil {
		return fmt.Errorf("server: admin token: %w", err)
	}
	s.adminToken = token
	if s.cfg.AdminToken != "" {
		s.tokenSource = "config"
		s.log.Info("admin token set by configuration")
		return nil
	}
	s.tokenSource = "file"
	s.tokenPath = filepath.Join(s.cfg.DataDir, adminauth.TokenFileName)
	if abs, err := filepath.Abs(s.tokenPath); err == nil {
		s.tokenPath = abs
	}
	if created {
		writeTokenNotice(s.cfg.Stderr, token, s.tokenPath)
		s.log.Info("generated a new admin token and wrote it to the token file", "file", s.tokenPath)
	} else {
		s.log.Info("admin token loaded", "file", s.tokenPath)
	}
	return nil
}

// Run builds a Server from cfg and serves until ctx is cancelled, then
// shuts it down gracefully. It is [New] followed by [Server.Serve].
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// AdminAddr returns the host:port the admin API listens on, with the actual
// port when Config.AdminAddr asked for port 0. It is empty until
// [Server.Ready] is closed.
func (s *Server) AdminAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adminAddr
}

// DataAddr returns the host:port the data plane listens on, with the actual
// port when Config.ListenAddr asked for port 0. It is empty until
// [Server.Ready] is closed.
func (s *Server) DataAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataAddr
}

// AdminToken returns the admin token in force, for tests and for tools that
// embed the server. Never log it.
func (s *Server) AdminToken() string { return s.adminToken }

// Ready returns a channel that is closed once [Server.Serve] listens on
// both ports and the server accepts calls. It stays open if Serve fails
// before that, so wait on it together with Serve's result.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Close releases the Server. When [Server.Serve] is running, Close shuts it
// down gracefully, as cancelling its context would, and waits for it to
// return. A Server that was never served only releases the store. Close is
// safe to call more than once and after a Serve that has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	s.started = true // a closed Server must not start serving afterwards
	stop, served := s.stopServe, s.served
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-served
	}
	return s.release()
}

// release frees, once, everything New built. It tolerates a partially built
// Server, so that it can clean up after a failed New.
func (s *Server) release() error {
	s.releaseOnce.Do(func() {
		s.stopWatching() // before what its reloads use is closed
		var errs []error
		if s.gateway != nil {
			if err := s.gateway.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close data plane: %w", err))
			}
		}
		if s.obs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.obs.shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flush traces and metrics: %w", err))
			}
			cancel()
		}
		if s.authorizers != nil {
			if err := s.authorizers.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close authorizer connections: %w", err))
			}
		}
		if s.grpc != nil {
			// Stop is a no-op when GracefulStop already ran.
			s.grpc.Stop()
		}
		if s.gwConn != nil {
			if err := s.gwConn.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close gateway connection: %w", err))
			}
		}
		if s.memLis != nil {
			// The gRPC server closes its listeners on Stop; this covers a
			// Server that was never served. A second Close is harmless.
			_ = s.memLis.Close()
		}
		if err := s.closeRedis(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close store: %w", err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			s.releaseErr = fmt.Errorf("server: %w", err)
		}
	})
	return s.releaseErr
}

// listen opens a TCP listener on addr. Its error names the setting (flag)
// and address, and keeps only the root cause ("address already in use"), so
// that the operator sees at once which of the two ports is the problem.
// Its connections read and write without entering the scheduler's system
// call state (see rawsock), beneath every other wrapper.
func listen(setting, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", setting, addr, listenCause(err))
	}
	return rawsock.Listener(ln), nil
}

// listenCause strips the "listen tcp ...: bind:" layers off a listen error,
// keeping the wrapped cause so that errors.Is(err, syscall.EADDRINUSE)
// still holds.
func listenCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sc *os.SyscallError
	if errors.As(err, &sc) && sc.Err != nil {
		err = sc.Err
	}
	return err
}
