// Package accesslog writes per-stage structured access logs, as a gRPC
// stream server interceptor.
//
// The data plane proxies every call (gRPC, transcoded REST, plain HTTP)
// through one generic stream handler, so [Logger.StreamServerInterceptor]
// sees every call. For a call carrying a [callinfo.Call] whose stage has
// its access log enabled (AccessLogSettings.enabled), it writes one JSON
// line when the call ends, through a log/slog JSON handler, with the
// stage's configured fields in their configured order, or with
// [DefaultFields] when none are configured. Other calls write nothing.
//
// The fields are named like Amazon API Gateway's $context variables, as
// the admin API validates them:
//
//	requestId      the call's request ID
//	requestTime    when the call started, RFC 3339 in UTC
//	clientIp       the client's address, without port
//	httpMethod     the HTTP method of a REST call
//	path           the path of a REST call, relative to the stage
//	protocol       "grpc", "rest" or "websocket"
//	api            the API's resource name
//	stage          the stage's resource name
//	deployment     the deployment's resource name
//	route          the route key: the route's ID, or the full method name
//	               of a method without a route
//	grpcMethod     the gRPC method, "/pkg.Service/Method"
//	status         the HTTP status the call's gRPC code maps to
//	grpcStatus     the gRPC code's canonical name, such as "NOT_FOUND"
//	latency        the call's duration in milliseconds (microsecond
//	               precision), policies and backend included
//	integrationLatency  the backend call's duration in milliseconds, for
//	               calls that reached a backend
//	requestLength  message bytes the client sent
//	responseLength message bytes the client received
//	apiKeyId       the API key's resource name, never its secret
//	principal      the caller's identity, once authorized
//	errorMessage   the status message of a failed call
//	errorReason    the reason of a failed call's google.rpc.ErrorInfo, such
//	               as API_KEY_INVALID, when it has one
//	userAgent      the client's User-Agent
//	traceId        the W3C trace ID of a traced call
//	cacheStatus    "hit" or "miss" when the stage's response cache was
//	               consulted
//	connectionId   the WebSocket connection of a WebSocket call
//	clientCertSubject, clientCertSerial, clientCertFingerprint
//	               the verified client certificate's subject (RFC 2253),
//	               serial number (hex) and SHA-256 fingerprint (hex), on
//	               domains with mutual TLS
//
// A string field without a value for the call (httpMethod of a gRPC call,
// apiKeyId of a call without a key, errorMessage of a successful call,
// traceId of an untraced call) is left out of the line.
package accesslog
