package tracing

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of the gateway's spans unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES sets another.
const DefaultServiceName = "tollgate"

// NewProvider builds a tracer provider from the standard OpenTelemetry
// environment variables, read with getenv:
//
//   - OTEL_SDK_DISABLED: "true" disables tracing.
//   - OTEL_TRACES_EXPORTER: "otlp", or "none" (the default), for which
//     NewProvider returns a no-op provider, so that tracing off costs
//     nearly nothing.
//   - OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL:
//     "grpc" or "http/protobuf" (the default).
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG: always_on,
//     always_off, traceidratio, parentbased_always_on (the default),
//     parentbased_always_off or parentbased_traceidratio; the ratio
//     defaults to 1.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: the resource.
//
// The exporter reads its own settings (OTEL_EXPORTER_OTLP_ENDPOINT,
// headers, TLS, timeouts) from the process environment. An unsupported or
// malformed value is an error. The returned function flushes the spans
// not yet exported and shuts the provider down; it must be called once, on
// exit.
func NewProvider(ctx context.Context, getenv func(string) string) (trace.TracerProvider, func(context.Context) error, error) {
	env := func(key string) string { return strings.TrimSpace(getenv(key)) }
	noopShutdown := func(context.Context) error { return nil }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return noop.NewTracerProvider(), noopShutdown, nil
	}
	switch exporter := strings.ToLower(env("OTEL_TRACES_EXPORTER")); exporter {
	case "", "none":
		return noop.NewTracerProvider(), noopShutdown, nil
	case "otlp":
	default:
		return nil, nil, fmt.Errorf("tracing: unsupported OTEL_TRACES_EXPORTER %q (want otlp or none)", exporter)
	}

	sampler, err := samplerFromEnv(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		return nil, nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithDetectors(envDetector{getenv: env}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	protocol := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	switch protocol {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, nil, fmt.Errorf("tracing: unsupported OTLP protocol %q (want grpc or http/protobuf)", protocol)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	)
	return tp, tp.Shutdown, nil
}

// samplerFromEnv returns the sampler named by OTEL_TRACES_SAMPLER with
// OTEL_TRACES_SAMPLER_ARG.
func samplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG %q is not a ratio in [0, 1]", arg)
		}
		return r, nil
	}
	switch strings.ToLower(name) {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.TraceIDRatioBased(r), nil
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, fmt.Errorf("tracing: unsupported OTEL_TRACES_SAMPLER %q", name)
}

// envDetector reads the resource from OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME, like resource.WithFromEnv but through getenv.
// OTEL_SERVICE_NAME wins over a service.name in the attributes.
type envDetector struct {
	getenv func(string) string
}

// Detect implements resource.Detector.
func (d envDetector) Detect(context.Context) (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	if s := d.getenv("OTEL_RESOURCE_ATTRIBUTES"); s != "" {
		for pair := range strings.SplitSeq(s, ",") {
			k, v, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("tracing: malformed OTEL_RESOURCE_ATTRIBUTES entry %q", pair)
			}
			val, err := url.PathUnescape(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("tracing: malformed OTEL_RESOURCE_ATTRIBUTES value for %q: %w", k, err)
			}
			attrs = append(attrs, attribute.String(k, val))
		}
	}
	if s := d.getenv("OTEL_SERVICE_NAME"); s != "" {
		attrs = append(attrs, attribute.String("service.name", s))
	}
	return resource.NewSchemaless(attrs...), nil
}
