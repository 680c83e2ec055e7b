package server

import (
	"context"
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
	interceptors    []grpc.StreamServerInterceptor
	metricsHandler  http.Handler
	shutdownTracing func(context.Context) error
}

// buildObservability sets up tracing, metrics and access logs, the first
// policies of every call so that they see throttled and refused calls too.
func (s *Server) buildObservability() (*observability, error) {
	tp, shutdown, err := tracing.NewProvider(context.Background(), os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("server: tracing from OTEL_* environment: %w", err)
	}
	mp, handler, err := metrics.PrometheusHandler()
	if err != nil {
		_ = shutdown(context.Background())
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	m, err := metrics.New(mp)
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
		shutdownTracing: shutdown,
	}, nil
}

// metrics returns the Prometheus handler, or nil before the data plane exists.
func (s *Server) metrics() http.Handler {
	if s.obs == nil {
		return nil
	}
	return s.obs.metricsHandler
}
