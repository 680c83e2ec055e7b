package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/interceptors/metrics"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func scrapeHandler(t *testing.T, h http.Handler) string {
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

func TestNewProviderPrometheusOnly(t *testing.T) {
	for _, exporter := range []string{"", "none", "NONE"} {
		mp, h, shutdown, err := metrics.NewProvider(context.Background(), envOf(map[string]string{
			"OTEL_METRICS_EXPORTER": exporter,
			"OTEL_SERVICE_NAME":     "gw-test",
		}))
		if err != nil {
			t.Fatalf("%q: %v", exporter, err)
		}
		c, err := mp.Meter("test").Int64Counter("provider.test.calls")
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), 3)
		body := scrapeHandler(t, h)
		if !strings.Contains(body, "provider_test_calls_total") {
			t.Errorf("%q: /metrics lacks the counter:\n%s", exporter, body)
		}
		if !strings.Contains(body, `service_name="gw-test"`) {
			t.Errorf("%q: /metrics lacks the service name:\n%s", exporter, body)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("%q: shutdown: %v", exporter, err)
		}
	}
}

func TestNewProviderDefaultServiceName(t *testing.T) {
	_, h, shutdown, err := metrics.NewProvider(context.Background(), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	if body := scrapeHandler(t, h); !strings.Contains(body, `service_name="tollgate"`) {
		t.Errorf("/metrics lacks service_name=\"tollgate\":\n%s", body)
	}
}

func TestNewProviderOTLP(t *testing.T) {
	// Nothing listens on port 1: construction must not need the collector,
	// since the exporters connect lazily.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	for _, tc := range []struct{ key, protocol string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", ""},
		{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"},
		{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"},
	} {
		name := tc.key + "=" + tc.protocol
		start := time.Now()
		mp, h, shutdown, err := metrics.NewProvider(context.Background(), envOf(map[string]string{
			"OTEL_METRICS_EXPORTER":       "otlp",
			tc.key:                        tc.protocol,
			"OTEL_METRIC_EXPORT_INTERVAL": "3600000",
		}))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: construction took %v", name, d)
		}
		if mp == nil || h == nil || shutdown == nil {
			t.Fatalf("%s: nil result", name)
		}
		// The Prometheus reader works alongside the OTLP one.
		c, err := mp.Meter("test").Int64Counter("provider.test.calls")
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), 1)
		if body := scrapeHandler(t, h); !strings.Contains(body, "provider_test_calls_total") {
			t.Errorf("%s: /metrics lacks the counter", name)
		}
		// The flush cannot reach the collector; shutting down must still
		// return within its deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_ = shutdown(ctx)
		cancel()
		if err := shutdown(context.Background()); err == nil {
			t.Errorf("%s: second shutdown succeeded, want an error", name)
		}
	}
}

func TestNewProviderErrors(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"exporter":          {"OTEL_METRICS_EXPORTER": "zipkin"},
		"protocol":          {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		"metrics protocol":  {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "thrift"},
		"interval":          {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "1m"},
		"interval zero":     {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "0"},
		"interval negative": {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "-5"},
	} {
		t.Run(name, func(t *testing.T) {
			mp, _, _, err := metrics.NewProvider(context.Background(), envOf(m))
			if err == nil {
				t.Fatalf("got %v, want an error", mp)
			}
			if !strings.HasPrefix(err.Error(), "metrics: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
