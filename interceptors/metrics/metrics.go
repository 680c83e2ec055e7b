package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/tollgate-gw/tollgate/interceptors/metrics"

// DurationBuckets are the latency histogram's bucket boundaries in
// milliseconds, from a cached policy decision to a slow backend.
var DurationBuckets = []float64{1, 2.5, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 10000, 30000}

// maxCachedSets bounds the attribute sets tracked. Past it, calls are
// counted under an "_overflow" set, so that a runaway number of routes or
// methods cannot grow memory or the exported series without limit.
const maxCachedSets = 10000

// Metrics records per API, stage and route the number of calls, of client
// and server errors and of throttled calls, and the latency of calls. It is
// safe for concurrent use.
type Metrics struct {
	// counters are observed at collection time from each entry's atomic
	// totals: counting a call is an atomic add, not an SDK measurement.
	counters    [numCounters]metric.Int64ObservableCounter
	duration    metric.Float64Histogram
	integration metric.Float64Histogram

	mu   sync.RWMutex
	sets map[setKey]*setEntry
}

// The counters of each attribute set.
const (
	cCalls = iota
	c4xx
	c5xx
	cThrottled
	cBytesIn
	cBytesOut
	cAuthzHits
	cAuthzMisses
	cCacheHits
	cCacheMisses
	cIPDenied
	numCounters
)

// overflow stands for the API, stage and route of calls whose attribute
// set did not fit in the cache, so that cardinality stays bounded.
const overflow = "_overflow"

// setKey identifies the attributes of one call.
type setKey struct {
	api, stage, route string
	protocol          callinfo.Protocol
	code              codes.Code
}

// setEntry holds the prepared measurement options of one setKey: with the
// code for the counters, without it for the histogram.
type setEntry struct {
	attrs  attribute.Set // with the code, for the counters
	record []metric.RecordOption
	n      [numCounters]atomic.Int64
}

// New creates the instruments on a meter of mp.
func New(mp metric.MeterProvider) (*Metrics, error) {
	meter := mp.Meter(ScopeName)
	m := &Metrics{sets: make(map[setKey]*setEntry)}
	var err, e error
	specs := [numCounters]struct{ name, unit, desc string }{
		cCalls:       {"tollgate.calls", "{call}", "Data-plane calls."},
		c4xx:         {"tollgate.calls.4xx", "{call}", "Data-plane calls whose status maps to an HTTP 4xx status."},
		c5xx:         {"tollgate.calls.5xx", "{call}", "Data-plane calls whose status maps to an HTTP 5xx status."},
		cThrottled:   {"tollgate.throttled", "{call}", "Data-plane calls refused with RESOURCE_EXHAUSTED (throttling or quota)."},
		cBytesIn:     {"tollgate.request.bytes", "By", "Message bytes clients sent (protobuf payloads; body bytes for plain HTTP routes)."},
		cBytesOut:    {"tollgate.response.bytes", "By", "Message bytes clients received (protobuf payloads; body bytes for plain HTTP routes)."},
		cAuthzHits:   {"tollgate.authorizer.cache.hits", "{call}", "Calls whose custom authorizer decision came from the policy cache."},
		cAuthzMisses: {"tollgate.authorizer.cache.misses", "{call}", "Calls whose custom authorizer was called out to."},
		cCacheHits:   {"tollgate.cache.hits", "{call}", "Calls answered from the stage's response cache."},
		cCacheMisses: {"tollgate.cache.misses", "{call}", "Cacheable calls the stage's response cache could not answer, which reached the backend."},
		cIPDenied:    {"tollgate.ip_denied", "{call}", "Data-plane calls refused by an IP policy (PERMISSION_DENIED, reason IP_DENIED)."},
	}
	observables := make([]metric.Observable, 0, numCounters)
	for i, sp := range specs {
		m.counters[i], e = meter.Int64ObservableCounter(sp.name, metric.WithUnit(sp.unit), metric.WithDescription(sp.desc))
		err = errors.Join(err, e)
		observables = append(observables, m.counters[i])
	}
	m.duration, e = meter.Float64Histogram("tollgate.call.duration", metric.WithUnit("ms"),
		metric.WithDescription("Latency of data-plane calls, policies and backend included."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	err = errors.Join(err, e)
	m.integration, e = meter.Float64Histogram("tollgate.integration.duration", metric.WithUnit("ms"),
		metric.WithDescription("Latency of the backend calls of data-plane calls that reached a backend."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...))
	err = errors.Join(err, e)
	if err == nil {
		_, err = meter.RegisterCallback(m.observe, observables...)
	}
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
		if err != nil && gatewayerr.Reason(err) == gatewayerr.ReasonIPDenied {
			m.entry(setKey{api: c.API, stage: c.Stage, route: c.RouteKey, protocol: c.Protocol, code: codes.PermissionDenied}).n[cIPDenied].Add(1)
		}
		return err
	}
}

// record records one finished call.
func (m *Metrics) record(ctx context.Context, c *callinfo.Call, code codes.Code, d time.Duration) {
	e := m.entry(setKey{api: c.API, stage: c.Stage, route: c.RouteKey, protocol: c.Protocol, code: code})
	e.n[cCalls].Add(1)
	switch s := runtime.HTTPStatusFromCode(code); {
	case s >= 500:
		e.n[c5xx].Add(1)
	case s >= 400:
		e.n[c4xx].Add(1)
	}
	if code == codes.ResourceExhausted {
		e.n[cThrottled].Add(1)
	}
	if c.RequestBytes > 0 {
		e.n[cBytesIn].Add(c.RequestBytes)
	}
	if c.ResponseBytes > 0 {
		e.n[cBytesOut].Add(c.ResponseBytes)
	}
	switch c.AuthorizerCache {
	case callinfo.CacheHit:
		e.n[cAuthzHits].Add(1)
	case callinfo.CacheMiss:
		e.n[cAuthzMisses].Add(1)
	}
	switch c.ResponseCache {
	case callinfo.CacheHit:
		e.n[cCacheHits].Add(1)
	case callinfo.CacheMiss:
		e.n[cCacheMisses].Add(1)
	}
	m.duration.Record(ctx, float64(d.Microseconds())/1000, e.record...)
	if il := c.IntegrationLatency; il > 0 {
		m.integration.Record(ctx, float64(il.Microseconds())/1000, e.record...)
	}
}

// observe reports every attribute set's counter totals at collection time.
func (m *Metrics) observe(_ context.Context, o metric.Observer) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.sets {
		opt := metric.WithAttributeSet(e.attrs)
		for i := range numCounters {
			if v := e.n[i].Load(); v > 0 {
				o.ObserveInt64(m.counters[i], v, opt)
			}
		}
	}
	return nil
}

// entry returns the counters and options of k. Past maxCachedSets
// distinct sets, calls are counted under an overflow set instead, so that
// memory and cardinality stay bounded.
func (m *Metrics) entry(k setKey) *setEntry {
	m.mu.RLock()
	e, ok := m.sets[k]
	m.mu.RUnlock()
	if ok {
		return e
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.sets[k]; ok {
		return e
	}
	if len(m.sets) >= maxCachedSets {
		k.api, k.stage, k.route = overflow, overflow, overflow
		if e, ok := m.sets[k]; ok {
			return e
		}
	}
	base := []attribute.KeyValue{
		attribute.String("api", k.api),
		attribute.String("stage", k.stage),
		attribute.String("route", k.route),
		attribute.String("protocol", k.protocol.String()),
	}
	e = &setEntry{
		record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(base...))},
		attrs:  attribute.NewSet(append(base, attribute.String("code", CodeName(k.code)))...),
	}
	m.sets[k] = e
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
	mp, h, _, err := NewProvider(context.Background(), func(string) string { return "" })
	return mp, h, err
}
