package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/accesslog"
	"github.com/tollgate-gw/tollgate/interceptors/metrics"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
)

// metricsPath is where the admin port serves Prometheus metrics.
const metricsPath = "/metrics"

// observability is what the data plane reports through: traces (OTEL_*
// environment), metrics (/metrics on the admin port) and access logs.
type observability struct {
	interceptors   []grpc.StreamServerInterceptor
	metricsHandler http.Handler
	shutdown       func(context.Context) error // flushes traces and OTLP metrics
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
		err = s.registerTLSMetrics(mp)
	}
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
		metricsHandler: handler,
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
