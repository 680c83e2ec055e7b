package authorizer

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/interceptors/tracing"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/customauth"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/jwtauth"
	"github.com/tollgate-gw/tollgate/internal/netguard"
)

// Metadata entries the gateway sends to backends about the caller (see
// callinfo.Call.BackendMetadata).
const (
	// PrincipalMetadataKey carries the authorized caller's identity.
	PrincipalMetadataKey = callinfo.PrincipalMetadataKey
	// ContextMetadataPrefix starts the entries of a custom authorizer's context.
	ContextMetadataPrefix = callinfo.ContextMetadataPrefix
)

// ErrorInfo reasons of the calls an authorizer refuses or cannot decide.
const (
	// ReasonUnauthorized: the caller's identity is missing or invalid
	// (401 Unauthorized).
	ReasonUnauthorized = "UNAUTHORIZED"
	// ReasonDenied: the authorizer decided the caller may not call the
	// route (403 Forbidden).
	ReasonDenied = "AUTHORIZER_DENIED"
	// ReasonFailure: the authorizer failed, timed out or is misconfigured
	// (500, 504).
	ReasonFailure = "AUTHORIZER_FAILURE"
)

// Statuses of refused calls: the same words AWS uses, nothing more, and a
// reason.
var (
	errUnauthorized = gatewayerr.New(codes.Unauthenticated, ReasonUnauthorized, "Unauthorized")
	errForbidden    = gatewayerr.New(codes.PermissionDenied, ReasonDenied, "Forbidden")
)

// Option configures an Interceptor.
type Option func(*Interceptor)

// WithLogger sets the logger: refusals are logged at debug level with
// their reason, authorizer failures at error level. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(i *Interceptor) {
		if l != nil {
			i.logger = l
		}
	}
}

// WithHTTPClient sets the client for JWKS downloads and HTTP authorizer
// callouts. The default has a 10 s timeout and, unless
// WithLinkLocalTargets allows them, refuses to connect to link-local and
// cloud metadata addresses.
func WithHTTPClient(c *http.Client) Option {
	return func(i *Interceptor) {
		if c != nil {
			i.httpClient = c
		}
	}
}

// WithLinkLocalTargets lets authorizer callouts and JWKS downloads (with
// the default HTTP client) connect to link-local and cloud metadata
// addresses (see internal/netguard). By default they are refused after
// name resolution, and the call fails as with an unreachable authorizer.
func WithLinkLocalTargets(allow bool) Option {
	return func(i *Interceptor) { i.allowLinkLocal = allow }
}

// Interceptor enforces authorizers. It builds one JWT verifier or custom
// authorizer per configured authorizer version, lazily, and keeps them (with
// their key and policy caches) while the configuration is unchanged.
type Interceptor struct {
	logger         *slog.Logger
	httpClient     *http.Client
	allowLinkLocal bool

	mu     sync.Mutex
	jwt    map[string]*jwtauth.Verifier // by authorizer uid + etag
	custom map[customKey]*customEntry   // by stage, authorizer version and target
	conns  map[string]*grpc.ClientConn  // gRPC callout targets
	// fast maps a compiled stage's authorizer message to its entries, one
	// per stage (in case two stages share the message), sparing the hot
	// path the version and generation strings and the lock: calls on
	// every stage read it at once. Keyed by the pointer alone, which
	// hashes faster than a struct. Written under mu; bounded: cleared
	// when fastLen reaches fastMax.
	fast    sync.Map // *adminv1.Authorizer → []*customEntry
	fastLen int      // entries stored in fast since it was last cleared; guarded by mu
	// jwtFast maps a compiled stage's JWT authorizer message to its
	// verifier, as fast does for custom authorizers (cleared with it).
	jwtFast sync.Map // *adminv1.Authorizer → *jwtEntry
	// headerKeys and restHeaderKeys cache the metadata key of each header
	// identity source for gRPC calls, and its http.Header key for REST
	// calls, so the hot path neither lower-cases nor canonicalizes.
	// Bounded by the identity sources ever configured.
	headerKeys, restHeaderKeys sync.Map // source → string
}

// fastMax bounds the pointer cache of custom authorizers.
const fastMax = 4096

// customKey identifies one policy cache: the caches of two stages are
// never shared, so one stage's can be flushed alone.
type customKey struct {
	stage   string // stage resource name
	version string // authorizer uid + etag
	target  string // resolved callout target
}

// customEntry is a custom authorizer with its compiled token pattern.
type customEntry struct {
	authorizer *customauth.Authorizer
	pattern    *regexp.Regexp // nil: no identity_validation_expression
	generation string         // deployment and authorizer version, for cache keys
	name       string         // authorizer resource name
	stage      string         // stage resource name
	target     string         // resolved callout target
	// keys are the metadata and http.Header keys of the identity
	// sources, in their order ("" for other sources), so that a call
	// finds them without a lookup.
	keys []headerKeys
}

// headerKeys are the keys of a "$request.header.NAME" identity source in
// the metadata of a gRPC or WebSocket call and in the http.Header of a
// REST call.
type headerKeys struct{ md, rest string }

// jwtEntry is a JWT authorizer's verifier with what a call needs to find
// its token.
type jwtEntry struct {
	verifier *jwtauth.Verifier
	source   string     // the identity source of the token
	keys     headerKeys // the source's header keys, if a header
	bearer   bool       // the source is the Authorization header
}

// Provides is what the authorizer policy writes into the call record for
// the policies after it (see interceptors/chain): the principal and
// context, and the API key a custom authorizer chose.
var Provides = []callinfo.Fact{callinfo.FactPrincipal, callinfo.FactUsageIdentifierKey}

// New returns an Interceptor. Close it to release callout connections.
func New(opts ...Option) *Interceptor {
	i := &Interceptor{
		logger: slog.New(slog.DiscardHandler),
		jwt:    map[string]*jwtauth.Verifier{},
		custom: map[customKey]*customEntry{},
		conns:  map[string]*grpc.ClientConn{},
	}
	for _, o := range opts {
		o(i)
	}
	if i.httpClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if !i.allowLinkLocal {
			tr.DialContext = netguard.Dialer(10*time.Second, 30*time.Second).DialContext
		}
		i.httpClient = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	return i
}

// Close releases the connections to gRPC authorizers.
func (i *Interceptor) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	var errs []error
	for _, c := range i.conns {
		errs = append(errs, c.Close())
	}
	i.conns = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

// StreamServerInterceptor enforces the authorizer of calls whose route has
// authorization type TYPE_AUTHORIZER; other calls pass untouched.
func (i *Interceptor) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		call := callinfo.FromContext(ss.Context())
		auth := call.GetRouteAuthorization()
		if call == nil || auth.GetType() != adminv1.RouteAuthorization_TYPE_AUTHORIZER {
			return handler(srv, ss)
		}
		if err := i.authorize(ss.Context(), call, auth); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// authorize runs the route's authorizer for one call.
func (i *Interceptor) authorize(ctx context.Context, call *callinfo.Call, auth *adminv1.RouteAuthorization) error {
	if trace.SpanFromContext(ctx).IsRecording() {
		var span trace.Span
		ctx, span = tracing.StartChild(ctx, "authorizer "+auth.GetAuthorizer())
		defer span.End()
	}
	a := call.Authorizers[auth.GetAuthorizer()]
	if a == nil {
		i.logger.ErrorContext(ctx, "route names an authorizer its deployment lacks", "route", call.Route.GetName(), "authorizer", auth.GetAuthorizer())
		return gatewayerr.New(codes.Internal, ReasonFailure, "the route's authorizer is not deployed")
	}
	switch {
	case a.GetJwt() != nil:
		return i.authorizeJWT(ctx, call, a, auth.GetScopes())
	case a.GetCustom() != nil:
		return i.authorizeCustom(ctx, call, a)
	}
	return gatewayerr.New(codes.Internal, ReasonFailure, "the route's authorizer has no type")
}

// version identifies one configuration of an authorizer.
func version(a *adminv1.Authorizer) string { return a.GetUid() + ":" + a.GetEtag() }

// authorizeJWT verifies the bearer token of a call.
func (i *Interceptor) authorizeJWT(ctx context.Context, call *callinfo.Call, a *adminv1.Authorizer, scopes []string) error {
	e, err := i.verifier(a)
	if err != nil {
		i.logger.ErrorContext(ctx, "JWT authorizer cannot be built", "authorizer", a.GetName(), "error", err)
		return gatewayerr.New(codes.Internal, ReasonFailure, "the route's authorizer is misconfigured")
	}
	token, err := i.identity(ctx, call, e.source, e.keys)
	if err != nil {
		i.logger.DebugContext(ctx, "unauthorized", "authorizer", a.GetName(), "reason", err)
		return errUnauthorized
	}
	if e.bearer {
		token = jwtauth.BearerToken(token)
	}
	if token == "" {
		return errUnauthorized
	}
	v := e.verifier
	claims, err := v.Verify(ctx, token)
	if err != nil {
		i.logger.DebugContext(ctx, "unauthorized", "authorizer", a.GetName(), "reason", err)
		return errUnauthorized
	}
	if !jwtauth.HasScope(claims, scopes) {
		return errForbidden
	}
	call.Principal = claims.Subject
	call.Claims = claims.Raw
	return nil
}

// verifier returns the verifier of an authorizer version, building it once.
func (i *Interceptor) verifier(a *adminv1.Authorizer) (*jwtEntry, error) {
	if e, ok := i.jwtFast.Load(a); ok {
		return e.(*jwtEntry), nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	j := a.GetJwt()
	v, ok := i.jwt[version(a)]
	if !ok {
		cfg := jwtauth.Config{
			Issuer:     j.GetIssuer(),
			Audiences:  j.GetAudiences(),
			JWKSURI:    j.GetJwksUri(),
			InlineJWKS: []byte(j.GetInlineJwks()),
			Leeway:     j.GetLeeway().AsDuration(),
		}
		if j.GetInlineJwks() == "" {
			cfg.InlineJWKS = nil
		}
		var err error
		if v, err = jwtauth.New(cfg, jwtauth.WithHTTPClient(i.httpClient), jwtauth.WithLogger(i.logger)); err != nil {
			return nil, err
		}
		i.jwt[version(a)] = v
	}
	e := &jwtEntry{verifier: v, source: "$request.header.Authorization"}
	if sources := j.GetIdentitySources(); len(sources) > 0 {
		e.source = sources[0]
	}
	e.bearer = strings.EqualFold(e.source, "$request.header.Authorization")
	if strings.HasPrefix(e.source, "$request.header.") {
		e.keys = headerKeys{md: i.headerKey(e.source, false), rest: i.headerKey(e.source, true)}
	}
	i.storeFast(a, e)
	return e, nil
}

// storeFast adds a JWT entry to jwtFast, or a custom entry to fast,
// clearing both when they hold fastMax entries. Call with i.mu held.
func (i *Interceptor) storeFast(a *adminv1.Authorizer, v any) {
	if i.fastLen >= fastMax {
		i.clearFast()
	}
	i.fastLen++
	e, ok := v.(*customEntry)
	if !ok {
		i.jwtFast.Store(a, v)
		return
	}
	var entries []*customEntry
	if old, ok := i.fast.Load(a); ok {
		entries = old.([]*customEntry)
	}
	// A new slice: readers hold the old one.
	i.fast.Store(a, append(slices.Clip(entries), e))
}

// fastEntry returns the entry of a custom authorizer message on a stage
// from fast.
func (i *Interceptor) fastEntry(a *adminv1.Authorizer, stage string) (*customEntry, bool) {
	v, ok := i.fast.Load(a)
	if !ok {
		return nil, false
	}
	for _, e := range v.([]*customEntry) {
		if e.stage == stage {
			return e, true
		}
	}
	return nil, false
}

// clearFast empties the pointer caches. Call with i.mu held.
func (i *Interceptor) clearFast() {
	i.fast.Clear()
	i.jwtFast.Clear()
	i.fastLen = 0
}

// authorizeCustom asks a custom authorizer (or its cache) about a call.
func (i *Interceptor) authorizeCustom(ctx context.Context, call *callinfo.Call, a *adminv1.Authorizer) error {
	c := a.GetCustom()
	entry, err := i.customAuthorizer(call, a)
	if err != nil {
		i.logger.ErrorContext(ctx, "custom authorizer cannot be built", "authorizer", a.GetName(), "error", err)
		return gatewayerr.New(codes.Internal, ReasonFailure, "the route's authorizer is misconfigured")
	}
	srcs := c.GetIdentitySources()
	values := make([]string, len(srcs))
	for n, src := range srcs {
		var keys headerKeys
		if len(entry.keys) == len(srcs) {
			keys = entry.keys[n]
		}
		v, err := i.identity(ctx, call, src, keys)
		if err != nil {
			i.logger.DebugContext(ctx, "unauthorized", "authorizer", a.GetName(), "reason", err)
			return errUnauthorized
		}
		values[n] = v
	}
	resource := call.Resource()
	typ := datav1.AuthorizeRequest_TYPE_REQUEST
	if c.GetType() == adminv1.CustomAuthorizer_TYPE_TOKEN {
		typ = datav1.AuthorizeRequest_TYPE_TOKEN
		if entry.pattern != nil && !entry.pattern.MatchString(values[0]) {
			return errUnauthorized
		}
	}
	sources := c.GetIdentitySources()
	if call.Protocol == callinfo.WebSocket && len(sources) > 0 {
		// A browser sends its cookies whichever page opens the
		// connection: an answer given for one Origin is not reused for
		// another. (A REQUEST authorizer sees Origin among the headers.)
		sources = append(slices.Clip(sources), originSource)
		values = append(values, strings.Join(metadata.ValueFromIncomingContext(ctx, "origin"), ", "))
	}
	r := customauth.Request{
		AuthorizerName:  a.GetName(),
		Stage:           call.Stage,
		Target:          entry.target,
		Generation:      entry.generation,
		Type:            typ,
		IdentitySources: sources,
		IdentityValues:  values,
		MethodResource:  resource,
	}
	// A cache hit needs neither the authorizer's request message nor
	// the headers it copies: they are built for a miss only.
	d, ok := entry.authorizer.Cached(&r)
	if !ok {
		r.Proto = &datav1.AuthorizeRequest{
			Type:           typ,
			MethodResource: resource,
			Api:            lastSegment(call.API),
			Stage:          lastSegment(call.Stage),
			Deployment:     lastSegment(call.Deployment),
		}
		if typ == datav1.AuthorizeRequest_TYPE_TOKEN {
			r.Proto.AuthorizationToken = values[0]
		} else {
			fillRequest(ctx, call, r.Proto)
		}
		d, err = entry.authorizer.Decide(ctx, r)
	}
	switch {
	case errors.Is(err, customauth.ErrAuthorizerTimeout):
		i.logger.ErrorContext(ctx, "custom authorizer timed out", "authorizer", a.GetName(), "error", err)
		return gatewayerr.New(codes.DeadlineExceeded, ReasonFailure, "the authorizer did not answer in time")
	case err != nil:
		i.logger.ErrorContext(ctx, "custom authorizer failed", "authorizer", a.GetName(), "error", err)
		return gatewayerr.New(codes.Internal, ReasonFailure, "the authorizer failed")
	}
	call.AuthorizerCache = callinfo.CacheMiss
	if d.FromCache {
		call.AuthorizerCache = callinfo.CacheHit
	}
	if !d.Allowed {
		return errForbidden
	}
	call.Principal = d.PrincipalID
	call.UsageIdentifierKey = d.UsageIdentifierKey
	call.AuthorizerContext = d.Context
	call.IdentitySourceValues = values
	call.MayInvalidateCache = d.MayInvalidateCache
	return nil
}

// originSource names the Origin of a WebSocket upgrade in the policy
// cache key; it is not a configurable identity source.
const originSource = "$websocket.origin"

// fillRequest adds what a REQUEST authorizer receives.
func fillRequest(ctx context.Context, call *callinfo.Call, req *datav1.AuthorizeRequest) {
	// The client's headers, without the gateway's own names (a client's
	// x-tollgate-* entries, the admin token included, are not the
	// authorizer's to see), as lowercase names.
	var headers map[string][]string
	if call.Protocol == callinfo.REST {
		headers = make(map[string][]string, len(call.Header))
		for k, vs := range call.Header {
			headers[strings.ToLower(k)] = vs
		}
	} else {
		md, _ := metadata.FromIncomingContext(ctx)
		headers = md
	}
	callinfo.StripInternal(headers)
	req.Headers = make(map[string]string, len(headers))
	for k, vs := range headers {
		if strings.HasPrefix(k, ":") || (call.Protocol != callinfo.REST && strings.HasPrefix(k, "grpc-")) {
			continue
		}
		req.Headers[k] = strings.Join(vs, ", ")
	}
	if q, err := url.ParseQuery(call.RawQuery); err == nil && len(q) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			req.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	req.StageVariables = call.StageVariables
	req.HttpMethod = call.HTTPMethod
	req.Path = call.HTTPPath
	if call.Protocol == callinfo.GRPC {
		req.HttpMethod = "POST"
		req.Path = call.FullMethod
	}
	req.SourceIp = call.SourceIP
	req.RequestId = requestid.FromContext(ctx)
}

// customAuthorizer returns the custom authorizer of an authorizer version
// on the call's stage, building it (and its callout connection) once.
func (i *Interceptor) customAuthorizer(call *callinfo.Call, a *adminv1.Authorizer) (*customEntry, error) {
	if e, ok := i.fastEntry(a, call.Stage); ok {
		return e, nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if e, ok := i.fastEntry(a, call.Stage); ok {
		return e, nil
	}
	e, err := i.buildCustom(call, a)
	if err != nil {
		return nil, err
	}
	// Per deployment: a new deployment starts with an empty policy cache.
	fast := *e
	fast.generation = call.Deployment + "\x00" + version(a)
	i.storeFast(a, &fast)
	return &fast, nil
}

// calloutTarget returns an authorizer's callout target. The data plane
// resolves stage variables when it compiles a stage, so the target is
// used as it is: substituting again would expand a reference that a
// variable's value itself contains.
func calloutTarget(c *adminv1.CustomAuthorizer) string {
	switch co := c.GetCallout().(type) {
	case *adminv1.CustomAuthorizer_Grpc:
		return "grpc:" + boolString(co.Grpc.GetTls()) + ":" + co.Grpc.GetTarget()
	case *adminv1.CustomAuthorizer_Http:
		return "http:" + co.Http.GetUri()
	}
	return ""
}

// buildCustom returns the custom authorizer of an authorizer version on a
// stage, building it (and its callout connection) once. Call with i.mu held.
func (i *Interceptor) buildCustom(call *callinfo.Call, a *adminv1.Authorizer) (*customEntry, error) {
	c := a.GetCustom()
	key := customKey{stage: call.Stage, version: version(a), target: calloutTarget(c)}
	if e, ok := i.custom[key]; ok {
		return e, nil
	}
	var caller customauth.Caller
	switch co := c.GetCallout().(type) {
	case *adminv1.CustomAuthorizer_Grpc:
		target := co.Grpc.GetTarget()
		key := target + "|" + boolString(co.Grpc.GetTls())
		conn, ok := i.conns[key]
		if !ok {
			creds := insecure.NewCredentials()
			if co.Grpc.GetTls() {
				creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
			}
			var err error
			dopts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
			if !i.allowLinkLocal {
				dopts = append(dopts, grpc.WithContextDialer(netguard.GRPCDialer()))
			}
			if conn, err = grpc.NewClient(target, dopts...); err != nil {
				return nil, err
			}
			i.conns[key] = conn
		}
		caller = customauth.NewGRPCCaller(conn)
	case *adminv1.CustomAuthorizer_Http:
		caller = customauth.NewHTTPCaller(co.Http.GetUri(), i.httpClient)
	default:
		return nil, errors.New("no callout target")
	}
	e := &customEntry{
		keys: make([]headerKeys, len(c.GetIdentitySources())),
		authorizer: customauth.New(caller,
			customauth.WithTTL(time.Duration(c.GetResultTtlSeconds())*time.Second),
			customauth.WithTimeout(c.GetTimeout().AsDuration()),
			customauth.WithLogger(i.logger),
		),
		name:   a.GetName(),
		stage:  call.Stage,
		target: key.target,
	}
	for n, src := range c.GetIdentitySources() {
		if strings.HasPrefix(src, "$request.header.") {
			e.keys[n] = headerKeys{md: i.headerKey(src, false), rest: i.headerKey(src, true)}
		}
	}
	if expr := c.GetIdentityValidationExpression(); expr != "" {
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return nil, err
		}
		e.pattern = re
	}
	i.custom[key] = e
	return e, nil
}

// Retain keeps the JWT verifiers, custom authorizers (with their policy
// caches) and gRPC callout connections that the authorizers in inUse need,
// and drops the others, closing their connections: call it after every
// reload, so that retired authorizer versions and callout targets are
// freed. inUse maps each served stage's resource name to the authorizers
// its compilation holds (its canary's included), with the callout targets
// resolved as calls see them.
func (i *Interceptor) Retain(inUse map[string][]*adminv1.Authorizer) {
	jwt := map[string]bool{}
	custom := map[customKey]bool{}
	conns := map[string]bool{}
	for stage, as := range inUse {
		for _, a := range as {
			if a.GetJwt() != nil {
				jwt[version(a)] = true
			}
			c := a.GetCustom()
			if c == nil {
				continue
			}
			custom[customKey{stage: stage, version: version(a), target: calloutTarget(c)}] = true
			if g := c.GetGrpc(); g != nil {
				conns[g.GetTarget()+"|"+boolString(g.GetTls())] = true
			}
		}
	}
	i.mu.Lock()
	var closing []*grpc.ClientConn
	maps.DeleteFunc(i.jwt, func(k string, _ *jwtauth.Verifier) bool { return !jwt[k] })
	maps.DeleteFunc(i.custom, func(k customKey, _ *customEntry) bool { return !custom[k] })
	maps.DeleteFunc(i.conns, func(k string, c *grpc.ClientConn) bool {
		if conns[k] {
			return false
		}
		closing = append(closing, c)
		return true
	})
	// The pointer caches may name dropped entries: start them again.
	i.clearFast()
	i.mu.Unlock()
	// Calls still using a closed connection fail as if the authorizer
	// were unreachable; a call that began before the reload is the only
	// one that can.
	for _, c := range closing {
		_ = c.Close()
	}
}

// FlushStage empties the policy caches of a stage's custom authorizers, or
// only of the authorizer named authorizer ("apis/{api}/authorizers/{id}")
// if it is not empty, for the admin API's FlushStageAuthorizersCache. It
// returns how many authorizer caches it emptied. The response cache is not
// touched.
func (i *Interceptor) FlushStage(stage, authorizer string) int {
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, e := range i.custom {
		if e.stage == stage && (authorizer == "" || e.name == authorizer) {
			e.authorizer.Invalidate()
			n++
		}
	}
	return n
}

// errMissing and errRepeated are why an identity source has no value.
var (
	errMissing  = errors.New("identity source missing")
	errRepeated = errors.New("identity source repeated")
)

// identity returns the value of one identity source for a call. A header
// or query parameter that appears more than once is refused rather than
// guessed at: the authorizer must see exactly what the backend sees. keys
// are the source's header keys if known (see customEntry.keys).
func (i *Interceptor) identity(ctx context.Context, call *callinfo.Call, source string, keys headerKeys) (string, error) {
	one := func(vals []string) (string, error) {
		switch {
		case len(vals) == 0 || vals[0] == "":
			return "", errMissing
		case len(vals) > 1:
			return "", errRepeated
		}
		return vals[0], nil
	}
	switch {
	case strings.HasPrefix(source, "$request.header."):
		rest := call.Protocol == callinfo.REST
		key := keys.md
		if rest {
			key = keys.rest
		}
		if key == "" {
			key = i.headerKey(source, rest)
		}
		if rest {
			return one(call.Header[key])
		}
		return one(call.MetadataValues(ctx, key))
	case strings.HasPrefix(source, "$request.querystring."):
		q, err := url.ParseQuery(call.RawQuery)
		if err != nil {
			return "", errMissing
		}
		return one(q[strings.TrimPrefix(source, "$request.querystring.")])
	case strings.HasPrefix(source, "$stageVariables."):
		return one(nonEmpty(call.StageVariables[strings.TrimPrefix(source, "$stageVariables.")]))
	case source == "$context.sourceIp":
		return one(nonEmpty(call.SourceIP))
	case source == "$context.requestId":
		return one(nonEmpty(requestid.FromContext(ctx)))
	case strings.HasPrefix(source, "$context.identity.clientCert."):
		return one(nonEmpty(clientCertIdentity(call.ClientCert, strings.TrimPrefix(source, "$context.identity.clientCert."))))
	}
	return "", errMissing
}

// headerKey returns the key of a "$request.header.NAME" source: in the
// metadata of a gRPC or WebSocket call (lowercase), in the http.Header of
// a REST call (canonical).
func (i *Interceptor) headerKey(source string, rest bool) string {
	keys := &i.headerKeys
	if rest {
		keys = &i.restHeaderKeys
	}
	if v, ok := keys.Load(source); ok {
		return v.(string)
	}
	name := strings.ToLower(strings.TrimPrefix(source, "$request.header."))
	if rest {
		name = http.CanonicalHeaderKey(name)
	}
	keys.Store(source, name)
	return name
}

// nonEmpty returns s as a one-element list, or none.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// lastSegment returns the ID at the end of a resource name.
func lastSegment(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

func boolString(b bool) string {
	if b {
		return "tls"
	}
	return "plain"
}

// clientCertIdentity returns a field of the verified client certificate by
// the names of Amazon API Gateway's $context.identity.clientCert.*, or ""
// without one.
func clientCertIdentity(c *callinfo.ClientCert, field string) string {
	if c == nil {
		return ""
	}
	switch field {
	case "subjectDN":
		return c.Subject
	case "issuerDN":
		return c.Issuer
	case "serialNumber":
		return c.Serial
	case "fingerprint":
		return c.Fingerprint
	case "validity.notBefore":
		return c.NotBefore.UTC().Format(time.RFC3339)
	case "validity.notAfter":
		return c.NotAfter.UTC().Format(time.RFC3339)
	}
	return ""
}
