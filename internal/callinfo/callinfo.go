// Package callinfo carries what the data plane knows about one call from the
// routing step to the policy interceptors (authorization, throttling,
// metering) and to the proxy, so that policies never depend on the gateway's
// internals and never differ by protocol.
package callinfo

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
)

// HeaderMetadataPrefix starts the metadata entries through which the data
// plane hands a transcoded REST call's HTTP headers to the policy
// interceptors: "x-tollgate-header-" + the lowercase header name. The
// gateway sets them only on its own in-process calls, and the proxy removes
// every x-tollgate-* entry before a backend call.
const HeaderMetadataPrefix = "x-tollgate-header-"

// Protocol is how the client called.
type Protocol int

const (
	// GRPC is a gRPC call.
	GRPC Protocol = iota + 1
	// REST is a REST/JSON call transcoded onto gRPC.
	REST
	// WebSocket is a WebSocket upgrade ($connect) or one message of a
	// WebSocket connection. Its headers are metadata entries under their
	// own lowercase names, as for gRPC; Resource() is
	// "{api}/{stage}/{route key}".
	WebSocket
)

// String returns "grpc", "rest" or "websocket".
func (p Protocol) String() string {
	switch p {
	case GRPC:
		return "grpc"
	case REST:
		return "rest"
	case WebSocket:
		return "websocket"
	}
	return "unknown"
}

// Call describes one call. The routing step creates it; policy interceptors
// read it and fill in what they learn (the API key, the principal). A call's
// interceptors and its proxy run one after the other, so Call needs no lock.
type Call struct {
	// API is the API's resource name, e.g. "apis/shop".
	API string
	// Stage is the stage's resource name, e.g. "apis/shop/stages/prod".
	Stage string
	// Deployment is the deployment's resource name.
	Deployment string
	// Route is the matched route, or nil for a method served by the API's
	// default integration.
	Route *adminv1.Route
	// Authorizers are the deployment's authorizers by resource name.
	Authorizers map[string]*adminv1.Authorizer
	// APIKeySource says where the API key is read from.
	APIKeySource adminv1.Api_ApiKeySource
	// StageVariables are the stage's variables.
	StageVariables map[string]string
	// StageConfig is the stage's configuration: throttling, route settings.
	StageConfig *adminv1.Stage
	// RouteKey identifies what the call targets within its stage for
	// per-route settings and buckets: the route's ID, or for a method
	// without a route, its full method name. Computed once per deployment.
	RouteKey string
	// GRPCResource is Resource() for a gRPC call, computed once per
	// deployment, or "" to compute it per call.
	GRPCResource string
	// ThrottleKey is the stage-level bucket of the call's route:
	// "{stage}|{RouteKey}". Computed once per deployment.
	ThrottleKey string
	// Unary reports whether the method is unary (one request, one
	// response), from its descriptor; false when the gateway has none.
	// Computed once per deployment.
	Unary bool
	// NoSideEffects reports whether the method's descriptor marks it
	// idempotency_level = NO_SIDE_EFFECTS. Computed once per deployment.
	NoSideEffects bool
	// RequestType is the request message type the call's messages are
	// validated against (interceptors/validate), or nil when its route
	// does not ask for validation. Computed once per deployment.
	RequestType protoreflect.MessageDescriptor
	// NeedsMessages is set by a policy that reads, holds or replaces the
	// call's messages (request validation, the response cache): such a
	// call is relayed message by message, never frame by frame.
	NeedsMessages bool
	// IPPolicy is the IP policy of every level that applies to the call
	// (API, stage, route settings, route), or nil. Compiled once per
	// deployment; read-only, shared by the calls of the route.
	IPPolicy ipacl.Policy
	// Protocol is how the client called.
	Protocol Protocol
	// FullMethod is the gRPC method, "/pkg.Service/Method".
	FullMethod string
	// HTTPMethod, HTTPPath and RawQuery describe a REST call: the client's
	// method, the path relative to the stage, and the query string.
	// HTTPPath is in its one canonical form (internal/reqpath: decoded
	// once, dot-segments refused, only "%25" and an allowed "%2F" kept
	// encoded), for plain HTTP and transcoded routes alike, so that
	// Resource(), authorizers and cache keys see what the backend will.
	HTTPMethod, HTTPPath, RawQuery string
	// SourceIP is the client's address, without port.
	SourceIP string
	// UserAgent is the client's User-Agent (gRPC: its user-agent
	// metadata).
	UserAgent string
	// RequestID is the call's request ID.
	RequestID string
	// ConnectionID is the WebSocket connection of a WebSocket call.
	ConnectionID string

	// UsageIdentifierKey is the API key value a custom authorizer chose
	// for the caller, for APIs whose key source is the authorizer.
	UsageIdentifierKey string
	// APIKey is the caller's API key, once resolved.
	APIKey *APIKey
	// Principal is the caller's identity, once authorized.
	Principal string
	// RequestBytes and ResponseBytes count the message bytes the client
	// sent and received (protobuf payloads for gRPC and REST calls, body
	// bytes for plain HTTP routes).
	RequestBytes, ResponseBytes int64
	// AuthorizerCache says whether a custom authorizer's decision came from
	// its cache.
	AuthorizerCache CacheOutcome
	// IntegrationLatency is how long the backend call took, set when it ends
	// (zero for calls refused before reaching the backend).
	IntegrationLatency time.Duration
	// AuthorizerContext is the context a custom authorizer returned for an
	// allowed call. Read-only: it may be shared with the policy cache.
	AuthorizerContext map[string]string
	// Claims are the verified claims of the caller's JWT, as decoded, set
	// by a JWT authorizer. Read-only: shared with the verifier.
	Claims map[string]any
	// IdentitySourceValues are the values of a custom authorizer's
	// identity sources for the call, in the configured order. Read-only.
	IdentitySourceValues []string
	// MayInvalidateCache reports whether the route's custom authorizer
	// allowed the caller to refresh the call's cached response
	// (execute-api:InvalidateCache).
	MayInvalidateCache bool
	// TraceMetadata is the trace context the backend call carries in place
	// of the client's (traceparent, tracestate, baggage), set by the
	// tracing interceptor on traced stages; a key with no values removes
	// the client's entry. Nil leaves the client's as they are.
	TraceMetadata metadata.MD
	// Forwarded holds the forwarding entries (x-forwarded-for,
	// x-forwarded-host, x-forwarded-proto, forwarded, x-real-ip) the
	// backend call carries in place of the client's, for calls whose
	// metadata the client wrote itself (gRPC); nil when the call's metadata
	// already holds the gateway's own (transcoded REST).
	Forwarded metadata.MD
	// ResponseCache says whether the stage's response cache answered the
	// call (CacheUnused when the call was not cacheable).
	ResponseCache CacheOutcome
	// ClientCert is the client certificate verified in the TLS handshake
	// (mutual TLS), or nil.
	ClientCert *ClientCert
}

// APIKey is a resolved API key.
type APIKey struct {
	// Name is the key's resource name, "apiKeys/{key}"; never the secret.
	Name string
	// UsagePlan is the resource name of the usage plan covering the call's stage.
	UsagePlan string
	// Plan is that usage plan, with its throttle and quota.
	Plan *adminv1.UsagePlan
	// CustomerID is the key's customer ID.
	CustomerID string
}

// InternalPrefix starts every metadata key and HTTP header the gateway
// asserts itself (the caller's identity, its own request details): a
// client's entries with this prefix are never believed, and are removed by
// [IsInternal]'s users before anything is sent on.
const InternalPrefix = "x-tollgate-"

// IsInternal reports whether a metadata key or HTTP header name (any case)
// is the gateway's own: the one rule, for every protocol, of what a client
// may not send on.
func IsInternal(key string) bool {
	return len(key) >= len(InternalPrefix) && strings.EqualFold(key[:len(InternalPrefix)], InternalPrefix)
}

// StripInternal removes the gateway's own headers (IsInternal) from h: what
// a client sent under those names reaches no backend.
func StripInternal(h http.Header) {
	for k := range h {
		if IsInternal(k) {
			delete(h, k)
		}
	}
}

// Fact names a part of the call record that one policy writes and others
// read, so that the chain can be checked for an order that honours it
// (see package interceptors/chain).
type Fact string

// The facts policies hand on through the call record.
const (
	// FactPrincipal is Call.Principal and Call.AuthorizerContext: the
	// caller's identity once authorized.
	FactPrincipal Fact = "principal"
	// FactUsageIdentifierKey is Call.UsageIdentifierKey: the API key value
	// a custom authorizer chose.
	FactUsageIdentifierKey Fact = "usage identifier key"
	// FactAPIKey is Call.APIKey: the caller's valid API key and its usage
	// plan.
	FactAPIKey Fact = "API key"
)

// Metadata entries the gateway sends to backends about the caller.
const (
	// PrincipalMetadataKey carries the authorized caller's identity.
	PrincipalMetadataKey = "x-tollgate-principal"
	// ContextMetadataPrefix starts the entries of a custom authorizer's context.
	ContextMetadataPrefix = "x-tollgate-ctx-"
)

// contextKeyPattern is what a context key may be in a metadata key.
var contextKeyPattern = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// BackendMetadata returns what the gateway asserts to the backend — the
// principal, a custom authorizer's context, the trace context, the
// forwarding entries — to replace
// the client's entries of the same keys after the client's own x-tollgate-*
// entries were removed. Context keys that cannot be metadata keys are left
// out. It returns nil when there is nothing to add, so calls without an
// authorizer or tracing allocate nothing.
func (c *Call) BackendMetadata() metadata.MD {
	if c.Principal == "" && len(c.AuthorizerContext) == 0 && c.TraceMetadata == nil && c.Forwarded == nil && c.ClientCert == nil {
		return nil
	}
	md := make(metadata.MD, 1+len(c.AuthorizerContext)+len(c.TraceMetadata)+len(c.Forwarded))
	if c.ClientCert != nil {
		p := c.ClientCert.Pairs()
		for i := 0; i < len(p); i += 2 {
			md[p[i]] = []string{p[i+1]}
		}
	}
	for k, vs := range c.TraceMetadata {
		md[k] = vs
	}
	for k, vs := range c.Forwarded {
		md[k] = vs
	}
	if c.Principal != "" {
		md[PrincipalMetadataKey] = []string{c.Principal}
	}
	for k, v := range c.AuthorizerContext {
		k = strings.ToLower(k)
		if contextKeyPattern.MatchString(k) && !strings.HasSuffix(k, "-bin") {
			md[ContextMetadataPrefix+k] = append(md[ContextMetadataPrefix+k], v)
		}
	}
	return md
}

// GetRouteAuthorization returns the route's authorization, or nil; it is
// safe on a nil Call.
func (c *Call) GetRouteAuthorization() *adminv1.RouteAuthorization {
	if c == nil {
		return nil
	}
	return c.Route.GetAuthorization()
}

// CacheOutcome is whether a cached answer served a call.
type CacheOutcome int

const (
	// CacheUnused means no cache was involved.
	CacheUnused CacheOutcome = iota
	// CacheHit means a cached answer was used.
	CacheHit
	// CacheMiss means the cache had no answer and the source was asked.
	CacheMiss
)

// Resource returns the call as the resource string of authorizer policies:
// "{api}/{stage}/{HTTP verb}/{path}" for REST, "{api}/{stage}/GRPC/{full
// method}" for gRPC, with IDs rather than resource names.
func (c *Call) Resource() string {
	if c.Protocol != REST && c.GRPCResource != "" {
		return c.GRPCResource
	}
	api, stage := lastSegment(c.API), lastSegment(c.Stage)
	if c.Protocol == REST {
		return api + "/" + stage + "/" + c.HTTPMethod + c.HTTPPath
	}
	return api + "/" + stage + "/GRPC" + c.FullMethod
}

// lastSegment returns the ID at the end of a resource name.
func lastSegment(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the call, or nil outside the data plane.
func FromContext(ctx context.Context) *Call {
	c, _ := ctx.Value(ctxKey{}).(*Call)
	return c
}
