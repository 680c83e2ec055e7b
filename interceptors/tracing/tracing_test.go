package tracing_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

const (
	fullMethod   = "/shop.v1.Shop/GetItem"
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan   = "00f067aa0ba902b7"
	clientParent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

func newCall(enabled bool) *callinfo.Call {
	return &callinfo.Call{
		RouteFacts: &callinfo.RouteFacts{
			API:         "apis/shop",
			Stage:       "apis/shop/stages/prod",
			RouteKey:    "get-item",
			StageConfig: &adminv1.Stage{Tracing: &adminv1.TracingSettings{Enabled: enabled}},
		},
		Request: callinfo.Request{Protocol: callinfo.REST, FullMethod: fullMethod},
	}
}

func newRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	return rec, tp
}

// run calls the interceptor with call and incoming md; handler sees the
// handler's context and returns err.
func run(t testing.TB, tr *tracing.Tracer, call *callinfo.Call, md metadata.MD, handler func(ctx context.Context) error) error {
	t.Helper()
	ctx := context.Background()
	if call != nil {
		ctx = callinfo.NewContext(ctx, call)
	}
	if md != nil {
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	ss := testkit.NewServerStream(ctx)
	return tr.StreamServerInterceptor()(nil, ss, &grpc.StreamServerInfo{FullMethod: fullMethod},
		func(_ any, ss grpc.ServerStream) error { return handler(ss.Context()) })
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestSpanNameAndAttributes(t *testing.T) {
	rec, tp := newRecorder()
	call := newCall(true)
	err := run(t, tracing.New(tp), call, nil, func(context.Context) error {
		// Resolved by a later interceptor.
		call.APIKey = &callinfo.APIKey{Name: "apiKeys/k1"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "shop.v1.Shop/GetItem" {
		t.Errorf("name = %q", s.Name())
	}
	if s.SpanKind() != trace.SpanKindServer {
		t.Errorf("kind = %v", s.SpanKind())
	}
	if s.Parent().IsValid() {
		t.Errorf("root span has parent %v", s.Parent())
	}
	want := map[attribute.Key]string{
		"rpc.system":          "grpc",
		"rpc.service":         "shop.v1.Shop",
		"rpc.method":          "GetItem",
		"tollgate.api":        "apis/shop",
		"tollgate.stage":      "apis/shop/stages/prod",
		"tollgate.route":      "get-item",
		"tollgate.api_key_id": "apiKeys/k1",
		"tollgate.protocol":   "rest",
	}
	got := attrs(s)
	for k, v := range want {
		if got[k].Emit() != v {
			t.Errorf("%s = %q, want %q", k, got[k].Emit(), v)
		}
	}
	if got["rpc.grpc.status_code"].AsInt64() != 0 {
		t.Errorf("rpc.grpc.status_code = %v", got["rpc.grpc.status_code"])
	}
	if s.Status().Code != otelcodes.Unset {
		t.Errorf("status = %v", s.Status())
	}
}

func TestDisabled(t *testing.T) {
	for name, call := range map[string]*callinfo.Call{
		"disabled":     newCall(false),
		"no settings":  {RouteFacts: &callinfo.RouteFacts{StageConfig: &adminv1.Stage{}}},
		"no call info": nil,
	} {
		t.Run(name, func(t *testing.T) {
			rec, tp := newRecorder()
			in := metadata.Pairs("traceparent", clientParent, "tracestate", "a=b")
			err := run(t, tracing.New(tp), call, in, func(ctx context.Context) error {
				md, _ := metadata.FromIncomingContext(ctx)
				if got := md.Get("traceparent"); len(got) != 1 || got[0] != clientParent {
					t.Errorf("traceparent = %q, want the client's untouched", got)
				}
				if got := md.Get("tracestate"); len(got) != 1 || got[0] != "a=b" {
					t.Errorf("tracestate = %q, want the client's untouched", got)
				}
				if trace.SpanFromContext(ctx).SpanContext().IsValid() {
					t.Error("span in context of an untraced call")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(rec.Ended()) + len(rec.Started()); n != 0 {
				t.Errorf("got %d spans, want none", n)
			}
		})
	}
}

// TestPropagation checks what the backend gets of the client's trace
// context, whether the call's metadata is read from the context (grpc-go's
// server) or from the call record (the frame server's).
func TestPropagation(t *testing.T) {
	for _, inRecord := range []bool{false, true} {
		name := "context"
		if inRecord {
			name = "call record"
		}
		t.Run(name, func(t *testing.T) { testPropagation(t, inRecord) })
	}
}

func testPropagation(t *testing.T, inRecord bool) {
	rec, tp := newRecorder()
	in := metadata.Pairs("traceparent", clientParent, "tracestate", "vendor=x", "baggage", "user=alice", "other", "kept")
	call := newCall(true)
	if inRecord {
		call.Metadata = in
	}
	var handlerMD metadata.MD
	err := run(t, tracing.New(tp), call, in, func(ctx context.Context) error {
		handlerMD, _ = metadata.FromIncomingContext(ctx)
		return nil
	})
	// What the backend gets in place of the client's entries.
	seen := call.BackendMetadata()
	if err != nil {
		t.Fatal(err)
	}
	s := rec.Ended()[0]
	if got := s.SpanContext().TraceID().String(); got != clientTrace {
		t.Errorf("trace ID = %s, want the client's %s", got, clientTrace)
	}
	if got := s.Parent().SpanID().String(); got != clientSpan || !s.Parent().IsRemote() {
		t.Errorf("parent = %s (remote %v), want remote %s", got, s.Parent().IsRemote(), clientSpan)
	}
	want := "00-" + clientTrace + "-" + s.SpanContext().SpanID().String() + "-01"
	if got := seen.Get("traceparent"); len(got) != 1 || got[0] != want {
		t.Errorf("handler's traceparent = %q, want %q", got, want)
	}
	if got := seen.Get("tracestate"); len(got) != 1 || got[0] != "vendor=x" {
		t.Errorf("handler's tracestate = %q", got)
	}
	if got := seen.Get("baggage"); len(got) != 1 || got[0] != "user=alice" {
		t.Errorf("handler's baggage = %q", got)
	}
	if got := handlerMD.Get("other"); len(got) != 1 || got[0] != "kept" {
		t.Errorf("other metadata = %q", got)
	}
	if got := handlerMD.Get("traceparent"); len(got) != 1 || got[0] != clientParent {
		t.Errorf("incoming metadata modified: traceparent %q", got)
	}
	if got := in.Get("traceparent"); got[0] != clientParent {
		t.Errorf("caller's metadata modified: %q", got)
	}
}

func TestRootSpanInjected(t *testing.T) {
	rec, tp := newRecorder()
	// An invalid traceparent starts a new trace, and is replaced.
	in := metadata.Pairs("traceparent", "garbage", "tracestate", "stale=1")
	call := newCall(true)
	_ = run(t, tracing.New(tp), call, in, func(context.Context) error { return nil })
	seen := call.BackendMetadata()
	sc := rec.Ended()[0].SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := seen.Get("traceparent"); len(got) != 1 || got[0] != want {
		t.Errorf("traceparent = %q, want %q", got, want)
	}
	if got, ok := seen["tracestate"]; !ok || len(got) != 0 {
		t.Errorf("tracestate = %q (present %v), want present without values, to remove the stale one", got, ok)
	}
}

// TestNoTracestate checks that a call whose client sent no tracestate
// sends the backend the gateway span's traceparent and no tracestate entry,
// sampled or not, and that an injected tracestate would still reach it.
func TestNoTracestate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sampler sdktrace.Sampler
		flags   string
	}{
		{"sampled", sdktrace.AlwaysSample(), "01"},
		{"not sampled", sdktrace.NeverSample(), "00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tc.sampler))
			in := metadata.Pairs("traceparent", clientParent)
			call := newCall(true)
			call.Metadata = in
			var sc trace.SpanContext
			err := run(t, tracing.New(tp), call, in, func(ctx context.Context) error {
				sc = trace.SpanContextFromContext(ctx)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			seen := call.BackendMetadata()
			want := "00-" + clientTrace + "-" + sc.SpanID().String() + "-" + tc.flags
			if got := seen.Get("traceparent"); len(got) != 1 || got[0] != want {
				t.Errorf("traceparent = %q, want %q", got, want)
			}
			if got, ok := seen["tracestate"]; ok {
				t.Errorf("tracestate = %q, want no entry", got)
			}
		})
	}
	// A propagator that sets more values than the call has room for.
	in := metadata.Pairs("traceparent", clientParent)
	call := newCall(true)
	call.Metadata = in
	_, tp := newRecorder()
	p := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, fixedPropagator{"a": "1", "b": "2", "tracestate": "own=1"})
	if err := run(t, tracing.New(tp, tracing.WithPropagator(p)), call, in, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	seen := call.BackendMetadata()
	for k, want := range map[string]string{"a": "1", "b": "2", "tracestate": "own=1"} {
		if got := seen.Get(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := seen.Get("traceparent"); len(got) != 1 || !strings.HasPrefix(got[0], "00-"+clientTrace) {
		t.Errorf("traceparent = %q", got)
	}
}

// fixedPropagator injects fixed entries and extracts nothing.
type fixedPropagator map[string]string

func (f fixedPropagator) Inject(_ context.Context, c propagation.TextMapCarrier) {
	for k, v := range f {
		c.Set(k, v)
	}
}

func (fixedPropagator) Extract(ctx context.Context, _ propagation.TextMapCarrier) context.Context {
	return ctx
}

func (f fixedPropagator) Fields() []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	return out
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		want otelcodes.Code
	}{
		{codes.OK, otelcodes.Unset},
		{codes.InvalidArgument, otelcodes.Unset},
		{codes.NotFound, otelcodes.Unset},
		{codes.PermissionDenied, otelcodes.Unset},
		{codes.Unauthenticated, otelcodes.Unset},
		{codes.ResourceExhausted, otelcodes.Unset},
		{codes.Canceled, otelcodes.Unset},
		{codes.Unknown, otelcodes.Error},
		{codes.DeadlineExceeded, otelcodes.Error},
		{codes.Unimplemented, otelcodes.Error},
		{codes.Internal, otelcodes.Error},
		{codes.Unavailable, otelcodes.Error},
		{codes.DataLoss, otelcodes.Error},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			rec, tp := newRecorder()
			herr := status.Error(tc.code, "boom")
			err := run(t, tracing.New(tp), newCall(true), nil, func(context.Context) error { return herr })
			if err != herr {
				t.Errorf("err = %v, want the handler's", err)
			}
			s := rec.Ended()[0]
			if s.Status().Code != tc.want {
				t.Errorf("status = %v, want %v", s.Status(), tc.want)
			}
			if tc.want == otelcodes.Error && s.Status().Description != "boom" {
				t.Errorf("description = %q", s.Status().Description)
			}
			if got := attrs(s)["rpc.grpc.status_code"].AsInt64(); got != int64(tc.code) {
				t.Errorf("rpc.grpc.status_code = %d, want %d", got, tc.code)
			}
		})
	}
}

func TestStartChild(t *testing.T) {
	rec, tp := newRecorder()
	_ = run(t, tracing.New(tp), newCall(true), nil, func(ctx context.Context) error {
		_, span := tracing.StartChild(ctx, "authorizer")
		span.End()
		return nil
	})
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	child, server := spans[0], spans[1]
	if child.Name() != "authorizer" || child.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Errorf("child %q has parent %s, want %s", child.Name(), child.Parent().SpanID(), server.SpanContext().SpanID())
	}
	if child.InstrumentationScope().Name != tracing.ScopeName {
		t.Errorf("scope = %q", child.InstrumentationScope().Name)
	}

	// Outside a traced call, a no-op span.
	ctx, span := tracing.StartChild(context.Background(), "x")
	if span.IsRecording() || span.SpanContext().IsValid() || ctx != context.Background() {
		t.Error("StartChild outside a call created a span")
	}
	span.End()
}

func TestCarrier(t *testing.T) {
	c := tracing.Carrier(metadata.MD{"a": {"1", "2"}})
	if c.Get("A") != "1" || c.Get("missing") != "" {
		t.Errorf("Get: %q %q", c.Get("A"), c.Get("missing"))
	}
	c.Set("B", "x")
	if got := metadata.MD(c).Get("b"); len(got) != 1 || got[0] != "x" {
		t.Errorf("Set: %q", got)
	}
	keys := strings.Join(sortedKeys(c.Keys()), ",")
	if keys != "a,b" {
		t.Errorf("Keys = %s", keys)
	}
}

func TestEntries(t *testing.T) {
	md := []callinfo.MetadataEntry{{Key: "traceparent", Values: []string{"1"}}, {Key: "tracestate"}}
	c := tracing.Entries{E: &md}
	if c.Get("TraceParent") != "1" || c.Get("tracestate") != "" || c.Get("missing") != "" {
		t.Errorf("Get: %q %q %q", c.Get("TraceParent"), c.Get("tracestate"), c.Get("missing"))
	}
	c.Set("traceparent", "2") // replaces
	c.Set("Baggage", "b=1")   // appends, lowercase
	want := []callinfo.MetadataEntry{{Key: "traceparent", Values: []string{"2"}}, {Key: "tracestate"}, {Key: "baggage", Values: []string{"b=1"}}}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("after Set (-want +got):\n%s", diff)
	}
	if keys := strings.Join(c.Keys(), ","); keys != "traceparent,tracestate,baggage" {
		t.Errorf("Keys = %s", keys)
	}
}

func sortedKeys(k []string) []string {
	for i := range k {
		for j := i + 1; j < len(k); j++ {
			if k[j] < k[i] {
				k[i], k[j] = k[j], k[i]
			}
		}
	}
	return k
}

func BenchmarkInterceptor(b *testing.B) {
	in := metadata.Pairs("traceparent", clientParent, "content-type", "application/grpc", "authorization", "Bearer x")
	handler := func(_ any, ss grpc.ServerStream) error { return nil }
	info := &grpc.StreamServerInfo{FullMethod: fullMethod}
	bench := func(b *testing.B, tp trace.TracerProvider, enabled bool) {
		ctx := metadata.NewIncomingContext(callinfo.NewContext(context.Background(), newCall(enabled)), in)
		ss := testkit.NewServerStream(ctx)
		ic := tracing.New(tp).StreamServerInterceptor()
		b.ReportAllocs()
		for b.Loop() {
			_ = ic(nil, ss, info, handler)
		}
	}
	b.Run("disabled", func(b *testing.B) {
		_, tp := newRecorder()
		bench(b, tp, false)
	})
	b.Run("enabled", func(b *testing.B) {
		// Records every span; the batcher exports to a discarding exporter.
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter())))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		bench(b, tp, true)
	})
}
