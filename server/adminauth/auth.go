package adminauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// MetadataKey is the gRPC metadata key carrying the bearer token. grpc-gateway
// maps the HTTP Authorization header to it, so REST and gRPC share it.
const MetadataKey = "authorization"

// healthServicePrefix is the full-method prefix of the standard gRPC health
// service, which probes call without credentials.
const healthServicePrefix = "/grpc.health.v1.Health/"

// Bootstrap is the actor name of the bootstrap token in Principal.Name.
const Bootstrap = "bootstrap"

// Messages of refused calls. They never echo the token that was sent.
const (
	msgMissingToken = `missing admin token: send "authorization: Bearer <token>"`
	msgInvalidToken = "invalid admin token"
)

// Principal is an authenticated caller of the admin API.
type Principal struct {
	// Name is the admin token's resource name ("adminTokens/ci"), or
	// Bootstrap for the bootstrap token.
	Name string
	// Role is what the caller may do.
	Role adminv1.AdminToken_Role
}

// TokenLookup finds a named admin token by the hex SHA-256 of its value.
// It returns nil and no error for an unknown token.
type TokenLookup interface {
	LookupAdminToken(ctx context.Context, hash string) (*adminv1.AdminToken, error)
}

// Authenticator checks admin tokens: the bootstrap token, with the role
// admin, and the named tokens of a TokenLookup, with their own roles. Every
// call must also be allowed to the caller's role by MethodRoles.
type Authenticator struct {
	digest [sha256.Size]byte
	tokens TokenLookup
	now    func() time.Time
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithTokens accepts the named admin tokens of lookup besides the
// bootstrap token.
func WithTokens(lookup TokenLookup) Option {
	return func(a *Authenticator) { a.tokens = lookup }
}

// WithClock sets the clock expiry times are checked against; the default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(a *Authenticator) {
		if now != nil {
			a.now = now
		}
	}
}

// New returns an Authenticator whose bootstrap token is token. It fails if
// token does not satisfy ValidateToken.
func New(token string, opts ...Option) (*Authenticator, error) {
	if err := ValidateToken(token); err != nil {
		return nil, fmt.Errorf("adminauth: %w", err)
	}
	a := &Authenticator{digest: sha256.Sum256([]byte(token)), now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// UnaryServerInterceptor returns a gRPC interceptor that refuses unary
// calls without a valid token (UNAUTHENTICATED) or whose method the
// token's role may not call (PERMISSION_DENIED), and puts the Principal in
// the handler's context (FromContext).
func (a *Authenticator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is the streaming counterpart of
// UnaryServerInterceptor (server reflection is a stream).
func (a *Authenticator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// principalStream is a stream whose context carries the Principal.
type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the Principal.
func (s *principalStream) Context() context.Context { return s.ctx }

// authorize authenticates the caller of fullMethod and checks its role.
func (a *Authenticator) authorize(ctx context.Context, fullMethod string) (context.Context, error) {
	if strings.HasPrefix(fullMethod, healthServicePrefix) {
		return ctx, nil
	}
	p, err := a.Authenticate(ctx)
	if err != nil {
		return ctx, err
	}
	if !Allowed(p.Role, fullMethod) {
		return ctx, status.Errorf(codes.PermissionDenied, "the %s role may not call %s", RoleName(p.Role), fullMethod[strings.LastIndexByte(fullMethod, '/')+1:])
	}
	return context.WithValue(ctx, principalKey{}, p), nil
}

// Authenticate returns the caller of the call in ctx: the bootstrap token,
// or an unexpired named token. It fails with UNAUTHENTICATED otherwise.
func (a *Authenticator) Authenticate(ctx context.Context) (*Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(MetadataKey)
	if len(values) == 0 {
		return nil, status.Error(codes.Unauthenticated, msgMissingToken)
	}
	// Only the first value counts: a client sending several cannot have one
	// of them picked in its favour.
	token, ok := bearerToken(values[0])
	if !ok {
		return nil, status.Error(codes.Unauthenticated, msgMissingToken)
	}
	// Digests have a fixed length, so the constant-time comparison also
	// hides the token's length.
	digest := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(digest[:], a.digest[:]) == 1 {
		return &Principal{Name: Bootstrap, Role: adminv1.AdminToken_ROLE_ADMIN}, nil
	}
	if a.tokens != nil && strings.HasPrefix(token, TokenPrefix) {
		// Named tokens are found by their digest, never compared.
		t, err := a.tokens.LookupAdminToken(ctx, hex.EncodeToString(digest[:]))
		if err != nil {
			return nil, status.Error(codes.Internal, "could not check the admin token")
		}
		if t != nil && (t.GetExpireTime() == nil || a.now().Before(t.GetExpireTime().AsTime())) {
			return &Principal{Name: t.GetName(), Role: t.GetRole()}, nil
		}
	}
	return nil, status.Error(codes.Unauthenticated, msgInvalidToken)
}

// Check reports whether token is the bootstrap token. The data port's
// admin-token checks (the callback API, cache refreshes) accept only it.
func (a *Authenticator) Check(token string) bool {
	digest := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(digest[:], a.digest[:]) == 1
}

// principalKey is the context key of the Principal.
type principalKey struct{}

// FromContext returns the Principal the interceptors put in a handler's
// context, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// HashToken returns the hex SHA-256 of a named token's value, the form in
// which it is stored and looked up.
func HashToken(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// bearerToken extracts the token from an "authorization" value of the form
// "Bearer <token>"; the scheme is case-insensitive (RFC 7235).
func bearerToken(value string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
