package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/throttle"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

func testCall() *callinfo.Call {
	return &callinfo.Call{
		RouteFacts: &callinfo.RouteFacts{
			API:      "apis/shop",
			Stage:    "apis/shop/stages/prod",
			RouteKey: "r1",
		},
		Request: callinfo.Request{Protocol: callinfo.REST, FullMethod: "/shop.v1.Shop/GetItem"},
	}
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", rec.Code)
	}
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInterceptorPrometheus(t *testing.T) {
	mp, h, err := PrometheusHandler()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := New(mp)
	if err != nil {
		t.Fatal(err)
	}
	ic := m.StreamServerInterceptor()
	ctx := callinfo.NewContext(context.Background(), testCall())
	errs := []error{
		nil,
		nil,
		status.Error(codes.NotFound, "no item"),
		throttle.Refusal("stage", time.Second),
		status.Error(codes.Unavailable, "backend down"),
		context.DeadlineExceeded,
		errors.New("boom"),
	}
	for i, want := range errs {
		got := ic(nil, testkit.NewServerStream(ctx), &grpc.StreamServerInfo{}, func(_ any, ss grpc.ServerStream) error {
			// The two OK calls: one answered by the response cache, one not.
			switch i {
			case 0:
				callinfo.FromContext(ss.Context()).ResponseCache = callinfo.CacheHit
			case 1:
				callinfo.FromContext(ss.Context()).ResponseCache = callinfo.CacheMiss
			default:
				callinfo.FromContext(ss.Context()).ResponseCache = callinfo.CacheUnused
			}
			return want
		})
		if got != want {
			t.Fatalf("interceptor returned %v, want %v", got, want)
		}
	}
	// A call without callinfo is not measured.
	called := false
	if err := ic(nil, testkit.NewServerStream(context.Background()), &grpc.StreamServerInfo{}, func(any, grpc.ServerStream) error {
		called = true
		return nil
	}); err != nil || !called {
		t.Fatalf("call without callinfo: err %v, called %v", err, called)
	}

	text := scrape(t, h)
	const lbl = `api="apis/shop",`
	for _, want := range []struct{ metric, code, value string }{
		{"tollgate_calls_total", "OK", "2"},
		{"tollgate_calls_total", "NOT_FOUND", "1"},
		{"tollgate_calls_total", "RESOURCE_EXHAUSTED", "1"},
		{"tollgate_calls_total", "UNAVAILABLE", "1"},
		{"tollgate_calls_total", "DEADLINE_EXCEEDED", "1"},
		{"tollgate_calls_total", "UNKNOWN", "1"},
		{"tollgate_calls_4xx_total", "NOT_FOUND", "1"},
		{"tollgate_calls_4xx_total", "RESOURCE_EXHAUSTED", "1"},
		{"tollgate_calls_5xx_total", "UNAVAILABLE", "1"},
		{"tollgate_calls_5xx_total", "DEADLINE_EXCEEDED", "1"},
		{"tollgate_calls_5xx_total", "UNKNOWN", "1"},
		{"tollgate_throttled_total", "RESOURCE_EXHAUSTED", "1"},
		{"tollgate_cache_hits_total", "OK", "1"},
		{"tollgate_cache_misses_total", "OK", "1"},
	} {
		line := findSeries(text, want.metric, `code="`+want.code+`"`)
		if line == "" {
			t.Errorf("no %s series with code %s in:\n%s", want.metric, want.code, text)
			continue
		}
		for _, s := range []string{lbl, `stage="apis/shop/stages/prod"`, `route="r1"`, `protocol="rest"`} {
			if !strings.Contains(line, s) {
				t.Errorf("%s lacks %s", line, s)
			}
		}
		if !strings.HasSuffix(line, " "+want.value) {
			t.Errorf("%s: want value %s", line, want.value)
		}
	}
	for _, absent := range []struct{ metric, code string }{
		{"tollgate_calls_4xx_total", "OK"},
		{"tollgate_calls_5xx_total", "NOT_FOUND"},
		{"tollgate_throttled_total", "UNAVAILABLE"},
		{"tollgate_cache_hits_total", "NOT_FOUND"},
	} {
		if line := findSeries(text, absent.metric, `code="`+absent.code+`"`); line != "" {
			t.Errorf("unexpected series %s", line)
		}
	}
	count := findSeries(text, "tollgate_call_duration_milliseconds_count", `route="r1"`)
	if !strings.HasSuffix(count, " 7") || strings.Contains(count, "code=") {
		t.Errorf("histogram count series %q: want 7 calls without a code label", count)
	}
	if findSeries(text, "tollgate_call_duration_milliseconds_bucket", `le="30000"`) == "" {
		t.Errorf("no 30000 ms bucket in:\n%s", text)
	}
}

// findSeries returns the first sample line of metric containing label, or "".
func findSeries(text, metric, label string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, metric+"{") && strings.Contains(line, label) {
			return line
		}
	}
	return ""
}

func TestCodeName(t *testing.T) {
	for c, want := range map[codes.Code]string{
		codes.OK: "OK", codes.NotFound: "NOT_FOUND", codes.Unauthenticated: "UNAUTHENTICATED", codes.Code(42): "CODE_42",
	} {
		if got := CodeName(c); got != want {
			t.Errorf("CodeName(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{status.Error(codes.PermissionDenied, "x"), codes.PermissionDenied},
		{context.Canceled, codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{errors.New("x"), codes.Unknown},
	} {
		if got := Code(tc.err); got != tc.want {
			t.Errorf("Code(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNewNoop(t *testing.T) {
	if _, err := New(noop.NewMeterProvider()); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkInterceptor(b *testing.B) {
	mp, _, err := PrometheusHandler()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := New(mp)
	if err != nil {
		b.Fatal(err)
	}
	ic := m.StreamServerInterceptor()
	ss := testkit.NewServerStream(callinfo.NewContext(context.Background(), testCall()))
	info := &grpc.StreamServerInfo{}
	handler := func(any, grpc.ServerStream) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = ic(nil, ss, info, handler)
		}
	})
}
