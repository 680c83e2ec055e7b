package cache

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// Defaults of a stage's cache, used when its CacheSettings leave a field
// unset (the admin API fills them in when a stage is written, so these
// matter only to stages built by hand).
const (
	// DefaultCapacityBytes is the memory a stage's cache may use: 64 MiB.
	DefaultCapacityBytes = 64 << 20
	// DefaultTTL is how long an entry lives: 300 s, as Amazon API Gateway.
	DefaultTTL = 300 * time.Second
	// MaxTTL is the longest TTL honoured: 3600 s.
	MaxTTL = 3600 * time.Second
	// DefaultMaxEntryBytes is the largest response cached: 1 MiB.
	DefaultMaxEntryBytes = 1 << 20
)

// Codec converts between the messages the gRPC server's codec exchanges
// with a stream handler and their encoded bytes. The interceptor receives
// a call's request itself (to compute the key), keeps responses as bytes,
// and hands both back to the handler and the client as messages of the
// server's codec.
type Codec interface {
	// NewMessage returns an empty message to receive a request into.
	NewMessage() any
	// Marshal returns the encoded bytes of m, which the caller keeps: they
	// must not share memory that is reused once m is released.
	Marshal(m any) ([]byte, error)
	// Unmarshal makes m hold the message encoded in b. It may keep b, which
	// is never modified afterwards.
	Unmarshal(b []byte, m any) error
}

// ProtoCodec is the Codec of servers that use gRPC's proto codec: it
// receives requests into an empty message that keeps every field as
// unknown bytes, so that marshalling it gives back the bytes received.
type ProtoCodec struct{}

var _ Codec = ProtoCodec{}

// NewMessage returns an empty *emptypb.Empty: every field of a request
// received into it is kept, verbatim, as an unknown field.
func (ProtoCodec) NewMessage() any { return new(emptypb.Empty) }

// Marshal marshals m, a proto.Message.
func (ProtoCodec) Marshal(m any) ([]byte, error) {
	pm, ok := m.(proto.Message)
	if !ok {
		return nil, errNotProto
	}
	return proto.Marshal(pm)
}

// Unmarshal unmarshals b into m, a proto.Message.
func (ProtoCodec) Unmarshal(b []byte, m any) error {
	pm, ok := m.(proto.Message)
	if !ok {
		return errNotProto
	}
	return safeproto.Unmarshal(b, pm)
}

// PermissionFunc reports whether a call may refresh its cached response
// although its authorizer did not grant execute-api:InvalidateCache, for
// example because it carries the gateway's admin token.
type PermissionFunc func(ctx context.Context, call *callinfo.Call) bool

// options are the settings of a Cache, fixed by New.
type options struct {
	now       func() time.Time
	fakeClock bool
	codec     Codec
	admin     PermissionFunc
	logger    *slog.Logger
	// shared is the second tier of stages that opt in, or nil;
	// sharedLocalTTL bounds their entries' lifetime in memory.
	shared         Shared
	sharedLocalTTL time.Duration
}

// Option configures a Cache.
type Option func(*options)

// WithClock sets the clock that decides when entries expire, for tests. A
// nil clock means time.Now, which is also the default.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now, o.fakeClock = now, true
		}
	}
}

// WithCodec sets how the interceptor reads and writes the messages of the
// server's codec. The default, ProtoCodec, suits servers using gRPC's
// proto codec; the gateway's raw-frame proxy passes its own.
func WithCodec(c Codec) Option {
	return func(o *options) {
		if c != nil {
			o.codec = c
		}
	}
}

// WithAdminPermission sets a check that lets a call refresh its cached
// response without its authorizer's permission (the gateway passes one
// that accepts its admin token). By default only the authorizer's policy
// grants the permission.
func WithAdminPermission(f PermissionFunc) Option {
	return func(o *options) { o.admin = f }
}

// WithAdminToken lets a caller that presents the gateway's admin token in
// [AdminTokenHeader] (gRPC metadata, or the HTTP header of a REST call),
// exactly once, refresh a cached response as an authorizer's
// InvalidateCache permission would. check reports whether a token is the
// admin token (the gateway's constant-time check). It sets the permission
// of [WithAdminPermission].
func WithAdminToken(check func(token string) bool) Option {
	return WithAdminPermission(func(ctx context.Context, call *callinfo.Call) bool {
		vs := call.HeaderValues(ctx, AdminTokenHeader)
		return len(vs) == 1 && check(vs[0])
	})
}

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
