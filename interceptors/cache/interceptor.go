package cache

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// ReasonCacheControlForbidden is the ErrorInfo reason (domain
// gatewayerr.Domain) of a call refused because it asked for a fresh
// response (Cache-Control: max-age=0) without permission, on a stage whose
// strategy is UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403.
const ReasonCacheControlForbidden = "CACHE_CONTROL_FORBIDDEN"

// errCacheControlForbidden is the 403 of an unauthorized Cache-Control.
var errCacheControlForbidden = func() error {
	st := status.New(codes.PermissionDenied, "the caller may not invalidate the cache (Cache-Control: max-age=0)")
	d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: ReasonCacheControlForbidden, Domain: gatewayerr.Domain})
	if err != nil {
		return st.Err()
	}
	return d.Err()
}()

// Header values of StatusHeader.
const (
	hit  = "hit"
	miss = "miss"
)

// Needs is what the response cache reads from the call record (see
// interceptors/chain): the caller's identity and API key, part of every
// key of a route that is not shared by callers, and known only once the
// caller is authorized.
var Needs = []callinfo.Fact{callinfo.FactPrincipal, callinfo.FactAPIKey}

// StreamServerInterceptor returns the interceptor that answers cacheable
// calls from their stage's cache and fills it. It must run after
// authorization and throttling, so that a refused call never reaches the
// cache. Calls without callinfo, and calls that are not cacheable (see the
// package documentation), pass untouched.
func (c *Cache) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		call := callinfo.FromContext(ss.Context())
		if call == nil || !cacheableMethod(call) {
			return handler(srv, ss)
		}
		ttl := ttl(call)
		if ttl <= 0 {
			return handler(srv, ss)
		}
		id, ok := identity(call)
		if !ok {
			return handler(srv, ss)
		}
		call.NeedsMessages = true
		return c.serve(srv, ss, handler, call, id, ttl)
	}
}

// lookup is what serve decided about one cacheable call.
type lookup struct {
	call    *callinfo.Call
	sc      *stageCache
	key     key
	req     []byte
	ttl     time.Duration
	ignored bool // an unauthorized Cache-Control was ignored, and says so
	refresh bool // the caller asked for a fresh response
	shared  bool // the stage keeps its entries in the shared tier too
}

// serve answers one cacheable call.
func (c *Cache) serve(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, call *callinfo.Call, id string, ttl time.Duration) error {
	ctx := ss.Context()
	in := c.opts.codec.NewMessage()
	if err := ss.RecvMsg(in); err != nil {
		if errors.Is(err, io.EOF) {
			// No request at all: the handler sees the same end of stream.
			return handler(srv, ss)
		}
		return err
	}
	req, err := c.opts.codec.Marshal(in)
	if f, ok := in.(interface{ Free() }); ok {
		// A raw frame holds pooled buffers; req is a copy.
		f.Free()
	}
	if err != nil {
		return status.Errorf(codes.Internal, "cache: read the request: %v", err)
	}
	l := &lookup{call: call, key: computeKey(ctx, call, req, id), req: req, ttl: ttl,
		shared: c.opts.shared != nil && call.StageConfig.GetSharedCache()}
	l.sc = c.stageCache(call.Stage, call.Deployment, capacity(call))
	if l.sc == nil {
		// A deployment no longer live (a call that started before a
		// deploy): served, not cached.
		return handler(srv, &recorder{ServerStream: ss, codec: c.opts.codec, req: req})
	}

	refresh := false
	if parseCacheControl(headerValues(ctx, call, "cache-control")).maxAgeZero {
		if c.mayRefresh(ctx, call) {
			refresh = true
		} else {
			switch call.StageConfig.GetCache().GetUnauthorizedCacheControl() {
			case adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403:
				return errCacheControlForbidden
			case adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_IGNORE_WITH_HEADER:
				l.ignored = true
			}
		}
	}

	l.refresh = refresh

	// Under the stage cache's lock: the entry, or the backend call in
	// progress, or a new backend call. A backend call stores its entry
	// and ends its flight under the same lock, so a call never misses
	// both and makes a second backend call.
	sc := l.sc
	if !refresh {
		// The fast path, without the lock.
		if e, ok := sc.get(l.key, c.opts.now()); ok {
			call.ResponseCache = callinfo.CacheHit
			return c.replay(ss, l, e, hit)
		}
	}
	sc.mu.Lock()
	if !refresh {
		if e, ok := sc.get(l.key, c.opts.now()); ok {
			sc.mu.Unlock()
			call.ResponseCache = callinfo.CacheHit
			return c.replay(ss, l, e, hit)
		}
	}
	f, following := sc.flights[l.key]
	if !following {
		f = &flight{done: make(chan struct{})}
		sc.flights[l.key] = f
	}
	epoch := sc.epoch
	sc.mu.Unlock()

	call.ResponseCache = callinfo.CacheMiss
	if !following {
		return c.lead(srv, ss, handler, l, f, epoch)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
	switch {
	case f.retry:
		// The shared call's response cannot be replayed: call the
		// backend for this call alone.
		return c.pass(srv, ss, handler, l)
	case f.err != nil:
		return f.err
	case f.hit:
		call.ResponseCache = callinfo.CacheHit
		return c.replay(ss, l, f.res, hit)
	}
	return c.replay(ss, l, f.res, miss)
}

// mayRefresh reports whether a call may refresh its cached response.
func (c *Cache) mayRefresh(ctx context.Context, call *callinfo.Call) bool {
	if !call.StageConfig.GetCache().GetRequireAuthorizationForCacheControl() {
		return true
	}
	return call.MayInvalidateCache || (c.opts.admin != nil && c.opts.admin(ctx, call))
}

// lead makes the backend call of a flight, stores its response when it
// may be cached, and hands the outcome to the calls waiting for it.
func (c *Cache) lead(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, l *lookup, f *flight, epoch uint64) error {
	sc := l.sc
	defer func() {
		if r := recover(); r != nil {
			// The waiting calls must not wait forever for a call that
			// panicked; the recovery interceptor reports the panic.
			sc.mu.Lock()
			f.retry = true
			delete(sc.flights, l.key)
			sc.mu.Unlock()
			close(f.done)
			panic(r)
		}
	}()
	var gen string
	sharedOK := false
	if l.shared {
		var e *entry
		e, gen, sharedOK = c.sharedGet(ss.Context(), l)
		if e != nil {
			sc.mu.Lock()
			if sc.epoch == epoch {
				sc.entries.Set(l.key, e)
			}
			f.res, f.hit = e, true
			delete(sc.flights, l.key)
			sc.mu.Unlock()
			close(f.done)
			l.call.ResponseCache = callinfo.CacheHit
			return c.replay(ss, l, e, hit)
		}
	}
	rec, err := c.callBackend(srv, ss, handler, l)
	var stored *entry // kept here, for the shared tier too
	sc.mu.Lock()
	switch {
	case err == nil && rec.replayable():
		e := rec.entry(c.opts.now(), l.ttl)
		f.res = e
		if parseCacheControl(rec.header.Get("cache-control")).noStore {
			// Not kept, not even for the calls waiting for it.
			f.res, f.retry = nil, true
		} else if sc.epoch == epoch {
			stored = e
			sc.entries.Set(l.key, c.local(l, e))
		}
	case err != nil && !rec.sendFailed && ss.Context().Err() == nil:
		f.err = err
	default:
		f.retry = true
	}
	delete(sc.flights, l.key)
	sc.mu.Unlock()
	close(f.done)
	if stored != nil && sharedOK {
		// After the waiting calls were answered; the client's trailers
		// wait for it, bounded by the shared tier's timeout.
		if c.sharedSet(ss.Context(), l, gen, stored) {
			// Too large for the shared tier: this node keeps it for its
			// whole TTL, unless flushed meanwhile.
			sc.mu.Lock()
			if sc.epoch == epoch {
				sc.entries.Set(l.key, stored)
			}
			sc.mu.Unlock()
		}
	}
	return err
}

// local returns the entry to keep in this node's memory for e: e itself,
// or for a stage whose cache is shared a copy living at most the shared
// local TTL, so that a flush notice lost on its way from another node
// delays the flush here by that much at most.
func (c *Cache) local(l *lookup, e *entry) *entry {
	if !l.shared || e.ttl <= c.opts.sharedLocalTTL {
		return e
	}
	le := *e
	le.ttl = c.opts.sharedLocalTTL
	le.expires = e.expires.Add(le.ttl - e.ttl)
	return &le
}

// sharedGet looks a call's key up in the shared tier. It returns the
// entry when found (nil on a miss, or when the request asked for a fresh
// response), and the stage's generation with ok when the shared tier
// answered, for the entry the backend call then stores.
func (c *Cache) sharedGet(ctx context.Context, l *lookup) (e *entry, gen string, ok bool) {
	v, ttl, gen, err := c.opts.shared.Get(ctx, l.call.Stage, [32]byte(l.key))
	if err != nil {
		c.opts.logger.Debug("cache: the shared cache failed; served as a miss", "stage", l.call.Stage, "error", err)
		return nil, "", false
	}
	if v == nil || l.refresh || ttl <= 0 {
		return nil, gen, true
	}
	e, err = decodeEntry(v)
	if err != nil {
		c.opts.logger.Debug("cache: a shared entry does not decode; served as a miss", "stage", l.call.Stage, "error", err)
		return nil, gen, true
	}
	e.ttl = min(ttl, c.opts.sharedLocalTTL)
	e.expires = c.opts.now().Add(e.ttl)
	return e, gen, true
}

// sharedSet stores an entry in the shared tier for the rest of its TTL,
// unless the stage was flushed since gen. It reports whether the shared
// tier refused the entry for its size.
func (c *Cache) sharedSet(ctx context.Context, l *lookup, gen string, e *entry) (tooLarge bool) {
	ttl := e.expires.Sub(c.opts.now())
	if ttl <= 0 {
		return false
	}
	err := c.opts.shared.Set(ctx, l.call.Stage, [32]byte(l.key), gen, encodeEntry(e), ttl)
	if errors.Is(err, ErrTooLarge) {
		return true
	}
	if err != nil {
		c.opts.logger.Debug("cache: the shared cache failed; the entry stays on this node", "stage", l.call.Stage, "error", err)
	}
	return false
}

// pass makes a call's own backend call, caching nothing.
func (c *Cache) pass(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, l *lookup) error {
	_, err := c.callBackend(srv, ss, handler, l)
	return err
}

// callBackend runs the handler on a stream that replays the request
// already read and records the response, with the miss header.
func (c *Cache) callBackend(srv any, ss grpc.ServerStream, handler grpc.StreamHandler, l *lookup) (*recorder, error) {
	hdr := metadata.Pairs(StatusHeader, miss)
	if l.ignored {
		hdr.Set(ControlIgnoredHeader, "ignored")
	}
	if err := ss.SetHeader(hdr); err != nil {
		// The stream is done (the client went away): nothing was sent.
		return &recorder{sendFailed: true}, err
	}
	rec := &recorder{ServerStream: ss, codec: c.opts.codec, req: l.req, max: maxEntry(l.call), record: true}
	err := handler(srv, rec)
	return rec, err
}

// replay answers a call with a response: the backend's headers with the
// cache status, the message, the backend's trailers.
func (c *Cache) replay(ss grpc.ServerStream, l *lookup, e *entry, outcome string) error {
	hdr := e.header.Copy()
	hdr.Set(StatusHeader, outcome)
	if l.ignored {
		hdr.Set(ControlIgnoredHeader, "ignored")
	}
	// Set, not sent: the headers then leave with the message, in one write.
	if err := ss.SetHeader(hdr); err != nil {
		return err
	}
	m := c.opts.codec.NewMessage()
	if err := c.opts.codec.Unmarshal(e.msg, m); err != nil {
		return status.Errorf(codes.Internal, "cache: replay the response: %v", err)
	}
	if err := ss.SendMsg(m); err != nil {
		return err
	}
	ss.SetTrailer(e.trailer)
	l.call.RequestBytes += int64(len(l.req))
	l.call.ResponseBytes += int64(len(e.msg))
	return nil
}

// recorder is the server stream the handler sees on a miss: its first
// RecvMsg gets the request the interceptor read, and the response's
// headers, message and trailers are recorded as they pass.
type recorder struct {
	grpc.ServerStream
	codec    Codec
	req      []byte
	replayed bool

	record     bool
	max        int
	header     metadata.MD
	trailer    metadata.MD
	msg        []byte
	msgs       int
	tooLarge   bool
	sendFailed bool
}

// RecvMsg replays the request first, then reads from the client (which
// has nothing more to send on a unary call).
func (r *recorder) RecvMsg(m any) error {
	if !r.replayed {
		r.replayed = true
		if err := r.codec.Unmarshal(r.req, m); err != nil {
			return status.Errorf(codes.Internal, "cache: replay the request: %v", err)
		}
		return nil
	}
	return r.ServerStream.RecvMsg(m)
}

// SetHeader records and sets response headers.
func (r *recorder) SetHeader(md metadata.MD) error {
	if r.record {
		r.header = metadata.Join(r.header, md)
	}
	return r.ServerStream.SetHeader(md)
}

// SendHeader records and sends response headers.
func (r *recorder) SendHeader(md metadata.MD) error {
	if r.record {
		r.header = metadata.Join(r.header, md)
	}
	return r.ServerStream.SendHeader(md)
}

// SetTrailer records and sets response trailers.
func (r *recorder) SetTrailer(md metadata.MD) {
	if r.record {
		r.trailer = metadata.Join(r.trailer, md)
	}
	r.ServerStream.SetTrailer(md)
}

// sized is a message that knows its encoded size without encoding.
type sized interface{ Len() int }

// SendMsg records and sends a response message.
func (r *recorder) SendMsg(m any) error {
	r.msgs++
	if r.record && r.msgs == 1 {
		if s, ok := m.(sized); ok && s.Len() > r.max {
			r.tooLarge = true
		} else if b, err := r.codec.Marshal(m); err != nil || len(b) > r.max {
			r.tooLarge = true
		} else {
			r.msg = b
		}
	}
	err := r.ServerStream.SendMsg(m)
	if err != nil {
		r.sendFailed = true
	}
	return err
}

// replayable reports whether the recorded response is one message that
// fits in an entry.
func (r *recorder) replayable() bool {
	return r.record && r.msgs == 1 && !r.tooLarge && !r.sendFailed
}

// entry returns the recorded response as an entry living ttl from now.
func (r *recorder) entry(now time.Time, ttl time.Duration) *entry {
	return &entry{header: r.header, msg: r.msg, trailer: r.trailer, expires: now.Add(ttl), ttl: ttl}
}
