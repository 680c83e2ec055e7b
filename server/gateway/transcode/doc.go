// Package transcode serves REST/JSON clients for the gRPC services of a
// deployed API: a [Transcoder] turns each HTTP request into a gRPC call and
// the call's outcome into the HTTP response, following the API's
// google.api.http rules. It works from the API's descriptors at run time
// (dynamicpb messages, protojson), with no generated code per API, and is
// built on grpc-gateway's runtime (runtime.ServeMux, its marshalers, error
// handling and response forwarding), so that it behaves like grpc-gateway's
// generated *.pb.gw.go handlers. The differential test runs both on the same
// requests and lists every place where they differ on purpose.
//
// [New] compiles the bindings once per deployment; the Transcoder is then
// immutable and safe for concurrent use. Calls go to the
// grpc.ClientConnInterface given to New: in the gateway an in-process
// connection into the data plane's own gRPC server, so that REST calls pass
// the same interceptors as gRPC calls.
//
// # Bindings
//
// Every google.api.http feature is supported: GET, POST, PUT, PATCH,
// DELETE and custom HTTP methods; ":verb" suffixes; path variables bound to
// nested fields ("{book.name}"), with multi-segment patterns
// ("{name=shelves/*/books/*}") and "**"; body "*" and body fields;
// response_body; additional_bindings. A method without a rule gets the
// default binding POST /pkg.Service/Method with the whole request as its
// JSON body. Client-streaming and bidirectional-streaming methods are
// served as grpc-gateway serves them (see "Client and bidirectional
// streaming"); a rule of theirs that grpc-gateway's generator refuses (a
// path variable, or a body or response_body naming no field) answers 501
// Not Implemented (code UNIMPLEMENTED) saying why, and is not listed by
// [Transcoder.Bindings].
//
// Requests are built as grpc-gateway builds them, in its order: the body,
// then the path variables (converted by the runtime's converters: enums by
// name or number, repeated fields split at ","), then the query string
// (nested fields "a.b", repeated fields by repeating the key, maps as
// "m[key]=value", enums by name or number, the well-known types in their
// JSON form, fields by proto or JSON name; unknown keys ignored; fields
// bound to the path or the body skipped). A PATCH whose body is a field
// gets its FieldMask field, if the request has exactly one and the client
// set none, from the fields present in the body (grpc-gateway's
// allow_patch_feature).
//
// # JSON
//
// Messages are marshaled with protojson's EmitUnpopulated (every field, so
// int64s as JSON strings, enums by name, unset messages as null) and
// decoded strictly: an unknown field is an error. google.protobuf.Any values
// (and error details) are resolved from the API's descriptors, falling back
// to the types linked into the gateway for the google.protobuf, google.rpc,
// google.api and google.type packages only. A google.api.HttpBody response
// is written raw with its own Content-Type (runtime.HTTPBodyMarshaler).
//
// Most calls skip the dynamic messages: for a message type whose fields are
// scalars, enums, messages, repeated fields, maps, Timestamp, Duration,
// the wrappers or Empty (proto3, no Any, Struct, Value or FieldMask
// anywhere below it), [New] compiles a plan that translates request JSON
// straight to the wire format (body "*" or a message body field; path
// variables that set non-zero scalars are appended in wire form) and the
// wire form of a unary response straight to JSON, bytes as protojson
// writes them (fastplan.go). The fast path gives up on anything it does
// not take exactly as protojson would (bad input, rare forms, a query
// string), and the dynamicpb path then handles the same bytes: results
// and error messages are the same either way (FuzzFastJSONRequest and
// FuzzFastJSONResponse compare them).
//
// # Server streaming
//
// The response of a server-streaming method is newline-delimited JSON by
// default, in grpc-gateway's form: one {"result": <message>} per line, and
// {"error": <google.rpc.Status>} as the last line if the call fails (an
// error before the first message also sets the HTTP status). A client whose
// Accept header lists text/event-stream gets Server-Sent Events instead:
// "data: <message JSON>\n\n" per message and, if the call fails,
// "event: error\ndata: <google.rpc.Status JSON>\n\n" (HttpBody streams are
// always written raw).
//
// # Client and bidirectional streaming
//
// The request body of a client-streaming or bidirectional method is a
// stream of JSON request messages, read as grpc-gateway's generated
// handlers read it (encoding/json's Decoder): one value after the other,
// separated by optional white space, usually one per line
// (newline-delimited JSON, application/x-ndjson or application/json). Each
// message is decoded as a unary body is and sent as soon as it is read;
// path variables, the query string and the rule's body field play no
// part. Each message is limited by [WithMaxBodyBytes] (413 above it), not
// the stream, and a stream holds at most the limit plus one read of the
// body in memory. A client-streaming call answers with its one response as
// a unary call does (trailers too). A bidirectional call streams its
// responses as a server-streaming call does, while the body still arrives:
// full duplex, on HTTP/1.1 as well as HTTP/2; an HTTP/1.1 response that
// starts before the body was read to its end closes the connection, and
// the handler stops reading the body before it returns. A message that
// cannot be decoded ends the call (the backend sees it cancelled) with
// INVALID_ARGUMENT: a 400 before the first response, an {"error": ...}
// line after.
//
// Newline-delimited streams are application/json, grpc-gateway's type, or
// application/x-ndjson for a client whose Accept header lists it.
//
// # Errors
//
// Errors are google.rpc.Status JSON bodies ({"code", "message",
// "details"}) with grpc-gateway's code → HTTP status mapping
// (runtime.HTTPStatusFromCode: INVALID_ARGUMENT 400, NOT_FOUND 404,
// UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503, ...),
// except for the errors the gateway raises about the backend itself
// (internal/gatewayerr): an unreachable or broken backend is 502 Bad
// Gateway and a route timeout 504 Gateway Timeout.
// Request problems are INVALID_ARGUMENT (400) naming the problem: malformed
// JSON, a value of the wrong type, an unknown field, a duplicate key,
// invalid UTF-8, nesting too deep, a path variable or query parameter that
// does not convert. Routing answers 404 for an unknown path and 405 for a
// known path with another method.
//
// # Headers
//
// Request headers reach the call's metadata as grpc-gateway forwards them
// (runtime.AnnotateContext with [IncomingHeaderMatcher], which the
// Transcoder reproduces with fewer allocations): Authorization as
// "authorization"; X-Api-Key, X-Request-Id, Traceparent, Tracestate and
// Baggage under their own names; the IANA permanent headers with the
// "grpcgateway-" prefix; x-forwarded-for and x-forwarded-host; Grpc-Timeout
// as the deadline. [WithOutgoingMetadata] and [WithRequestMetadata] add the
// gateway's own metadata, replacing any value of the same keys (the data
// plane replaces x-forwarded-* this way with the forwarding headers it
// asserts). Response headers come back
// as Grpc-Metadata-<key> (except the gateway's own x-request-id, x-tollgate-cache and
// x-tollgate-cache-control, under their own names), trailers as
// Grpc-Trailer-<key> to clients that send "TE: trailers". gRPC's own
// content-type and the retry-after entry of the throttle and quota are
// not forwarded (the gateway writes Retry-After itself).
//
// [WithHeaderMapping] changes both directions per API: request headers
// matching its patterns are forwarded under their own name, and response
// metadata can come back under its own name (internal/headermap says
// which names are never mapped).
//
// # Deliberate differences from grpc-gateway's generated handlers
//
//   - Unknown JSON fields are a 400 (grpc-gateway's default marshaler
//     discards them).
//   - A request body must be a single JSON value: trailing data after it is
//     a 400 (grpc-gateway ignores it).
//   - A request body with a Content-Type other than application/json or
//     */*+json (parameters allowed, none at all allowed) is a 415
//     Unsupported Media Type (grpc-gateway decodes any body as JSON).
//   - A body over the limit ([WithMaxBodyBytes], default 10 MiB) is a 413
//     Request Entity Too Large with code RESOURCE_EXHAUSTED, answered
//     without reading past the limit (at once for a Content-Length over
//     it); grpc-gateway has no limit.
//   - JSON nested deeper than 3,000 levels is a 400: the backend's wire
//     decoder could not take it (grpc-gateway sends it and the backend
//     fails with INTERNAL, a 500).
//   - A string path variable or query parameter that is not valid UTF-8 is
//     a 400 (grpc-gateway fails to marshal the request: a 500).
//   - A known path with another HTTP method is 405 Method Not Allowed
//     (grpc-gateway: 501, with the same status JSON, code UNIMPLEMENTED).
//   - Methods without a rule get the default binding; grpc-gateway's
//     generator, as configured here (generate_unbound_methods=false), binds
//     nothing.
//   - A request message of a bidirectional call that cannot be decoded
//     ends the call with INVALID_ARGUMENT; grpc-gateway only stops sending
//     (and answers 200 with what the backend sent). Each message of a
//     request stream is limited (413); grpc-gateway has no limit.
//   - Bidirectional calls are full duplex on HTTP/1.1: grpc-gateway's
//     handler lets net/http discard (or wait for) the unread request body
//     when the first response goes out, losing the messages after it.
//   - gRPC's content-type is not forwarded as Grpc-Metadata-Content-Type
//     (grpc-gateway forwards "application/grpc").
//   - application/x-ndjson streams on request.
//   - Server-Sent Events on request (grpc-gateway only streams
//     newline-delimited JSON).
//   - Binary ("-bin") response metadata is not forwarded: grpc-gateway
//     copies its raw bytes into HTTP headers and trailers, which breaks the
//     response (grpc-status-details-bin with "TE: trailers").
//   - A body field of a scalar, repeated or map type is decoded with
//     protojson's rules for the field, like every other JSON (grpc-gateway
//     decodes it with encoding/json, which for example refuses enum names
//     and quoted int64s there). Body fields of message type, the usual
//     case, are decoded the same way by both.
//   - Enum values in query parameters and nested path variables are looked
//     up in the API's descriptors (grpc-gateway looks them up in
//     protoregistry.GlobalTypes, which has none of a deployed API's enums).
//   - [New] rejects two bindings with the same HTTP method and path
//     template (with grpc-gateway the later one silently shadows the
//     other).
//
// Paths are matched as grpc-gateway's runtime.ServeMux matches them by
// default (UnescapingModeLegacy): against the decoded r.URL.Path, split at
// "/", so an encoded slash ("%2F") separates segments.
package transcode
