package transcode

import (
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/headermap"
)

// forwardedHeaders are the request headers forwarded to gRPC metadata under
// their own (lowercased) name, on top of what grpc-gateway's
// runtime.DefaultHeaderMatcher forwards.
var forwardedHeaders = map[string]bool{
	"x-api-key":    true,
	"x-request-id": true,
	"traceparent":  true,
	"tracestate":   true,
	"baggage":      true,
}

// IncomingHeaderMatcher decides which HTTP request headers a [Transcoder]
// forwards to the gRPC call's metadata, and under which key. It is the
// runtime.HeaderMatcherFunc the Transcoder gives its runtime.ServeMux
// (runtime.WithIncomingHeaderMatcher):
//
//   - X-Api-Key, X-Request-Id, Traceparent, Tracestate and Baggage are
//     forwarded unprefixed, lowercased ("x-api-key"), so that the gateway's
//     interceptors see them as they see them on gRPC calls;
//   - everything else is decided by runtime.DefaultHeaderMatcher: the IANA
//     permanent headers are forwarded with the "grpcgateway-" prefix
//     ("grpcgateway-user-agent"), others are dropped.
//
// Independently of the matcher, runtime.AnnotateContext forwards
// Authorization as "authorization", sets x-forwarded-for and
// x-forwarded-host, and turns Grpc-Timeout into the call's deadline.
// Grpc-Metadata-* headers are not forwarded (grpc-gateway stopped doing so
// by default, since they let a client set any metadata key).
func IncomingHeaderMatcher(key string) (string, bool) {
	if k := strings.ToLower(key); forwardedHeaders[k] {
		return k, true
	}
	k, ok := runtime.DefaultHeaderMatcher(key)
	// "Grpc-Metadata-X-Tollgate-…" would become gateway-internal metadata,
	// which only the gateway itself may set.
	if ok && callinfo.IsInternal(k) {
		return "", false
	}
	return k, ok
}

// plainResponseHeaders are the response header metadata the gateway itself
// adds for its clients, which REST clients get as HTTP headers of the same
// name rather than prefixed: the request ID (interceptors/requestid), the
// response cache's status (interceptors/cache.StatusHeader) and its note
// that a Cache-Control header was ignored
// (interceptors/cache.ControlIgnoredHeader).
var plainResponseHeaders = map[string]bool{
	"x-request-id":             true,
	"x-tollgate-cache":         true,
	"x-tollgate-cache-control": true,
}

// incomingHeaderMatcher returns the request header matcher of a
// Transcoder: the API's header mapping patterns forward matching headers
// under their own lowercased name; every other header is decided by
// IncomingHeaderMatcher.
func incomingHeaderMatcher(p *headermap.Patterns) runtime.HeaderMatcherFunc {
	if p == nil {
		return IncomingHeaderMatcher
	}
	return func(key string) (string, bool) {
		if k, ok := p.Match(key); ok {
			return k, true
		}
		return IncomingHeaderMatcher(key)
	}
}

// outgoingHeaderMatcher returns the response header matcher of a
// Transcoder. It maps response header metadata to HTTP headers as
// grpc-gateway does ("Grpc-Metadata-" + key), except that:
//   - binary ("-bin") metadata is dropped: its raw bytes are not a valid
//     HTTP header value, and grpc-gateway's copy of them breaks the
//     response;
//   - gRPC's content-type (application/grpc) and the retry-after entry the
//     throttle and quota set are dropped: they would reach clients as
//     Grpc-Metadata-Content-Type and Grpc-Metadata-Retry-After, and the
//     gateway writes the real Retry-After header itself;
//   - the gateway's own plainResponseHeaders keep their name;
//   - with plain set (the API's response_metadata_as_headers), every key
//     headermap.ResponseHeaderAllowed admits keeps its name too.
func outgoingHeaderMatcher(plain bool) runtime.HeaderMatcherFunc {
	return func(key string) (string, bool) {
		k := strings.ToLower(key)
		if strings.HasSuffix(k, "-bin") || headermap.IsResponseReserved(k) {
			return "", false
		}
		if plainResponseHeaders[k] || (plain && headermap.ResponseHeaderAllowed(k)) {
			return k, true
		}
		return runtime.MetadataHeaderPrefix + key, true
	}
}

// outgoingTrailerMatcher returns the response trailer matcher of a
// Transcoder: trailer metadata becomes HTTP trailers ("Grpc-Trailer-" +
// key, or the key itself with plain as for headers), sent only to clients
// that accept trailers, except binary ("-bin") metadata, such as
// grpc-status-details-bin, whose raw bytes grpc-gateway would write into
// the trailer (the details are in the body's google.rpc.Status anyway).
func outgoingTrailerMatcher(plain bool) runtime.HeaderMatcherFunc {
	return func(key string) (string, bool) {
		k := strings.ToLower(key)
		if strings.HasSuffix(k, "-bin") {
			return "", false
		}
		if plain && headermap.ResponseHeaderAllowed(k) {
			return k, true
		}
		return runtime.MetadataTrailerPrefix + key, true
	}
}
