package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// secret is an API key value that must never be logged.
const secret = "sk_live_0123456789abcdefghijSECRET"

// stepClock returns a clock that starts at start and advances by step on
// each reading.
func stepClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(step)
		return now
	}
}

func call(settings *adminv1.AccessLogSettings, protocol callinfo.Protocol) *callinfo.Call {
	c := &callinfo.Call{
		RouteFacts: &callinfo.RouteFacts{
			API:         "apis/shop",
			Stage:       "apis/shop/stages/prod",
			Deployment:  "apis/shop/deployments/d1",
			RouteKey:    "r1",
			StageConfig: &adminv1.Stage{AccessLog: settings},
		},
		Request: callinfo.Request{
			Protocol:   protocol,
			FullMethod: "/shop.v1.Shop/GetItem",
			SourceIP:   "203.0.113.7",
		},
		AuthResult: callinfo.AuthResult{UsageIdentifierKey: secret, Principal: "user-42"},
		APIKey:     &callinfo.APIKey{Name: "apiKeys/k1", UsagePlan: "usagePlans/gold", CustomerID: "c1"},
	}
	if protocol == callinfo.REST {
		c.HTTPMethod, c.HTTPPath = "GET", "/items/7"
	}
	return c
}

func TestInterceptor(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name     string
		call     *callinfo.Call
		handler  error
		want     map[string]any // nil: nothing written
		wantKeys []string       // the line's keys in order, when set
	}{
		{
			name: "no callinfo",
		},
		{
			name: "no access log settings",
			call: call(nil, callinfo.GRPC),
		},
		{
			name: "disabled",
			call: call(&adminv1.AccessLogSettings{Enabled: false, Fields: []string{"requestId"}}, callinfo.GRPC),
		},
		{
			name: "default fields, REST",
			call: call(&adminv1.AccessLogSettings{Enabled: true}, callinfo.REST),
			want: map[string]any{
				"requestId": "req-1", "requestTime": "2026-03-01T11:00:00Z", "clientIp": "203.0.113.7",
				"httpMethod": "GET", "grpcMethod": "/shop.v1.Shop/GetItem", "route": "r1",
				"status": 200.0, "grpcStatus": "OK", "latency": 1.5, "apiKeyId": "apiKeys/k1",
				"principal": "user-42", "stage": "apis/shop/stages/prod", "api": "apis/shop", "protocol": "rest",
			},
			wantKeys: []string{"requestId", "requestTime", "clientIp", "httpMethod", "grpcMethod", "route",
				"status", "grpcStatus", "latency", "apiKeyId", "principal", "stage", "api", "protocol"},
		},
		{
			name:    "default fields, gRPC error",
			call:    call(&adminv1.AccessLogSettings{Enabled: true}, callinfo.GRPC),
			handler: status.Error(codes.NotFound, "no such item"),
			want: map[string]any{
				"requestId": "req-1", "requestTime": "2026-03-01T11:00:00Z", "clientIp": "203.0.113.7",
				"grpcMethod": "/shop.v1.Shop/GetItem", "route": "r1",
				"status": 404.0, "grpcStatus": "NOT_FOUND", "latency": 1.5, "apiKeyId": "apiKeys/k1",
				"principal": "user-42", "errorMessage": "no such item",
				"stage": "apis/shop/stages/prod", "api": "apis/shop", "protocol": "grpc",
			},
		},
		{
			name:    "selected fields only, in order",
			call:    call(&adminv1.AccessLogSettings{Enabled: true, Fields: []string{"status", "path", "deployment", "apiKeyId", "userAgent", "traceId", "errorMessage"}}, callinfo.REST),
			handler: errors.New("backend exploded"),
			want: map[string]any{
				"status": 500.0, "path": "/items/7", "deployment": "apis/shop/deployments/d1",
				"apiKeyId": "apiKeys/k1", "errorMessage": "backend exploded",
			},
			wantKeys: []string{"status", "path", "deployment", "apiKeyId", "errorMessage"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, WithClock(stepClock(start, 1500*time.Microsecond)))
			ctx := requestid.NewContext(context.Background(), "req-1")
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("x-api-key", secret))
			if tc.call != nil {
				ctx = callinfo.NewContext(ctx, tc.call)
			}
			err := l.StreamServerInterceptor()(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{FullMethod: "/shop.v1.Shop/GetItem"},
				func(any, grpc.ServerStream) error { return tc.handler })
			if err != tc.handler {
				t.Fatalf("interceptor returned %v, want %v", err, tc.handler)
			}
			out := buf.String()
			if strings.Contains(out, secret) {
				t.Fatalf("the key's secret was logged: %s", out)
			}
			if tc.want == nil {
				if out != "" {
					t.Fatalf("wrote %q, want nothing", out)
				}
				return
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("want exactly one line, got %q", out)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("line %q does not parse: %v", out, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("line mismatch (-want +got):\n%s", diff)
			}
			if tc.wantKeys != nil {
				if diff := cmp.Diff(tc.wantKeys, keys(t, out)); diff != "" {
					t.Errorf("key order (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// keys returns the top-level keys of a JSON object in order.
func keys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var ks []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return ks
}

func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	ic := l.StreamServerInterceptor()
	ctx := callinfo.NewContext(context.Background(), call(&adminv1.AccessLogSettings{Enabled: true}, callinfo.GRPC))
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_ = ic(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error { return nil })
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("got %d lines, want 50", len(lines))
	}
	for _, line := range lines {
		if !json.Valid([]byte(line)) {
			t.Fatalf("invalid line %q", line)
		}
	}
}

func TestClientAndCacheFields(t *testing.T) {
	c := call(&adminv1.AccessLogSettings{Enabled: true, Fields: []string{"userAgent", "traceId", "cacheStatus", "connectionId", "protocol"}}, callinfo.WebSocket)
	c.UserAgent, c.ConnectionID = "curl/8.5", "conn-1"
	var buf bytes.Buffer
	l := New(&buf)
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx = callinfo.NewContext(ctx, c)
	err := l.StreamServerInterceptor()(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{FullMethod: "/a.B/C"},
		func(_ any, ss grpc.ServerStream) error {
			callinfo.FromContext(ss.Context()).ResponseCache = callinfo.CacheHit
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("line %q: %v", buf.String(), err)
	}
	want := map[string]any{"userAgent": "curl/8.5", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "cacheStatus": "hit", "connectionId": "conn-1", "protocol": "websocket"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("line mismatch (-want +got):\n%s", diff)
	}
}
