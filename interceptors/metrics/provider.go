package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// DefaultServiceName is the service.name of the data plane's metrics unless
// OTEL_SERVICE_NAME sets another.
const DefaultServiceName = "tollgate"

// DefaultExportInterval is the OTLP export interval unless
// OTEL_METRIC_EXPORT_INTERVAL sets another.
const DefaultExportInterval = 60 * time.Second

// NewProvider builds the data plane's MeterProvider from the standard
// OpenTelemetry environment variables, read with getenv. It always has a
// Prometheus reader, on a registry of its own, served by the returned
// handler on /metrics; it also has an OTLP periodic reader when
// OTEL_METRICS_EXPORTER is "otlp":
//
//   - OTEL_METRICS_EXPORTER: "otlp", or "none" (the default) for
//     Prometheus only.
//   - OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL:
//     "grpc" or "http/protobuf" (the default).
//   - OTEL_METRIC_EXPORT_INTERVAL: the export interval in milliseconds,
//     60000 by default.
//   - OTEL_SERVICE_NAME: the resource's service.name, "tollgate" by
//     default.
//
// The OTLP exporter reads its own settings (OTEL_EXPORTER_OTLP_ENDPOINT,
// headers, TLS, timeouts) from the process environment and connects
// lazily, so that NewProvider does no network I/O. An unsupported or
// malformed value is an error prefixed "metrics: ". The returned function
// flushes the OTLP reader and shuts the provider down; it must be called
// once, on exit.
func NewProvider(ctx context.Context, getenv func(string) string) (*sdkmetric.MeterProvider, http.Handler, func(context.Context) error, error) {
	env := func(key string) string { return strings.TrimSpace(getenv(key)) }

	var otlp bool
	switch exporter := strings.ToLower(env("OTEL_METRICS_EXPORTER")); exporter {
	case "", "none":
	case "otlp":
		otlp = true
	default:
		return nil, nil, nil, fmt.Errorf("metrics: unsupported OTEL_METRICS_EXPORTER %q (want otlp or none)", exporter)
	}

	serviceName := env("OTEL_SERVICE_NAME")
	if serviceName == "" {
		serviceName = DefaultServiceName
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("metrics: resource: %w", err)
	}

	reg := prometheus.NewRegistry()
	prom, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("metrics: Prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}

	if otlp {
		interval := DefaultExportInterval
		if s := env("OTEL_METRIC_EXPORT_INTERVAL"); s != "" {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms <= 0 {
				return nil, nil, nil, fmt.Errorf("metrics: OTEL_METRIC_EXPORT_INTERVAL %q is not a positive number of milliseconds", s)
			}
			interval = time.Duration(ms) * time.Millisecond
		}
		protocol := env("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
		if protocol == "" {
			protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		var exp sdkmetric.Exporter
		switch protocol {
		case "grpc":
			exp, err = otlpmetricgrpc.New(ctx)
		case "", "http/protobuf":
			exp, err = otlpmetrichttp.New(ctx)
		default:
			return nil, nil, nil, fmt.Errorf("metrics: unsupported OTLP protocol %q (want grpc or http/protobuf)", protocol)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("metrics: OTLP exporter: %w", err)
		}
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(interval))))
	}

	mp := sdkmetric.NewMeterProvider(opts...)
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), mp.Shutdown, nil
}
