package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"

	"github.com/tollgate-gw/tollgate/internal/connlimit"
	"github.com/tollgate-gw/tollgate/internal/connsplit"
	"github.com/tollgate-gw/tollgate/internal/h1guard"
	"github.com/tollgate-gw/tollgate/internal/h2guard"
	"github.com/tollgate-gw/tollgate/internal/slowclient"
)

// Defaults of the data port's limits on slow clients (see Config).
const (
	// DefaultBodyReadTimeout is the default Config.BodyReadTimeout.
	DefaultBodyReadTimeout = 60 * time.Second
	// DefaultMinBodyRate is the default Config.MinBodyReadRate and
	// Config.MinBodyWriteRate, in bytes per second: far below any real
	// network, far above a client trickling bytes to hold a connection.
	DefaultMinBodyRate = 1024
	// DefaultMinRateGrace is the default Config.MinRateGrace.
	DefaultMinRateGrace = 5 * time.Second
	// DefaultStreamResetLimit is the default Config.StreamResetLimit: as
	// many as the streams a client may have open at once.
	DefaultStreamResetLimit = maxConcurrentStreams
)

// withEdgeDefaults sets the zero edge limits of c to their defaults d.
// The connection caps stay 0: they are derived from the file descriptor
// limit when the port opens (see connLimits).
func (c Config) withEdgeDefaults(d Config) Config {
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = d.BodyReadTimeout
	}
	if c.MinBodyReadRate == 0 {
		c.MinBodyReadRate = d.MinBodyReadRate
	}
	if c.MinBodyWriteRate == 0 {
		c.MinBodyWriteRate = d.MinBodyWriteRate
	}
	if c.MinRateGrace == 0 {
		c.MinRateGrace = d.MinRateGrace
	}
	if c.StreamResetLimit == 0 {
		c.StreamResetLimit = d.StreamResetLimit
	}
	return c
}

// validateEdge checks the edge limits of c, whose defaults are applied.
func (c Config) validateEdge() []error {
	var errs []error
	for _, f := range []struct {
		flag string
		v    int
	}{
		{"max-connections", c.MaxConnections},
		{"max-connections-per-ip", c.MaxConnectionsPerIP},
		{"min-body-read-rate", c.MinBodyReadRate},
		{"min-body-write-rate", c.MinBodyWriteRate},
		{"stream-reset-limit", c.StreamResetLimit},
	} {
		if f.v < -1 {
			errs = append(errs, fmt.Errorf("%s: %d is neither a limit nor -1 (no limit)", f.flag, f.v))
		}
	}
	if c.BodyReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("body-read-timeout: %s is negative", c.BodyReadTimeout))
	}
	if c.MinRateGrace < 0 {
		errs = append(errs, fmt.Errorf("min-rate-grace: %s is negative", c.MinRateGrace))
	}
	return errs
}

// connLimits resolves the configured connection caps: 0 derives them from
// the file descriptor limit, -1 lifts them.
func (c Config) connLimits() connlimit.Limits {
	d := connlimit.Defaults()
	l := connlimit.Limits{Total: c.MaxConnections, PerIP: c.MaxConnectionsPerIP}
	switch {
	case l.Total == 0:
		l.Total = d.Total
	case l.Total < 0:
		l.Total = 0
	}
	switch {
	case l.PerIP == 0 && l.Total > 0:
		l.PerIP = max(l.Total/10, 1)
	case l.PerIP == 0:
		l.PerIP = d.PerIP
	case l.PerIP < 0:
		l.PerIP = 0
	}
	return l
}

// limitConnections wraps the data port's listener with the connection caps
// and makes its counts visible to the metrics.
func (s *Server) limitConnections(ln net.Listener) net.Listener {
	l := s.cfg.connLimits()
	cl := connlimit.New(ln, l)
	s.conns.Store(cl)
	s.log.Info("data port connection limits", "max_connections", l.Total, "max_connections_per_ip", l.PerIP)
	return cl
}

// guardHTTP2 is the connsplit option that ends HTTP/2 connections whose
// client resets streams faster than Config.StreamResetLimit allows.
func (s *Server) guardHTTP2() connsplit.Option {
	limit := h2guard.Limit{Burst: max(s.cfg.StreamResetLimit, 0)}
	return connsplit.WithHTTP2Conn(func(c net.Conn) net.Conn {
		if limit.Burst == 0 {
			return c
		}
		return h2guard.New(c, limit, func() {
			s.resetLimited.Add(1)
			s.log.Warn("closed an HTTP/2 connection that reset too many streams (GOAWAY ENHANCE_YOUR_CALM)",
				"client", c.RemoteAddr().String(), "stream_reset_limit", limit.Burst)
		})
	})
}

// guardHTTP1 is the connsplit option that refuses HTTP/1.x requests with
// both Content-Length and Transfer-Encoding (400, connection closed).
func (s *Server) guardHTTP1() connsplit.Option {
	return connsplit.WithHTTP1Conn(func(c net.Conn) net.Conn {
		return h1guard.New(c, func() { s.ambiguousRefused.Add(1) })
	})
}

// registerEdgeMetrics reports the process's goroutines and the data port's
// open connections, refused connections and open streams (HTTP requests in
// flight and natively served gRPC calls), read at collection time.
func (s *Server) registerEdgeMetrics(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/tollgate-gw/tollgate/server")
	goroutines, err1 := meter.Int64ObservableGauge("tollgate.goroutines", metric.WithUnit("{goroutine}"),
		metric.WithDescription("Goroutines in the process."))
	open, err2 := meter.Int64ObservableUpDownCounter("tollgate.connections.open", metric.WithUnit("{connection}"),
		metric.WithDescription("Data-port connections open."))
	refused, err3 := meter.Int64ObservableCounter("tollgate.connections.refused", metric.WithUnit("{connection}"),
		metric.WithDescription("Data-port connections closed on accept for exceeding max-connections or max-connections-per-ip."))
	streams, err4 := meter.Int64ObservableUpDownCounter("tollgate.streams.open", metric.WithUnit("{stream}"),
		metric.WithDescription("Data-port requests and gRPC calls in flight (HTTP/1.1 requests, HTTP/2 streams)."))
	resets, err5 := meter.Int64ObservableCounter("tollgate.connections.reset_limited", metric.WithUnit("{connection}"),
		metric.WithDescription("HTTP/2 connections closed with GOAWAY for resetting streams faster than stream-reset-limit."))
	ambiguous, err6 := meter.Int64ObservableCounter("tollgate.requests.ambiguous_framing", metric.WithUnit("{request}"),
		metric.WithDescription("HTTP/1.x requests refused with 400 for carrying both Content-Length and Transfer-Encoding."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return fmt.Errorf("edge metrics: %w", err)
	}
	httpAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("protocol", "http")))
	grpcAttr := metric.WithAttributeSet(attribute.NewSet(attribute.String("protocol", "grpc")))
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(goroutines, int64(runtime.NumGoroutine()))
		if cl := s.conns.Load(); cl != nil {
			o.ObserveInt64(open, cl.Open())
			o.ObserveInt64(refused, cl.Refused())
		}
		if s.gateway != nil {
			o.ObserveInt64(streams, s.gateway.OpenGRPCStreams(), grpcAttr)
		}
		o.ObserveInt64(streams, s.openRequests.Load(), httpAttr)
		o.ObserveInt64(resets, s.resetLimited.Load())
		o.ObserveInt64(ambiguous, s.ambiguousRefused.Load())
		return nil
	}, goroutines, open, refused, streams, resets, ambiguous)
	if err != nil {
		return fmt.Errorf("edge metrics: %w", err)
	}
	return nil
}

// edgeHandler wraps the data port's handler with the protections that do
// not depend on routing: counting requests in flight, refusing HTTP/2
// requests whose host header contradicts :authority, and the limits on
// slow request bodies and slow readers.
func (s *Server) edgeHandler(next http.Handler) http.Handler {
	rate := func(v int) int64 { return int64(max(v, 0)) } // -1: no minimum
	limited := slowclient.Handler(next, slowclient.Limits{
		BodyTimeout:  s.cfg.BodyReadTimeout,
		MinReadRate:  rate(s.cfg.MinBodyReadRate),
		MinWriteRate: rate(s.cfg.MinBodyWriteRate),
		Grace:        s.cfg.MinRateGrace,
	}, skipSlowClientLimits)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.openRequests.Add(1)
		defer s.openRequests.Add(-1)
		if r.ProtoMajor == 2 {
			// Routing and authorization use :authority (r.Host); a
			// backend or cache that prefers a differing host header would
			// see another request (RFC 9113 §8.3.1: they must agree).
			if hosts := r.Header.Values("Host"); len(hosts) > 1 || (len(hosts) == 1 && hosts[0] != r.Host) {
				writeStatusJSON(w, http.StatusBadRequest, codes.InvalidArgument, "the host header differs from :authority")
				return
			}
		}
		limited.ServeHTTP(w, r)
	})
}

// skipSlowClientLimits exempts WebSocket upgrades (the connection outlives
// the request, and its own idle timeouts and pings apply) and gRPC calls on
// HTTP connections (bounded by HTTP/2 flow control and grpc-go's keepalive,
// as natively served ones are).
func skipSlowClientLimits(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" ||
		(r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc"))
}
