package gateway_test

import (
	"bytes"
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/metrics"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// The chain benchmarks measure what the observability interceptors add to
// one 1 KiB unary gRPC call through the gateway (BenchmarkChain), and to
// the interceptor call alone, without network or proxy (BenchmarkObsInterceptor).

// discardExporter drops every span, so that sampled spans are built and
// ended but cost nothing to export.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// chainVariant is one interceptor chain to measure.
type chainVariant struct {
	name         string
	stageTracing bool // turn tracing on in the stage's settings
	interceptors func(b *testing.B) []grpc.StreamServerInterceptor
}

// sdkTracer returns a tracing interceptor on an SDK provider with sampler,
// whose sampled spans go to a discarding exporter.
func sdkTracer(b *testing.B, sampler sdktrace.Sampler) grpc.StreamServerInterceptor {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSyncer(discardExporter{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tracing.New(tp).StreamServerInterceptor()
}

// metricsInterceptor returns a metrics interceptor on an SDK provider with a
// manual reader, which is never collected during the benchmark.
func metricsInterceptor(b *testing.B) grpc.StreamServerInterceptor {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := metrics.New(mp)
	if err != nil {
		b.Fatal(err)
	}
	return m.StreamServerInterceptor()
}

var chainVariants = []chainVariant{
	{name: "none", interceptors: func(*testing.B) []grpc.StreamServerInterceptor { return nil }},
	{name: "tracing-off", interceptors: func(*testing.B) []grpc.StreamServerInterceptor {
		return []grpc.StreamServerInterceptor{tracing.New(noop.NewTracerProvider()).StreamServerInterceptor()}
	}},
	{name: "tracing-0pct", stageTracing: true, interceptors: func(b *testing.B) []grpc.StreamServerInterceptor {
		return []grpc.StreamServerInterceptor{sdkTracer(b, sdktrace.NeverSample())}
	}},
	{name: "tracing-100pct", stageTracing: true, interceptors: func(b *testing.B) []grpc.StreamServerInterceptor {
		return []grpc.StreamServerInterceptor{sdkTracer(b, sdktrace.AlwaysSample())}
	}},
	{name: "metrics", interceptors: func(b *testing.B) []grpc.StreamServerInterceptor {
		return []grpc.StreamServerInterceptor{metricsInterceptor(b)}
	}},
}

// BenchmarkChain measures one 1 KiB unary gRPC call through the gateway
// with each chain variant. Every variant has its own gateway and client
// connection, set up and warmed before the timed loop.
func BenchmarkChain(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1024)
	be := backend(b)
	d := deployment(b, "shop", "v1", be.Addr())
	clients := make([]examplev1.EchoServiceClient, len(chainVariants))
	for i, v := range chainVariants {
		gw, err := gateway.New(gateway.WithInterceptors(v.interceptors(b)...))
		if err != nil {
			b.Fatal(err)
		}
		tg := serveGateway(b, gw)
		e := entry("shop", "prod", d, nil)
		if v.stageTracing {
			e.Stage.Tracing = &adminv1.TracingSettings{Enabled: true}
		}
		tg.load(b, e)
		conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		clients[i] = examplev1.NewEchoServiceClient(conn)
		// Warm up: connect, and fill the metrics' attribute cache.
		if _, err := clients[i].Echo(context.Background(), &examplev1.EchoRequest{Payload: payload}); err != nil {
			b.Fatalf("%s: warm-up: %v", v.name, err)
		}
	}
	for i, v := range chainVariants {
		client := clients[i]
		b.Run(v.name, func(b *testing.B) {
			req := &examplev1.EchoRequest{Payload: payload}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Echo(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchStream is a server stream with a context only.
type benchStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *benchStream) Context() context.Context { return s.ctx }

// BenchmarkObsInterceptor measures the interceptors alone: one call of each
// with a fake stream whose context carries a routed call and typical
// incoming gRPC metadata, and a handler that does nothing.
func BenchmarkObsInterceptor(b *testing.B) {
	stage := func(traced bool) *adminv1.Stage {
		s := &adminv1.Stage{Name: "apis/shop/stages/prod", Deployment: "apis/shop/deployments/v1"}
		if traced {
			s.Tracing = &adminv1.TracingSettings{Enabled: true}
		}
		return s
	}
	md := metadata.Pairs(
		":authority", "127.0.0.1:8080",
		"content-type", "application/grpc",
		"user-agent", "grpc-go/1.85.0",
	)
	info := &grpc.StreamServerInfo{FullMethod: "/tollgate.example.v1.EchoService/Echo"}
	handler := func(any, grpc.ServerStream) error { return nil }

	for _, tc := range []struct {
		name      string
		traced    bool
		recording bool // whether the handler should see a recording span
		ic        func(b *testing.B) grpc.StreamServerInterceptor
	}{
		{"baseline", false, false, func(*testing.B) grpc.StreamServerInterceptor {
			return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, ss)
			}
		}},
		{"metrics", false, false, metricsInterceptor},
		{"tracing-off", false, false, func(*testing.B) grpc.StreamServerInterceptor {
			return tracing.New(noop.NewTracerProvider()).StreamServerInterceptor()
		}},
		{"tracing-0pct", true, false, func(b *testing.B) grpc.StreamServerInterceptor { return sdkTracer(b, sdktrace.NeverSample()) }},
		{"tracing-100pct", true, true, func(b *testing.B) grpc.StreamServerInterceptor { return sdkTracer(b, sdktrace.AlwaysSample()) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ic := tc.ic(b)
			call := &callinfo.Call{
				RouteFacts: &callinfo.RouteFacts{
					API:         "apis/shop",
					Stage:       "apis/shop/stages/prod",
					Deployment:  "apis/shop/deployments/v1",
					StageConfig: stage(tc.traced),
					RouteKey:    info.FullMethod,
				},
				Request: callinfo.Request{Protocol: callinfo.GRPC, FullMethod: info.FullMethod},
			}
			ss := &benchStream{ctx: callinfo.NewContext(metadata.NewIncomingContext(context.Background(), md), call)}
			// Warm up the metrics' attribute cache, and check the variant.
			check := func(_ any, ss grpc.ServerStream) error {
				if got := trace.SpanFromContext(ss.Context()).IsRecording(); got != tc.recording {
					b.Errorf("handler span recording = %v, want %v", got, tc.recording)
				}
				return nil
			}
			if err := ic(nil, ss, info, check); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := ic(nil, ss, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
