package customauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// Errors of Decide. Test them with errors.Is.
var (
	// ErrAuthorizerFailed is wrapped by every error of a failed callout:
	// the authorizer is unreachable, answered with an error, timed out or
	// returned a malformed response. The gateway answers 500 INTERNAL
	// (504 if the error also wraps ErrAuthorizerTimeout, so test that
	// first). Failures are never cached.
	ErrAuthorizerFailed = errors.New("custom authorizer failed")
	// ErrAuthorizerTimeout is wrapped, together with ErrAuthorizerFailed,
	// by the error of a callout slower than the timeout. The gateway
	// answers 504 GATEWAY_TIMEOUT (gRPC DEADLINE_EXCEEDED).
	ErrAuthorizerTimeout = errors.New("custom authorizer timed out")
	// ErrInvalidRequest is wrapped by the error of a Request the gateway
	// built wrongly (a bug, answered with 500 INTERNAL). Nothing is called.
	ErrInvalidRequest = errors.New("invalid custom authorizer request")
)

// Request is what the gateway knows about one call, already extracted
// (identity source values included).
type Request struct {
	// AuthorizerName names the authorizer, e.g.
	// "apis/shop/authorizers/users". It is part of the cache key, and of
	// error messages.
	AuthorizerName string
	// Stage is the stage serving the call, e.g. "apis/shop/stages/prod".
	// It is part of the cache key: a policy issued for one stage is never
	// reused on another, even when both serve the same deployment.
	Stage string
	// Target is the authorizer's callout target as resolved for Stage (its
	// stage variables substituted). It is part of the cache key, so that
	// stages whose variables point at different authorizers never share
	// their answers.
	Target string
	// Generation changes whenever the authorizer's configuration or the
	// deployment changes, e.g. the deployment ID and the authorizer's etag.
	// It is part of the cache key, so that a changed authorizer is never
	// answered from the old one's responses.
	Generation string
	// Type is the kind of authorizer, TYPE_TOKEN or TYPE_REQUEST; other
	// values are invalid. It is part of the cache key.
	Type datav1.AuthorizeRequest_Type
	// IdentitySources are the identity sources as configured, e.g.
	// "$request.header.Authorization", in the configured order. They are
	// part of the cache key. With none, nothing is cached for the call.
	IdentitySources []string
	// IdentityValues are the values of IdentitySources, in the same order
	// (the values the gateway forwards to the backend too). They are part
	// of the cache key. It must be as long as IdentitySources.
	IdentityValues []string
	// MethodResource is what is being called, e.g. "shop/prod/GET/v1/pets/1"
	// (see AuthorizeRequest.method_resource): the policy is evaluated
	// against it. It should equal Proto.MethodResource.
	MethodResource string
	// Proto is the full request sent to the authorizer on a cache miss.
	// Required. Decide does not modify it, and copies it before a callout
	// that may outlive the call, so the caller may reuse it once Decide
	// returns.
	Proto *datav1.AuthorizeRequest
}

// validate reports a request the gateway built wrongly.
func (r *Request) validate() error {
	switch {
	case r.Proto == nil:
		return fmt.Errorf("customauth: authorizer %q: %w: no Proto", r.AuthorizerName, ErrInvalidRequest)
	case r.Type != datav1.AuthorizeRequest_TYPE_TOKEN && r.Type != datav1.AuthorizeRequest_TYPE_REQUEST:
		return fmt.Errorf("customauth: authorizer %q: %w: type %v", r.AuthorizerName, ErrInvalidRequest, r.Type)
	case r.Proto.GetType() != r.Type:
		return fmt.Errorf("customauth: authorizer %q: %w: type %v, but Proto has type %v", r.AuthorizerName, ErrInvalidRequest, r.Type, r.Proto.GetType())
	case len(r.IdentitySources) != len(r.IdentityValues):
		return fmt.Errorf("customauth: authorizer %q: %w: %d identity sources but %d values", r.AuthorizerName, ErrInvalidRequest, len(r.IdentitySources), len(r.IdentityValues))
	}
	return nil
}

// Decision is the outcome of Decide for one call.
type Decision struct {
	// Allowed reports whether the policy allows the call. A denied call is
	// answered with 403 PERMISSION_DENIED.
	Allowed bool
	// PrincipalID is the caller's identity, for the backend and the access
	// log. It is set for denied calls too, if the authorizer named one.
	PrincipalID string
	// Context holds the authorizer's key-value pairs for the backend; nil
	// if the call is denied or the authorizer returned none. It is shared
	// with the cached policy and every other call it decides: read it,
	// never modify it (copying it per call cost a tenth of a cache hit).
	Context map[string]string
	// UsageIdentifierKey is the API key value chosen by the authorizer for
	// usage plans; empty if the call is denied or the authorizer chose
	// none.
	UsageIdentifierKey string
	// MayInvalidateCache reports whether the policy also allows the call
	// to refresh its cached response (ActionInvalidateCache); false for a
	// denied call.
	MayInvalidateCache bool
	// FromCache reports whether the decision came from a cached response.
	// It is false for a call that made the callout or waited for another
	// call's callout.
	FromCache bool
}

// Authorizer decides calls with one configured custom authorizer, caching
// its responses. It is safe for concurrent use; create one per configured
// authorizer with New.
type Authorizer struct {
	caller Caller
	opts   options
	// base is the instant the cache's clock counts from (see now).
	base time.Time

	// scopes interns the configuration part of cache keys (see key); read
	// without a lock, replaced under scopeMu.
	scopes    atomic.Pointer[scopeTable]
	last      atomic.Pointer[scope] // the scope of the last call, tried first
	scopeMu   sync.Mutex
	lastScope uint64 // guarded by scopeMu

	mu sync.Mutex
	// epoch counts Invalidate calls: a callout that started in an older
	// epoch does not fill the cache.
	epoch uint64
	cache *lru
	// values remembers the digests of identity values (see valueDigests).
	values *valueDigests
	// flights are the callouts in progress, by key.
	flights map[cacheKey]*flight
}

// flight is one callout that concurrent calls with the same key share. res
// and err are written before done is closed and only read after.
type flight struct {
	done chan struct{}
	res  *policy
	err  error
}

// New returns an Authorizer calling caller on cache misses. It panics if
// caller is nil. Without options it caches responses for DefaultTTL in a
// cache of DefaultMaxEntries and gives callouts DefaultTimeout.
func New(caller Caller, opts ...Option) *Authorizer {
	if caller == nil {
		panic("customauth: New called with a nil Caller")
	}
	o := options{
		ttl:        DefaultTTL,
		timeout:    DefaultTimeout,
		maxEntries: DefaultMaxEntries,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&o)
	}
	a := &Authorizer{
		caller:  caller,
		opts:    o,
		cache:   newLRU(o.maxEntries),
		values:  newValueDigests(),
		flights: make(map[cacheKey]*flight),
	}
	a.base = time.Now()
	if o.now != nil {
		a.base = o.now()
	}
	a.scopes.Store(&scopeTable{})
	return a
}

// now returns the time elapsed since a.base: with the real clock, a read
// of the monotonic clock alone (time.Now reads the wall clock too, which
// cost a fifth of a cache hit).
func (a *Authorizer) now() time.Duration {
	if a.opts.now != nil {
		return a.opts.now().Sub(a.base)
	}
	return time.Since(a.base)
}

// Cached returns the decision for req if the cache holds its policy, and
// false otherwise, without calling out or waiting for a callout under way.
// It needs neither req.Proto nor a context: a caller can try it before
// building the full request for a miss, which then goes to Decide. An
// invalid req (see Decide), or one Decide would not cache, is a miss.
func (a *Authorizer) Cached(req *Request) (Decision, bool) {
	if a.opts.ttl <= 0 || len(req.IdentitySources) == 0 || len(req.IdentitySources) != len(req.IdentityValues) {
		return Decision{}, false
	}
	key, known := a.key(req)
	now := a.now()
	a.mu.Lock()
	p, ok := a.cache.get(key, now)
	a.mu.Unlock()
	if !ok {
		return Decision{}, false
	}
	a.remember(req, key, known)
	d := p.decide(req.MethodResource)
	d.FromCache = true
	return d, true
}

// Decide returns the decision for req, from the cache or by calling the
// authorizer (once for all concurrent calls with the same key). A denial is
// a Decision with Allowed false and a nil error.
//
// The error wraps ErrAuthorizerFailed (and ErrAuthorizerTimeout for a
// timeout) if the callout failed, ErrInvalidRequest if req is invalid, and
// ctx.Err() if ctx ended first; a shared callout goes on without the call
// that gave up.
func (a *Authorizer) Decide(ctx context.Context, req Request) (Decision, error) {
	if err := req.validate(); err != nil {
		return Decision{}, err
	}
	if a.opts.ttl <= 0 || len(req.IdentitySources) == 0 {
		// Nothing to cache or share: call out on the caller's context.
		p, err := a.call(ctx, &req, req.Proto)
		if err != nil {
			return Decision{}, err
		}
		return p.decide(req.MethodResource), nil
	}

	key, known := a.key(&req)
	now := a.now()
	a.mu.Lock()
	if p, ok := a.cache.get(key, now); ok {
		a.mu.Unlock()
		a.remember(&req, key, known)
		d := p.decide(req.MethodResource)
		d.FromCache = true
		return d, nil
	}
	f, ok := a.flights[key]
	if !ok {
		f = &flight{done: make(chan struct{})}
		a.flights[key] = f
		// The callout may outlive this call, whose caller may then reuse
		// req.Proto: it gets a copy.
		msg := proto.CloneOf(req.Proto)
		go a.fly(context.WithoutCancel(ctx), key, a.epoch, f, req, msg)
	}
	a.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return Decision{}, fmt.Errorf("customauth: waiting for authorizer %q: %w", req.AuthorizerName, ctx.Err())
	}
	if f.err != nil {
		return Decision{}, f.err
	}
	return f.res.decide(req.MethodResource), nil
}

// fly makes the callout of f, caches its result unless it failed or the
// cache was invalidated meanwhile, and wakes the waiting calls. ctx is not
// cancelled by any one of them.
func (a *Authorizer) fly(ctx context.Context, key cacheKey, epoch uint64, f *flight, req Request, msg *datav1.AuthorizeRequest) {
	var (
		p   *policy
		err error
	)
	defer func() {
		// A panicking Caller must not take the gateway down (this
		// goroutine is out of reach of the recovery interceptor) nor leave
		// its waiters hanging.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("customauth: authorizer %q: %w: caller panicked: %v", req.AuthorizerName, ErrAuthorizerFailed, r)
			a.opts.logger.ErrorContext(ctx, "custom authorizer caller panicked", "authorizer", req.AuthorizerName, "panic", r)
		}
		var expires time.Duration
		if err == nil {
			expires = a.now() + a.opts.ttl
		}
		a.mu.Lock()
		if a.flights[key] == f {
			delete(a.flights, key)
		}
		if err == nil && a.epoch == epoch {
			a.cache.put(key, p, expires)
		}
		a.mu.Unlock()
		f.res, f.err = p, err
		close(f.done)
	}()
	p, err = a.call(ctx, &req, msg)
}

// call makes one callout with the timeout and validates the response. Its
// errors are final: they wrap ErrAuthorizerFailed, or ctx's error if ctx
// ended first.
func (a *Authorizer) call(ctx context.Context, req *Request, msg *datav1.AuthorizeRequest) (*policy, error) {
	cctx, cancel := context.WithTimeout(ctx, a.opts.timeout)
	defer cancel()
	resp, err := a.caller.Authorize(cctx, msg)
	if err == nil {
		var p *policy
		if p, err = compile(resp); err == nil {
			return p, nil
		}
	}
	switch {
	case ctx.Err() != nil:
		// The caller gave up (only possible without a shared callout):
		// not the authorizer's failure.
		return nil, fmt.Errorf("customauth: calling authorizer %q: %w", req.AuthorizerName, ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded:
		err = fmt.Errorf("customauth: authorizer %q: %w: %w after %v: %w", req.AuthorizerName, ErrAuthorizerFailed, ErrAuthorizerTimeout, a.opts.timeout, err)
	default:
		err = fmt.Errorf("customauth: authorizer %q: %w: %w", req.AuthorizerName, ErrAuthorizerFailed, err)
	}
	a.opts.logger.WarnContext(ctx, "custom authorizer callout failed", "authorizer", req.AuthorizerName, "error", err)
	return nil, err
}

// Invalidate drops every cached entry, e.g. for a new deployment or a
// changed authorizer. Callouts in progress still answer the calls waiting
// for them, but do not fill the cache, and later calls do not join them.
func (a *Authorizer) Invalidate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.epoch++
	a.cache.clear()
	clear(a.flights)
}
