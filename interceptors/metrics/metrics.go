package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/callinfo"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/tollgate-gw/tollgate/interceptors/metrics"

// DurationBuckets are the latency histogram's bucket boundaries in
// milliseconds, from a cached policy decision to a slow backend.
var DurationBuckets = []float64{1, 2.5, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 10000, 30000}

// maxCachedSets bounds the attribute set cache. Past it, sets are built per
// call rather than cached, so that a runaway number of routes or methods
// cannot grow the cache without limit.
const maxCachedSets = 10000

// Metrics records per API, stage and route the number of calls, of client
// and server errors and of throttled calls, and the latency of calls. It is
// safe for concurrent use.
type Metrics struct {
	calls, calls4xx, calls5xx, throttled metric.Int64Counter
	duration                             metric.Float64Histogram
	integration                          metric.Float64Histogram
	bytesIn, bytesOut                    metric.Int64Counter
	authzHits, authzMisses               metric.Int64Counter

	mu   sync.RWMutex
	sets map[setKey]*setEntry
}

// setKey identifies the attributes of one call.
type setKey struct {
	api, stage, route string
	protocol          callinfo.Protocol
	code              codes.Code
}

// setEntry holds the prepared measurement options of one setKey: with the
// code for the counters, without it for the histogram.
type setEntry struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// New creates the instruments on a meter of mp.
func New(mp metric.MeterProvider) (*Metrics, error) {
	meter := mp.Meter(ScopeName)
	m := &Metrics{sets: make(map[setKey]*setEntry)}
	var err, e error
	m.calls, e = meter.Int64Counter("tollgate.calls", metric.WithUnit("{call}"),
		metric.WithDescription("Data-plane calls."))
	err = errors.Join(err, e)
	m.calls4xx, e = meter.Int64Counter("tollgate.calls.4xx", metric.WithUnit("{call}"),
		metric.WithDescription("Data-plane calls whose status maps to an HTTP 4xx status."))
	err = errors.Join(err, e)
	m.calls5xx, e = meter.Int64Counter("tollgate.calls.5xx", metric.WithUnit("{call}"),
		metric.WithDescription("Data-plane calls whose status maps to an HTTP 5xx status."))
	err = errors.Join(err, e)
	m.throttled, e = meter.Int64Counter("tollgate.throttled", metric.WithUnit("{call}"),
		metric.WithDescription("Data-plane calls refused with RESOURCE_EXHAUSTED (throttling or quota)."))
	err = errors.Join(err, e)
	m.duration, e = meter.Float64Histogram("tollgate.call.duration", metric.WithUnit("ms"),
		metric.WithDescription("Latency of data-plane calls, policies and backend included."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	err = errors.Join(err, e)
	m.integration, e = meter.Float64Histogram("tollgate.integration.duration", metric.WithUnit("ms"),
		metric.WithDescription("Latency of the backend calls of data-plane calls that reached a backend."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	err = errors.Join(err, e)
	m.bytesIn, e = meter.Int64Counter("tollgate.request.bytes", metric.WithUnit("By"),
		metric.WithDescription("Message bytes clients sent (protobuf payloads; body bytes for plain HTTP routes)."))
	err = errors.Join(err, e)
	m.bytesOut, e = meter.Int64Counter("tollgate.response.bytes", metric.WithUnit("By"),
		metric.WithDescription("Message bytes clients received (protobuf payloads; body bytes for plain HTTP routes)."))
	err = errors.Join(err, e)
	m.authzHits, e = meter.Int64Counter("tollgate.authorizer.cache.hits", metric.WithUnit("{call}"),
		metric.WithDescription("Calls whose custom authorizer decision came from the policy cache."))
	err = errors.Join(err, e)
	m.authzMisses, e = meter.Int64Counter("tollgate.authorizer.cache.misses", metric.WithUnit("{call}"),
		metric.WithDescription("Calls whose custom authorizer was called out to."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// StreamServerInterceptor returns an interceptor that measures the calls
// carrying a callinfo.Call; other calls pass untouched.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c := callinfo.FromContext(ss.Context())
		if c == nil {
			return handler(srv, ss)
		}
		start := time.Now()
		err := handler(srv, ss)
		m.record(ss.Context(), c, Code(err), time.Since(start))
		return err
	}
}

// record records one finished call.
func (m *Metrics) record(ctx context.Context, c *callinfo.Call, code codes.Code, d time.Duration) {
	e := m.entry(setKey{api: c.API, stage: c.Stage, route: c.RouteKey, protocol: c.Protocol, code: code})
	m.calls.Add(ctx, 1, e.add...)
	switch s := runtime.HTTPStatusFromCode(code); {
	case s >= 500:
		m.calls5xx.Add(ctx, 1, e.add...)
	case s >= 400:
		m.calls4xx.Add(ctx, 1, e.add...)
	}
	if code == codes.ResourceExhausted {
		m.throttled.Add(ctx, 1, e.add...)
	}
	m.duration.Record(ctx, float64(d.Microseconds())/1000, e.record...)
	if il := c.IntegrationLatency; il > 0 {
		m.integration.Record(ctx, float64(il.Microseconds())/1000, e.record...)
	}
	if c.RequestBytes > 0 {
		m.bytesIn.Add(ctx, c.RequestBytes, e.add...)
	}
	if c.ResponseBytes > 0 {
		m.bytesOut.Add(ctx, c.ResponseBytes, e.add...)
	}
	switch c.AuthorizerCache {
	case callinfo.CacheHit:
		m.authzHits.Add(ctx, 1, e.add...)
	case callinfo.CacheMiss:
		m.authzMisses.Add(ctx, 1, e.add...)
	}
}

// entry returns the prepared options of k, caching them while the cache
// has room.
func (m *Metrics) entry(k setKey) *setEntry {
	m.mu.RLock()
	e, ok := m.sets[k]
	m.mu.RUnlock()
	if ok {
		return e
	}
	base := []attribute.KeyValue{
		attribute.String("api", k.api),
		attribute.String("stage", k.stage),
		attribute.String("route", k.route),
		attribute.String("protocol", k.protocol.String()),
	}
	e = &setEntry{
		record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(base...))},
		add:    []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(append(base, attribute.String("code", CodeName(k.code)))...))},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cached, ok := m.sets[k]; ok {
		return cached
	}
	if len(m.sets) < maxCachedSets {
		m.sets[k] = e
	}
	return e
}

// Code returns the gRPC code of a handler's error: OK for nil, the code of
// a status error, Canceled or DeadlineExceeded for context errors, and
// Unknown otherwise.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return status.FromContextError(err).Code()
}

// CodeName returns the canonical name of c, as in google.rpc.Code, such as
// "NOT_FOUND"; it is "CODE_<n>" for a code outside that enum.
func CodeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE_" + strconv.FormatUint(uint64(c), 10)
}

// codeNames are the canonical names of the codes, indexed by code.
var codeNames = func() []string {
	names := make([]string, len(rpccode.Code_name))
	for n, s := range rpccode.Code_name {
		if int(n) < len(names) {
			names[n] = s
		}
	}
	return names
}()

// PrometheusHandler returns a new MeterProvider whose metrics are exposed in
// the Prometheus format by the returned handler, for /metrics. The exporter
// registers with a registry of its own, not the global one.
func PrometheusHandler() (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
