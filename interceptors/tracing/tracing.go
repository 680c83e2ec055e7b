package tracing

import (
	"context"
	"encoding/hex"
	"strings"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// ScopeName is the instrumentation scope of the gateway's spans.
const ScopeName = "github.com/tollgate-gw/tollgate/interceptors/tracing"

// Attribute keys set on server spans, besides the RPC semantic conventions
// (rpc.system, rpc.service, rpc.method, rpc.grpc.status_code).
const (
	// AttrAPI is the API's resource name, e.g. "apis/shop".
	AttrAPI = attribute.Key("tollgate.api")
	// AttrStage is the stage's resource name.
	AttrStage = attribute.Key("tollgate.stage")
	// AttrRoute is the call's route key: the route's ID, or the full
	// method for a method served by the API's default integration.
	AttrRoute = attribute.Key("tollgate.route")
	// AttrAPIKeyID is the resource name of the caller's API key, never
	// its secret. It is set when the call ends, since the key is resolved
	// by an interceptor that runs after this one.
	AttrAPIKeyID = attribute.Key("tollgate.api_key_id")
	// AttrProtocol is how the client called: "grpc" or "rest".
	AttrProtocol = attribute.Key("tollgate.protocol")
)

// Tracer creates server spans for data-plane calls. It is safe for
// concurrent use.
type Tracer struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	// w3c reports that propagator is the default one: the interceptor
	// then writes the traceparent itself (see tracedCall.injectW3C).
	w3c bool
}

// Option configures a Tracer.
type Option func(*Tracer)

// WithPropagator sets how trace context is read from and written to call
// metadata. The default is the W3C TraceContext and Baggage propagators.
// A nil propagator is ignored.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(t *Tracer) {
		if p != nil {
			t.propagator, t.w3c = p, false
		}
	}
}

// New returns a Tracer creating spans with tp. A nil tp creates no spans.
func New(tp trace.TracerProvider, opts ...Option) *Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	t := &Tracer{
		tracer:     tp.Tracer(ScopeName),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		w3c:        true,
	}
	for _, opt := range opts {
		opt(t)
	}
	return t
}

// StreamServerInterceptor returns the interceptor tracing the calls of
// stages with tracing enabled; other calls pass through unchanged. It must
// run after the routing step, which provides the callinfo.Call, and before
// the interceptors whose work should appear as child spans.
func (t *Tracer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		call := callinfo.FromContext(ctx)
		if !enabled(call) {
			return handler(srv, ss)
		}
		return t.trace(ctx, call, srv, ss, info, handler)
	}
}

// enabled reports whether the call's stage has tracing on.
func enabled(call *callinfo.Call) bool {
	return call != nil && call.StageConfig.GetTracing().GetEnabled()
}

// trace runs handler inside a server span.
func (t *Tracer) trace(ctx context.Context, call *callinfo.Call, srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	// The frame server's metadata is read in place (a map converts to the
	// carrier interface without an allocation); grpc-go's key by key.
	var in propagation.TextMapCarrier
	if call.Metadata != nil {
		in = Carrier(call.Metadata)
	} else {
		in = incomingCarrier{ctx, call}
	}
	ctx = t.propagator.Extract(ctx, in)

	name := strings.TrimPrefix(info.FullMethod, "/")
	service, method, _ := strings.Cut(name, "/")
	ctx, span := t.tracer.Start(ctx, name, serverKind...)
	defer span.End()
	// Attributes are built only for recorded spans: most calls are not
	// sampled, and building them would cost more than the span. (So a
	// sampler cannot choose by them.)
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(
			attribute.String("rpc.system", "grpc"),
			attribute.String("rpc.service", service),
			attribute.String("rpc.method", method),
			AttrAPI.String(call.API),
			AttrStage.String(call.Stage),
			AttrRoute.String(call.RouteKey),
			AttrProtocol.String(call.Protocol.String()),
		)
	}

	// The backend gets the gateway span's context in place of the
	// client's (the proxy sends call.BackendMetadata()): a stale
	// tracestate must not travel with the new traceparent, hence the keys
	// without values, which remove the client's. (Without a tracestate of
	// the client's there is none to remove: one entry less keeps the
	// backend's metadata a small map.)
	tc := &tracedCall{tracedStream: tracedStream{ServerStream: ss, ctx: ctx}}
	tc.entries = tc.room[:1:len(tc.room)]
	tc.entries[0].Key = "traceparent"
	if call.MetadataValues(ctx, "tracestate") != nil {
		tc.entries = append(tc.entries, callinfo.MetadataEntry{Key: "tracestate"})
	}
	if t.w3c {
		// The default propagator's Inject, with the traceparent in the
		// call's own allocation rather than a string of its own.
		tc.injectW3C(ctx)
		propagation.Baggage{}.Inject(ctx, (*injector)(tc))
	} else {
		t.propagator.Inject(ctx, (*injector)(tc))
	}
	call.TraceMetadata = tc.entries

	err := handler(srv, &tc.tracedStream)
	if !recording {
		return err
	}

	if call.APIKey != nil && call.APIKey.Name != "" {
		span.SetAttributes(AttrAPIKeyID.String(call.APIKey.Name))
	}
	code := status.Code(err)
	span.SetAttributes(attribute.Int("rpc.grpc.status_code", int(code)))
	if serverError(code) {
		span.SetStatus(otelcodes.Error, status.Convert(err).Message())
	}
	return err
}

// serverKind is the server spans' start options, made once: building the
// option allocates, and so does the variadic slice of a call through an
// interface.
var serverKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// serverError reports whether code means the server failed, per the RPC
// semantic conventions for server spans; other codes blame the client and
// leave the span status unset.
func serverError(code codes.Code) bool {
	switch code {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented,
		codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// StartChild starts a span named name as a child of the span in ctx, with
// the tracer provider of that span: an authorizer callout or a backend
// call within a traced call. Outside a recorded (sampled) call it returns
// ctx and its span, which does not record: calls that are not sampled
// propagate the server span's context, which says "not sampled" as well
// as a child's would, without the cost of a child. The caller must end the
// span.
func StartChild(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(ScopeName).Start(ctx, name, opts...)
}

// incomingCarrier reads a call's incoming metadata for Extract without
// copying it.
type incomingCarrier struct {
	ctx  context.Context
	call *callinfo.Call
}

// Get returns the first value of key, or "".
func (c incomingCarrier) Get(key string) string {
	if vs := c.call.MetadataValues(c.ctx, key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Set is not used by Extract.
func (incomingCarrier) Set(string, string) {}

// Keys lists the metadata keys (a copy is made only here).
func (c incomingCarrier) Keys() []string {
	md, _ := metadata.FromIncomingContext(c.ctx)
	return Carrier(md).Keys()
}

// Carrier adapts metadata to a propagation.TextMapCarrier. Keys are
// lowercase, as in gRPC metadata.
type Carrier metadata.MD

var _ propagation.TextMapCarrier = Carrier(nil)

// Get returns the first value of key, or "".
func (c Carrier) Get(key string) string {
	vs := c[strings.ToLower(key)]
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// Set replaces the values of key with value.
func (c Carrier) Set(key, value string) {
	c[strings.ToLower(key)] = []string{value}
}

// Keys returns the keys present.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// tracedCall is what a traced call allocates, at once: its stream, and
// its trace metadata with room for the entries and values Inject sets.
type tracedCall struct {
	tracedStream
	entries []callinfo.MetadataEntry // in room while it fits
	room    [3]callinfo.MetadataEntry
	vals    [2]string // traceparent and tracestate, usually
	n       int       // of vals in use
	// traceparent holds the traceparent value injectW3C writes, which a
	// string refers to: never changed once written.
	traceparent [traceparentLen]byte
}

// traceparentLen is the length of a version 00 traceparent:
// "00-{trace ID}-{span ID}-{flags}" in lowercase hex.
const traceparentLen = 2 + 1 + 2*len(trace.TraceID{}) + 1 + 2*len(trace.SpanID{}) + 1 + 2

// injectW3C is propagation.TraceContext's Inject into tc, its traceparent
// written in tc.traceparent: what that Inject sets, without building a
// string (TestInjectW3C compares them).
func (tc *tracedCall) injectW3C(ctx context.Context) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	in := (*injector)(tc)
	if ts := sc.TraceState().String(); ts != "" {
		in.Set("tracestate", ts)
	}
	// Only the flags the spec defines: sampled and random.
	flags := sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom)
	traceID, spanID := sc.TraceID(), sc.SpanID()
	b := tc.traceparent[:0]
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, traceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, spanID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, []byte{byte(flags)})
	// b is tc.traceparent, which it fits exactly; were it not, the array
	// append made, which nothing writes to either.
	in.Set("traceparent", unsafe.String(unsafe.SliceData(b), len(b)))
}

// injector is the carrier Inject writes a tracedCall's metadata through:
// Entries', but the values' slices are taken from the call's own array
// while it has room.
type injector tracedCall

var _ propagation.TextMapCarrier = (*injector)(nil)

// Get returns the first value of key, or "".
func (c *injector) Get(key string) string { return Entries{&c.entries}.Get(key) }

// Keys returns the keys present.
func (c *injector) Keys() []string { return Entries{&c.entries}.Keys() }

// Set replaces the values of key with value.
func (c *injector) Set(key, value string) {
	if c.n == len(c.vals) {
		Entries{&c.entries}.Set(key, value)
		return
	}
	c.vals[c.n] = value
	// Capped: an append to the entry copies instead of writing into the
	// next value.
	Entries{&c.entries}.set(key, c.vals[c.n:c.n+1:c.n+1])
	c.n++
}

// Entries adapts a call's trace metadata (callinfo.Call.TraceMetadata) to
// a propagation.TextMapCarrier. Keys are lowercase, as in gRPC metadata.
type Entries struct {
	E *[]callinfo.MetadataEntry
}

var _ propagation.TextMapCarrier = Entries{}

// Get returns the first value of key, or "".
func (c Entries) Get(key string) string {
	key = strings.ToLower(key)
	for _, e := range *c.E {
		if e.Key == key && len(e.Values) > 0 {
			return e.Values[0]
		}
	}
	return ""
}

// Set replaces the values of key with value.
func (c Entries) Set(key, value string) { c.set(key, []string{value}) }

// set replaces the values of key.
func (c Entries) set(key string, values []string) {
	key = strings.ToLower(key)
	for i := range *c.E {
		if (*c.E)[i].Key == key {
			(*c.E)[i].Values = values
			return
		}
	}
	*c.E = append(*c.E, callinfo.MetadataEntry{Key: key, Values: values})
}

// Keys returns the keys present.
func (c Entries) Keys() []string {
	keys := make([]string, 0, len(*c.E))
	for _, e := range *c.E {
		keys = append(keys, e.Key)
	}
	return keys
}

// tracedStream replaces a stream's context.
type tracedStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the replaced context.
func (s *tracedStream) Context() context.Context { return s.ctx }

// Unwrap returns the stream s wraps: the proxy's integration step finds
// the routed stream's spare counting stream below it.
func (s *tracedStream) Unwrap() grpc.ServerStream { return s.ServerStream }
