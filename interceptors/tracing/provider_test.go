package tracing_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-gw/tollgate/interceptors/tracing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNewProviderNone(t *testing.T) {
	for _, exporter := range []string{"", "none", "NONE"} {
		tp, shutdown, err := tracing.NewProvider(context.Background(), env(map[string]string{"OTEL_TRACES_EXPORTER": exporter}))
		if err != nil {
			t.Fatalf("%q: %v", exporter, err)
		}
		if _, ok := tp.(*sdktrace.TracerProvider); ok {
			t.Errorf("%q: got an SDK provider, want a no-op one", exporter)
		}
		_, span := tp.Tracer("x").Start(context.Background(), "s")
		if span.IsRecording() {
			t.Errorf("%q: no-op provider records", exporter)
		}
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("%q: shutdown: %v", exporter, err)
		}
	}
}

func TestNewProviderOTLP(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf", ""} {
		tp, shutdown, err := tracing.NewProvider(context.Background(), env(map[string]string{
			"OTEL_TRACES_EXPORTER":        "otlp",
			"OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
			"OTEL_TRACES_SAMPLER":         "always_off",
			"OTEL_SERVICE_NAME":           "gw",
			"OTEL_RESOURCE_ATTRIBUTES":    "deployment.environment=prod,service.name=ignored",
		}))
		if err != nil {
			t.Fatalf("%q: %v", protocol, err)
		}
		if _, ok := tp.(*sdktrace.TracerProvider); !ok {
			t.Errorf("%q: got %T, want an SDK provider", protocol, tp)
		}
		// always_off: nothing recorded, nothing to export.
		_, span := tp.Tracer("x").Start(context.Background(), "s")
		if span.IsRecording() {
			t.Errorf("%q: always_off span records", protocol)
		}
		span.End()
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("%q: shutdown: %v", protocol, err)
		}
	}
}

func TestNewProviderErrors(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"sampler":      {"OTEL_TRACES_SAMPLER": "sometimes"},
		"ratio":        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
		"ratio range":  {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
		"exporter":     {"OTEL_TRACES_EXPORTER": "zipkin"},
		"protocol":     {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		"resource":     {"OTEL_RESOURCE_ATTRIBUTES": "novalue"},
		"resource esc": {"OTEL_RESOURCE_ATTRIBUTES": "k=%zz"},
	} {
		t.Run(name, func(t *testing.T) {
			if m["OTEL_TRACES_EXPORTER"] == "" {
				m["OTEL_TRACES_EXPORTER"] = "otlp"
			}
			tp, _, err := tracing.NewProvider(context.Background(), env(m))
			if err == nil {
				t.Fatalf("got %T, want an error", tp)
			}
			if !strings.HasPrefix(err.Error(), "tracing: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestSamplers checks each sampler's decision for a root span.
func TestSamplers(t *testing.T) {
	for _, tc := range []struct {
		sampler, arg string
		sampled      bool
	}{
		{"", "", true},
		{"always_on", "", true},
		{"always_off", "", false},
		{"traceidratio", "1", true},
		{"traceidratio", "0", false},
		{"parentbased_always_on", "", true},
		{"parentbased_always_off", "", false},
		{"parentbased_traceidratio", "0", false},
		{"parentbased_traceidratio", "", true},
	} {
		tp, shutdown, err := tracing.NewProvider(context.Background(), env(map[string]string{
			"OTEL_TRACES_EXPORTER":        "otlp",
			"OTEL_TRACES_SAMPLER":         tc.sampler,
			"OTEL_TRACES_SAMPLER_ARG":     tc.arg,
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		}))
		if err != nil {
			t.Fatalf("%s(%s): %v", tc.sampler, tc.arg, err)
		}
		_, span := tp.Tracer("x").Start(context.Background(), "s", trace.WithNewRoot())
		if got := span.SpanContext().IsSampled(); got != tc.sampled {
			t.Errorf("%s(%s): sampled = %v, want %v", tc.sampler, tc.arg, got, tc.sampled)
		}
		// Do not export: end nothing, just shut down.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = shutdown(ctx)
	}
}
