package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// MetadataKey is the metadata entry (and HTTP header) carrying the ID.
const MetadataKey = "x-request-id"

// maxLen bounds a client-chosen ID, which ends up in logs.
const maxLen = 128

type ctxKey struct{}

// FromContext returns the call's request ID, or "": the call record's
// (callinfo.Call.RequestID), where the interceptor keeps it, or the one
// NewContext put in ctx.
func FromContext(ctx context.Context) string {
	if c := callinfo.FromContext(ctx); c != nil && c.RequestID != "" {
		return c.RequestID
	}
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// NewContext returns ctx carrying a request ID.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Option configures the interceptors.
type Option func(*options)

type options struct {
	logger *slog.Logger
	attrs  func(ctx context.Context) []slog.Attr
	now    func() time.Time
}

// WithLogger sets where finished calls are logged. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithAttributes adds attributes to each call's log line, computed from the
// call's context (e.g. the matched API and stage).
func WithAttributes(f func(ctx context.Context) []slog.Attr) Option {
	return func(o *options) { o.attrs = f }
}

// StreamServerInterceptor assigns the request ID — the client's x-request-id
// if it is acceptable, a new one otherwise — puts it in the context
// (FromContext) and the response headers, and logs every call at debug
// level (per-stage access logs are configured separately). Whoever calls
// the backend sends it on from the context, in place of the client's. It
// works for every kind of call, since the data plane's proxy is one generic
// stream handler.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	o := options{logger: slog.New(slog.DiscardHandler), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := o.now()
		ctx := ss.Context()
		c := callinfo.FromContext(ctx)
		id := fromMetadata(ctx, c)
		if id == "" {
			id = generate()
		}
		// A routed call keeps its ID in its record, where FromContext
		// finds it and whoever writes the call's error after the chain
		// (gateway response templates) too: no context and no stream of
		// its own to allocate. Other calls carry it in the context.
		if c != nil {
			c.RequestID = id
		} else {
			ctx = NewContext(ctx, id)
			ss = &wrappedStream{ServerStream: ss, ctx: ctx}
		}
		if hs, ok := ss.(headerFieldSetter); ok {
			_ = hs.SetHeaderField(MetadataKey, id)
		} else {
			_ = ss.SetHeader(metadata.MD{MetadataKey: []string{id}})
		}
		err := handler(srv, ss)
		if o.logger.Enabled(ctx, slog.LevelDebug) {
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("method", info.FullMethod),
				slog.String("code", status.Code(err).String()),
				slog.Duration("latency", o.now().Sub(start)),
			}
			if reason := gatewayerr.AnyReason(err); reason != "" {
				attrs = append(attrs, slog.String("reason", reason))
			}
			if o.attrs != nil {
				attrs = append(attrs, o.attrs(ctx)...)
			}
			o.logger.LogAttrs(ctx, slog.LevelDebug, "call", attrs...)
		}
		return err
	}
}

// headerFieldSetter is a stream that takes one response header entry
// without a metadata map (the gateway's frame-level streams): the map, its
// value slice and their copies are most of what this interceptor
// allocates.
type headerFieldSetter interface {
	SetHeaderField(key, value string) error
}

// fromMetadata returns the client's ID if it is acceptable (c may be nil).
func fromMetadata(ctx context.Context, c *callinfo.Call) string {
	vals := c.MetadataValues(ctx, MetadataKey)
	if len(vals) == 0 || !valid(vals[0]) {
		return ""
	}
	return vals[0]
}

// valid accepts IDs of visible ASCII: anything else could forge log lines.
func valid(id string) bool {
	if id == "" || len(id) > maxLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// generate returns a random 128-bit ID in hex.
func generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	var h [32]byte
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// wrappedStream replaces a stream's context.
type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the replaced context.
func (w *wrappedStream) Context() context.Context { return w.ctx }
