package adminauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MetadataKey is the gRPC metadata key that carries the admin token. gRPC
// metadata keys are lowercase; grpc-gateway forwards the HTTP Authorization
// header under this key.
const MetadataKey = "authorization"

// healthServicePrefix is the method prefix of the standard gRPC health
// service, the only one callable without the token.
const healthServicePrefix = "/grpc.health.v1.Health/"

// Messages of the Unauthenticated statuses. They tell a caller how to fix
// the call without ever echoing what it sent.
const (
	msgMissingToken = `missing admin token: send "authorization: Bearer <token>"`
	msgInvalidToken = "invalid admin token"
)

// Authenticator checks the admin token on incoming gRPC calls. It keeps only
// the token's SHA-256 digest. It is safe for concurrent use.
type Authenticator struct {
	digest [sha256.Size]byte
}

// New returns an Authenticator that accepts exactly token. It fails when
// token does not pass [ValidateToken], so that an empty or placeholder token
// can never protect the admin API by accident.
func New(token string) (*Authenticator, error) {
	if err := ValidateToken(token); err != nil {
		return nil, fmt.Errorf("adminauth: %w", err)
	}
	return &Authenticator{digest: sha256.Sum256([]byte(token))}, nil
}

// UnaryServerInterceptor returns an interceptor that refuses unary calls
// without the admin token with codes.Unauthenticated, before the handler
// runs. Calls to grpc.health.v1.Health pass without a token.
func (a *Authenticator) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := a.authorize(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns an interceptor that refuses streaming
// calls without the admin token with codes.Unauthenticated, before the
// handler runs. This covers server reflection, so the API's schema stays
// private too. Calls to grpc.health.v1.Health pass without a token.
func (a *Authenticator) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := a.authorize(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// authorize returns nil when the call may proceed and an Unauthenticated
// status otherwise.
func (a *Authenticator) authorize(ctx context.Context, fullMethod string) error {
	if strings.HasPrefix(fullMethod, healthServicePrefix) {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get(MetadataKey)
	if len(values) == 0 {
		return status.Error(codes.Unauthenticated, msgMissingToken)
	}
	// Only the first value counts. grpc-gateway puts the HTTP Authorization
	// header first, ahead of anything a client smuggles in through
	// Grpc-Metadata-Authorization, and a single rule is easy to reason about.
	token, ok := bearerToken(values[0])
	if !ok {
		return status.Error(codes.Unauthenticated, msgMissingToken)
	}
	// Comparing fixed-size digests, rather than the strings, keeps the time
	// taken independent of both the contents and the length of the token.
	digest := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(digest[:], a.digest[:]) != 1 {
		return status.Error(codes.Unauthenticated, msgInvalidToken)
	}
	return nil
}

// Check reports whether token is the admin token, in constant time. The
// data plane uses it for callers that present the token to refresh a
// cached response.
func (a *Authenticator) Check(token string) bool {
	digest := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(digest[:], a.digest[:]) == 1
}

// bearerToken extracts the credentials of a "Bearer <token>" value. The
// scheme is case-insensitive (RFC 9110, section 11.1). It reports false when
// the value uses another scheme or carries no token.
func bearerToken(value string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(value), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
