package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/accesslog"
	"github.com/tollgate-gw/tollgate/interceptors/metrics"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// metricsPath is where the admin port serves Prometheus metrics.
const metricsPath = "/metrics"

// metricsScope is the instrumentation scope of the server's own metrics.
const metricsScope = "github.com/tollgate-gw/tollgate/server"

// observability is what the data plane reports through: traces (OTEL_*
// environment), metrics (/metrics on the admin port) and access logs.
type observability struct {
	interceptors   []grpc.StreamServerInterceptor
	metricsHandler http.Handler
	// compileFailures counts stages the data plane could not compile when
	// it reloaded (tollgate_stage_compile_failures_total).
	compileFailures metric.Int64Counter
	meter           metric.Meter                // the server's own metrics
	shutdown        func(context.Context) error // flushes traces and OTLP metrics
}

// buildObservability sets up tracing, metrics and access logs, the first
// policies of every call so that they see throttled and refused calls too.
func (s *Server) buildObservability() (*observability, error) {
	tp, shutdown, err := tracing.NewProvider(context.Background(), os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("server: tracing from OTEL_* environment: %w", err)
	}
	mp, handler, shutdownMetrics, err := metrics.NewProvider(context.Background(), os.Getenv)
	if err != nil {
		_ = shutdown(context.Background())
		return nil, fmt.Errorf("server: metrics from OTEL_* environment: %w", err)
	}
	m, err := metrics.New(mp)
	if err == nil {
		err = s.registerEdgeMetrics(mp)
	}
	if err == nil {
		err = s.registerTLSMetrics(mp)
	}
	if err != nil {
		_ = shutdown(context.Background())
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	compileFailures, err := mp.Meter(metricsScope).Int64Counter("tollgate.stage.compile_failures",
		metric.WithUnit("{failure}"),
		metric.WithDescription("Stages the data plane could not compile on a reload (counted per reload), "+
			"by stage, failed deployment and whether the stage kept serving its previous deployment."))
	if err != nil {
		_ = shutdown(context.Background())
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	w := s.cfg.AccessLog
	if w == nil {
		w = os.Stdout
	}
	return &observability{
		interceptors: []grpc.StreamServerInterceptor{
			tracing.New(tp).StreamServerInterceptor(),
			m.StreamServerInterceptor(),
			accesslog.New(w).StreamServerInterceptor(),
		},
		metricsHandler:  handler,
		compileFailures: compileFailures,
		meter:           mp.Meter(metricsScope),
		shutdown: func(ctx context.Context) error {
			return errors.Join(shutdown(ctx), shutdownMetrics(ctx))
		},
	}, nil
}

// metrics returns the Prometheus handler, or nil before the data plane exists.
func (s *Server) metrics() http.Handler {
	if s.obs == nil {
		return nil
	}
	return s.obs.metricsHandler
}

// countCompileFailures counts the stages a reload could not compile.
func (s *Server) countCompileFailures(failures []routing.StageError) {
	if s.obs == nil {
		return
	}
	for _, f := range failures {
		s.obs.compileFailures.Add(context.Background(), 1, metric.WithAttributes(
			attribute.String("stage", f.Stage),
			attribute.String("deployment", f.Deployment),
			attribute.Bool("kept_previous", f.Kept != "")))
	}
}

// observeTargets reports the health of every target of integrations with
// several targets (tollgate_upstream_target_healthy).
func (o *observability) observeTargets(gw *gateway.Gateway) error {
	_, err := o.meter.Int64ObservableGauge("tollgate.upstream.target.healthy",
		metric.WithUnit("{target}"),
		metric.WithDescription("1 while a target address of an integration with several targets takes calls, "+
			"0 while its active health check fails or outlier detection ejected it; by target and address."),
		metric.WithInt64Callback(func(_ context.Context, obs metric.Int64Observer) error {
			gw.TargetStates(func(target, address string, up bool) {
				v := int64(0)
				if up {
					v = 1
				}
				obs.Observe(v, metric.WithAttributes(attribute.String("target", target), attribute.String("address", address)))
			})
			return nil
		}))
	if err != nil {
		return fmt.Errorf("server: metrics: %w", err)
	}
	_, err = o.meter.Int64ObservableCounter("tollgate.upstream.overflows",
		metric.WithUnit("{call}"),
		metric.WithDescription("Calls refused by an integration's circuit breaker (UPSTREAM_OVERFLOW) without reaching the backend."),
		metric.WithInt64Callback(func(_ context.Context, obs metric.Int64Observer) error {
			obs.Observe(gw.Overflows())
			return nil
		}))
	if err != nil {
		return fmt.Errorf("server: metrics: %w", err)
	}
	return nil
}
