// Package validate refuses calls whose request messages break the rules
// of the API's own descriptors, before the backend is called: the
// buf.validate rules (protovalidate, which evaluates them on dynamic
// messages built from the uploaded descriptors) and the
// google.api.field_behavior REQUIRED annotations.
//
// Only calls whose route asks for it are decoded (callinfo.Call.RequestType
// is set by the routing step from the route's validate_request or the
// API's validate_requests): the gRPC proxy forwards raw frames, and the
// interceptor decodes a copy of each request message with dynamicpb. A
// call's first message is read and checked before the rest of the chain
// runs when the client sends only one (unary and server-streaming
// methods), so a refused call never reaches the backend; the messages of
// client-streaming calls are checked as they pass.
//
// A refusal is INVALID_ARGUMENT (HTTP 400) with a google.rpc.BadRequest
// listing every violated field (its JSON-style path and the rule's
// message) and a google.rpc.ErrorInfo whose reason is REQUEST_INVALID.
// The interceptor belongs after authorization, so that unauthenticated
// callers learn nothing of the API's rules.
package validate
