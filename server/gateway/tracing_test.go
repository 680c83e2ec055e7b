package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// TestTracePropagatesToTheBackend: with tracing on for the stage, the
// gateway continues the client's trace with a server span and a backend
// child span, and the backend receives a traceparent naming that child.
func TestTracePropagatesToTheBackend(t *testing.T) {
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, metadataEcho{}) })
	rec := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(rec))
	gw, err := gateway.New(gateway.WithInterceptors(tracing.New(tp).StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	e := entry("shop", "prod", deployment(t, "shop", "v1", be), nil)
	e.Stage.Tracing = &adminv1.TracingSettings{Enabled: true}
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{e}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx := metadata.AppendToOutgoingContext(ctx(t), "traceparent", "00-"+clientTrace+"-00f067aa0ba902b7-01")
	resp, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(ctx, &examplev1.EchoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][]string
	if err := json.Unmarshal([]byte(resp.GetMessage()), &got); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want the server span and the backend span", len(spans))
	}
	server, backend := spans[1], spans[0]
	if server.SpanContext().TraceID().String() != clientTrace || backend.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Fatalf("spans not chained to the client's trace: server %v (parent %v), backend parent %v",
			server.SpanContext(), server.Parent(), backend.Parent())
	}
	want := "00-" + clientTrace + "-" + backend.SpanContext().SpanID().String() + "-01"
	if tp := got["traceparent"]; len(tp) != 1 || tp[0] != want {
		t.Fatalf("backend got traceparent %v, want [%s]", tp, want)
	}
}

// TestTraceReplacesTheClientsContext: over gRPC and REST, the backend
// receives exactly one traceparent, the gateway's, and never the client's
// tracestate when the client's traceparent was unusable (a new trace).
func TestTraceReplacesTheClientsContext(t *testing.T) {
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterEchoServiceServer(s, metadataEcho{}) })
	rec := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(rec))
	gw, err := gateway.New(gateway.WithInterceptors(tracing.New(tp).StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	e := entry("shop", "prod", deployment(t, "shop", "v1", be), nil)
	e.Stage.Tracing = &adminv1.TracingSettings{Enabled: true}
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{e}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	check := func(t *testing.T, got map[string][]string) {
		t.Helper()
		if tp := got["traceparent"]; len(tp) != 1 || tp[0] == "garbage" {
			t.Errorf("backend got traceparent %q, want the gateway's only", tp)
		}
		if ts := got["tracestate"]; len(ts) != 0 {
			t.Errorf("backend got the client's stale tracestate %q", ts)
		}
	}
	t.Run("grpc", func(t *testing.T) {
		c := metadata.AppendToOutgoingContext(ctx(t), "traceparent", "garbage", "tracestate", "stale=1")
		resp, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string][]string
		_ = json.Unmarshal([]byte(resp.GetMessage()), &got)
		check(t, got)
	})
	t.Run("rest", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, tg.url("/prod/v1/echo"), strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Traceparent", "garbage")
		req.Header.Set("Tracestate", "stale=1")
		hr, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		var body struct{ Message string }
		_ = json.NewDecoder(hr.Body).Decode(&body)
		var got map[string][]string
		_ = json.Unmarshal([]byte(body.Message), &got)
		check(t, got)
	})
}
