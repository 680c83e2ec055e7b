package callinfo

import (
	"context"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

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

// Call describes one call: the facts of its route, shared by every call of
// the route, and what this call adds — its request, set by the gateway when
// it routes the call, and the results of the policies, each written by the
// one interceptor that owns it. The order in which policies read each
// other's results is checked where the chain is built (the [Fact]s of
// package interceptors/chain). A call's interceptors and its proxy run one
// after the other, so Call needs no lock.
type Call struct {
	// RouteFacts are the facts of the call's route, compiled once per
	// deployment by routing and shared by the route's calls: read-only.
	// Its fields read as the call's own (c.Stage, c.RouteKey).
	*RouteFacts
	// Request is what the gateway learned of the request when it routed
	// the call.
	Request
	// AuthResult is the authorizer's results ([FactPrincipal],
	// [FactUsageIdentifierKey]).
	AuthResult

	// RequestID is the call's request ID, set by the request ID
	// interceptor (interceptors/requestid), for whoever writes the call's
	// error after the chain.
	RequestID string
	// APIKey is the caller's valid API key and its usage plan, set by the
	// API-key policy ([FactAPIKey]); nil without one.
	APIKey *APIKey
	// TraceMetadata is the trace context the backend call carries in place
	// of the client's (traceparent, tracestate, baggage), set by the
	// tracing interceptor on traced stages; an entry with no values removes
	// the client's entry of its key. Nil leaves the client's as they are.
	// Entries rather than a map: the interceptor keeps them in its own
	// allocation, and BackendMetadata copies them anyway.
	TraceMetadata []MetadataEntry
	// ResponseCache says whether the stage's response cache answered the
	// call (CacheUnused when the call was not cacheable); set by the cache.
	ResponseCache CacheOutcome
	// RequestBytes and ResponseBytes count the message bytes the client
	// sent and received (protobuf payloads for gRPC and REST calls, body
	// bytes for plain HTTP routes), set by the proxy once the call ends.
	RequestBytes, ResponseBytes int64
	// IntegrationLatency is how long the backend call took, set when it ends
	// (zero for calls refused before reaching the backend).
	IntegrationLatency time.Duration
	// NeedsMessages is set by a policy that reads, holds or replaces the
	// call's messages (request validation, the response cache): such a
	// call is relayed message by message, never frame by frame. It is per
	// call, not a route fact: route facts are shared by concurrent calls.
	NeedsMessages bool
}

// RouteFacts are what routing knows of a route of a deployed stage before
// any call: compiled once per deployment, shared read-only by every call
// of the route (no copy per call).
type RouteFacts struct {
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
	// without a route, its full method name.
	RouteKey string
	// GRPCResource is Resource() for a gRPC call, or "" to compute it per
	// call.
	GRPCResource string
	// ThrottleKey is the stage-level bucket of the call's route:
	// "{stage}|{RouteKey}".
	ThrottleKey string
	// Unary reports whether the method is unary (one request, one
	// response), from its descriptor; false when the gateway has none.
	Unary bool
	// NoSideEffects reports whether the method's descriptor marks it
	// idempotency_level = NO_SIDE_EFFECTS.
	NoSideEffects bool
	// RequestType is the request message type the call's messages are
	// validated against (interceptors/validate), or nil when its route
	// does not ask for validation.
	RequestType protoreflect.MessageDescriptor
	// IPPolicy is the IP policy of every level that applies to the call
	// (API, stage, route settings, route), or nil.
	IPPolicy ipacl.Policy
}

// Request is what the gateway learned of a call's request when it routed
// it, before any policy ran.
type Request struct {
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
	// Header holds the request headers of a REST call (transcoded or a
	// plain HTTP route) as the client sent them, after the gateway
	// replaced the forwarding headers; nil for gRPC and WebSocket calls,
	// whose headers are the call's incoming metadata. Read-only: it is the
	// HTTP request's own. Read headers with [Call.HeaderValues], which
	// knows where each protocol keeps them.
	Header http.Header
	// SourceIP is the client's address, without port.
	SourceIP string
	// UserAgent is the client's User-Agent (gRPC: its user-agent
	// metadata).
	UserAgent string
	// ConnectionID is the WebSocket connection of a WebSocket call.
	ConnectionID string
	// Forwarded holds the forwarding entries (x-forwarded-for,
	// x-forwarded-host, x-forwarded-proto, forwarded, x-real-ip) the
	// backend call carries in place of the client's, for calls whose
	// metadata the client wrote itself (gRPC); nil when the call's metadata
	// already holds the gateway's own (transcoded REST).
	Forwarded metadata.MD
	// ClientCert is the client certificate verified in the TLS handshake
	// (mutual TLS), or nil.
	ClientCert *ClientCert
	// Metadata is the call's incoming metadata (lowercase keys) as the
	// gateway routed it, the very map in the call's context, for gRPC
	// calls and unary REST calls: read through [Call.MetadataValues]
	// without the copy that each metadata.ValueFromIncomingContext makes.
	// Read-only. Nil when the gateway did not record it (streaming REST,
	// WebSocket): readers fall back on the context's.
	Metadata metadata.MD
}

// AuthResult is what the route's authorizer learned of the caller.
type AuthResult struct {
	// Principal is the caller's identity, once authorized.
	Principal string
	// UsageIdentifierKey is the API key value a custom authorizer chose
	// for the caller, for APIs whose key source is the authorizer.
	UsageIdentifierKey string
	// AuthorizerCache says whether a custom authorizer's decision came from
	// its cache.
	AuthorizerCache CacheOutcome
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
}

// APIKey is a resolved API key. Read-only: calls with the same key and
// plan may share one.
type APIKey struct {
	// Name is the key's resource name, "apiKeys/{key}"; never the secret.
	Name string
	// UsagePlan is the resource name of the usage plan covering the call's stage.
	UsagePlan string
	// Plan is that usage plan, with its throttle and quota.
	Plan *adminv1.UsagePlan
	// CustomerID is the key's customer ID.
	CustomerID string
	// PlanBucket is PlanBucket(Name, UsagePlan), made once for the key and
	// plan rather than on every call; empty when not made.
	PlanBucket string
}

// PlanBucketPrefix starts the names of the usage-plan levels' token
// buckets (see interceptors/throttle/levels).
const PlanBucketPrefix = "plan|"

// PlanBucket names the token bucket of a usage plan's throttle for one API
// key (resource names of both).
func PlanBucket(key, plan string) string { return PlanBucketPrefix + key + "|" + plan }

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

// StripInternal removes the gateway's own entries (IsInternal) from an
// HTTP header or gRPC metadata map: what a client sent under those names
// reaches no backend, authorizer or integration. It is the one place the
// rule is applied to what leaves the gateway: the gRPC proxy's outgoing
// metadata (gRPC, REST and web-client calls), the HTTP proxy's headers
// (plain HTTP routes), and the request headers of WebSocket $connect
// integrations and REQUEST authorizers. Nothing the gateway reads of a
// call is taken from such an entry either: the gateway's facts about a
// call travel in its [Call], in the context.
func StripInternal[M ~map[string][]string](m M) {
	for k := range m {
		if IsInternal(k) {
			delete(m, k)
		}
	}
}

// HeaderValues returns the values of a request header of the call (any
// case): from Header for a REST call, else from the incoming metadata,
// where gRPC and WebSocket calls have their headers under lowercase names.
// Read-only.
func (c *Call) HeaderValues(ctx context.Context, name string) []string {
	if c.Protocol == REST {
		return c.Header.Values(name)
	}
	return c.MetadataValues(ctx, strings.ToLower(name))
}

// MetadataValues returns the values of a lowercase key of the call's
// incoming metadata: from Metadata when the gateway recorded it (no copy,
// no scan of the whole map for a key the client did not send), else from
// ctx's. Read-only. It is safe on a nil Call.
func (c *Call) MetadataValues(ctx context.Context, key string) []string {
	if c != nil && c.Metadata != nil {
		return c.Metadata[key]
	}
	return metadata.ValueFromIncomingContext(ctx, key)
}

// Fact names a part of the call record that one policy writes and others
// read, so that the chain can be checked for an order that honours it
// (see package interceptors/chain).
type Fact string

// The facts policies hand on through the call record.
const (
	// FactPrincipal is Call.AuthResult (the principal, the authorizer's
	// context and claims, the cache-invalidation permission): the caller's
	// identity once authorized.
	FactPrincipal Fact = "principal"
	// FactUsageIdentifierKey is Call.AuthResult.UsageIdentifierKey: the API
	// key value a custom authorizer chose.
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
var contextKeyPattern = lazyregexp.New(`^[a-z0-9_.-]{1,64}$`)

// BackendMetadata returns what the gateway asserts to the backend — the
// principal, a custom authorizer's context, the trace context, the
// forwarding entries, and extra, pairs of a key and its value (the request
// ID), a pair with an empty value left out — to replace
// the client's entries of the same keys after the client's own x-tollgate-*
// entries were removed. Context keys that cannot be metadata keys are left
// out. It returns nil when there is nothing to add, so calls without an
// authorizer or tracing allocate nothing.
func (c *Call) BackendMetadata(extra ...string) metadata.MD {
	n := 0 // single values
	for i := 1; i < len(extra); i += 2 {
		if extra[i] != "" {
			n++
		}
	}
	if c.Principal == "" && len(c.AuthorizerContext) == 0 && c.TraceMetadata == nil && c.Forwarded == nil && c.ClientCert == nil && n == 0 {
		return nil
	}
	var cert []string
	if c.ClientCert != nil {
		cert = c.ClientCert.Pairs()
		n += len(cert) / 2
	}
	if c.Principal != "" {
		n++
	}
	// The single values share one backing array (each entry capped, so an
	// append copies): one allocation, not one per entry. A map that grows
	// past its hint allocates again.
	vals := make([]string, 0, n)
	md := make(metadata.MD, n+len(c.AuthorizerContext)+len(c.TraceMetadata)+len(c.Forwarded))
	one := func(k, v string) {
		vals = append(vals, v)
		md[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	for i := 0; i+1 < len(cert); i += 2 {
		one(cert[i], cert[i+1])
	}
	for _, e := range c.TraceMetadata {
		md[e.Key] = e.Values
	}
	for k, vs := range c.Forwarded {
		md[k] = vs
	}
	if c.Principal != "" {
		one(PrincipalMetadataKey, c.Principal)
	}
	for k, v := range c.AuthorizerContext {
		k = strings.ToLower(k)
		if contextKeyPattern.MatchString(k) && !strings.HasSuffix(k, "-bin") {
			md[ContextMetadataPrefix+k] = append(md[ContextMetadataPrefix+k], v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			one(extra[i], extra[i+1])
		}
	}
	return md
}

// MetadataEntry is one metadata key, lowercase, and its values.
type MetadataEntry struct {
	Key    string
	Values []string
}

// BackendParts returns the entries of BackendMetadata(extra...) without
// merging them into a map, for a relay that writes them out directly: the
// forwarding entries' map as it is, the trace context's entries that
// remove the client's (no values) in a map of their own, made only for
// them (a key without values removes the client's entries and adds
// none), and the single values (the trace context's, the client
// certificate's, the principal, the authorizer's context, extra's pairs
// with a value) appended to pairs, keys and values alternately. A key of
// pairs replaces a map's entries of that key, and the second map's the
// first's. The sources' keys are the gateway's own and do not overlap, so
// both forms send the same entries; this one allocates nothing but what
// pairs grows by, and the removals' map when there are any.
func (c *Call) BackendParts(pairs []string, extra ...string) (maps [2]metadata.MD, _ []string) {
	maps[1] = c.Forwarded
	for _, e := range c.TraceMetadata {
		if len(e.Values) == 0 {
			// A removal has no pair: a map, only when the client sent
			// an entry the gateway's trace context must remove.
			if maps[0] == nil {
				maps[0] = metadata.MD{}
			}
			maps[0][e.Key] = nil
			continue
		}
		for _, v := range e.Values {
			pairs = append(pairs, e.Key, v)
		}
	}
	if c.ClientCert != nil {
		pairs = append(pairs, c.ClientCert.Pairs()...)
	}
	if c.Principal != "" {
		pairs = append(pairs, PrincipalMetadataKey, c.Principal)
	}
	for k, v := range c.AuthorizerContext {
		k = strings.ToLower(k)
		if contextKeyPattern.MatchString(k) && !strings.HasSuffix(k, "-bin") {
			pairs = append(pairs, ContextMetadataPrefix+k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] != "" {
			pairs = append(pairs, extra[i], extra[i+1])
		}
	}
	return maps, pairs
}

// GetRouteAuthorization returns the route's authorization, or nil; it is
// safe on a nil Call and on one without route facts.
func (c *Call) GetRouteAuthorization() *adminv1.RouteAuthorization {
	if c == nil || c.RouteFacts == nil {
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

// Context is a context carrying a call record and one more value of the
// caller's (the call's route, for package routing) in one node, which the
// caller can allocate with the rest of a call's state: NewContext and a
// context.WithValue would allocate two. Its zero value is not usable: Init
// it. It answers Value for its two keys and passes every other question
// (deadline, cancellation, values) to its parent.
type Context struct {
	context.Context
	call     *Call
	key, val any
}

// Init makes c carry parent's values, call (as NewContext) and val under
// key (as context.WithValue), and returns c. key must be comparable and
// should not be a built-in type, as for context.WithValue.
func (c *Context) Init(parent context.Context, call *Call, key, val any) context.Context {
	c.Context, c.call, c.key, c.val = parent, call, key, val
	return c
}

// Value returns the call record, the value under the key given to Init,
// or the parent's value for key.
func (c *Context) Value(key any) any {
	switch key {
	case any(ctxKey{}):
		return c.call
	case c.key:
		return c.val
	}
	return c.Context.Value(key)
}
