package admin

import (
	"context"
	"errors"
	"log/slog"
	"time"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/server/store"
)

// Service implements adminv1.AdminServiceServer over a store.Store.
// It is safe for concurrent use: every method runs in one store transaction.
type Service struct {
	adminv1.UnimplementedAdminServiceServer

	// auditMaxScan bounds the events a page of a filtered audit listing
	// reads (0: defaultAuditMaxScan); tests lower it.
	auditMaxScan int

	store           store.Store
	logger          *slog.Logger
	now             func() time.Time
	maxRouteTimeout time.Duration
	onDeploy        func()
	preflight       PreflightFunc
	onSettings      func(*adminv1.AccountSettings)
	quota           QuotaCounter
	flushCache      func(ctx context.Context, stage string, shared bool) error
	// flushAuthorizers empties authorizer policy caches (stage, authorizer).
	flushAuthorizers func(stage, authorizer string)
	// stageHealth reports a stage's target health (GetStageHealth).
	stageHealth func(stage string) []*adminv1.TargetHealth
	// allowLinkLocal lets targets point at link-local and cloud metadata
	// addresses.
	allowLinkLocal bool
	// deployed is what the last read of the deployed configuration
	// returned, kept up to date by this process's writes.
	deployed deployedCache
	// keys is every API key, resolved for the data plane.
	keys keyIndex
	// keyFallback answers LookupAPIKey from the store while keys is not
	// loaded.
	keyFallback *apikey.Cache
}

var _ adminv1.AdminServiceServer = (*Service)(nil)

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithClock sets the source of create and update times. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) {
		if now != nil {
			s.now = now
		}
	}
}

// WithMaxRouteTimeout sets the largest route timeout a route may ask for.
// The default is 29 s, Amazon API Gateway's limit; it must be at least 50 ms.
func WithMaxRouteTimeout(d time.Duration) Option {
	return func(s *Service) { s.maxRouteTimeout = d }
}

// WithLinkLocalTargets lets integration, reflection, authorizer and JWKS
// targets point at link-local and cloud metadata addresses
// (169.254.0.0/16, fe80::/10, fd00:ec2::254, metadata.google.internal...).
// By default they are refused with INVALID_ARGUMENT: such a target reads
// the gateway host's cloud credentials.
func WithLinkLocalTargets(allow bool) Option {
	return func(s *Service) { s.allowLinkLocal = allow }
}

// New returns a Service storing its resources in st.
func New(st store.Store, opts ...Option) (*Service, error) {
	if st == nil {
		return nil, errors.New("admin: a store is required")
	}
	s := &Service{
		store:           st,
		logger:          slog.New(slog.DiscardHandler),
		now:             time.Now,
		maxRouteTimeout: defaultRouteTimeout,
	}
	for _, o := range opts {
		o(s)
	}
	s.keyFallback = apikey.NewCache(apikey.LookupFunc(s.lookupAPIKeyInStore), keyFallbackTTL, 0)
	if s.maxRouteTimeout < minRouteTimeout {
		return nil, errors.New("admin: the maximum route timeout must be at least 50ms")
	}
	return s, nil
}
