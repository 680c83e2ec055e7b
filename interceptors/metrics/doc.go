// Package metrics records OpenTelemetry metrics for the data plane, as a
// gRPC stream server interceptor.
//
// The data plane proxies every call (gRPC, transcoded REST, plain HTTP)
// through one generic stream handler, so [Metrics.StreamServerInterceptor]
// sees every call. It measures only calls that carry a [callinfo.Call];
// other calls pass untouched.
//
// Every call is counted with the attributes api, stage, route, protocol and
// code: the API's and the stage's resource names, the call's route key (the
// route's ID, or the full method name of a method without a route), "grpc"
// or "rest", and the canonical name of the call's gRPC status code, such as
// "OK" or "RESOURCE_EXHAUSTED". Calls whose code maps to an HTTP 4xx or 5xx
// status (as grpc-gateway maps them) are also counted as client or server
// errors, and calls refused with RESOURCE_EXHAUSTED (throttling and quota
// refusals) as throttled. The latency histogram has the same attributes but
// code.
//
// Exposed through [PrometheusHandler], with the exporter's default
// translation, the series on /metrics are:
//
//	tollgate_calls_total{api,stage,route,protocol,code}
//	tollgate_calls_4xx_total{api,stage,route,protocol,code}
//	tollgate_calls_5xx_total{api,stage,route,protocol,code}
//	tollgate_throttled_total{api,stage,route,protocol,code}
//	tollgate_call_duration_milliseconds_bucket{api,stage,route,protocol,le}
//	tollgate_call_duration_milliseconds_sum{api,stage,route,protocol}
//	tollgate_call_duration_milliseconds_count{api,stage,route,protocol}
//
// plus the otel_scope_* labels and the target_info series the exporter
// adds. The OpenTelemetry instrument names are tollgate.calls,
// tollgate.calls.4xx, tollgate.calls.5xx, tollgate.throttled and
// tollgate.call.duration (unit ms).
//
// The latency is the whole call as the gateway sees it, policies and
// backend included. The integration (backend) latency is not measured
// here: it arrives with tracing, which times the backend call itself.
package metrics
