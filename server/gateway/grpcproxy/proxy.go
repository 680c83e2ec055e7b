package grpcproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// Call is what a [Director] decided for one call.
type Call struct {
	// Backend is where the call goes.
	Backend Backend
	// Timeout caps the call's duration: the backend call ends at the
	// client's deadline or after Timeout, whichever comes first. Zero means
	// no cap beyond the client's deadline. For a Streaming call it bounds
	// only the wait for the backend's first response instead.
	Timeout time.Duration
	// Streaming says the call is, or may be, a stream, which the route
	// timeout must not cut. Timeout then bounds how long the call may carry
	// no message either way before the backend's first response (its
	// headers, a message or its status); after it, StreamIdleTimeout does.
	// False (a unary call) makes Timeout the backend call's deadline.
	Streaming bool
	// StreamIdleTimeout ends a Streaming call that carries no message in
	// either direction for this long once the backend has answered, with
	// DEADLINE_EXCEEDED (reason STREAM_IDLE_TIMEOUT). Zero means no limit.
	StreamIdleTimeout time.Duration
	// MaxStreamDuration ends a Streaming call this long after it started,
	// however busy, with DEADLINE_EXCEEDED (reason MAX_STREAM_DURATION);
	// the backend gets it as its deadline. Zero means no limit.
	MaxStreamDuration time.Duration
	// Metadata is added to the backend call after the client's metadata was
	// filtered (so after any client-sent x-tollgate-* entry was removed),
	// replacing the client's entries of the same keys: what the gateway
	// asserts about the caller, such as its principal and request ID.
	Metadata metadata.MD
	// RequestsBuffered says that the client's messages and its half-close
	// are all there already (an in-process call with its one request), so
	// the proxy relays them on the handler's goroutine before the
	// responses instead of in a goroutine of their own alongside them.
	RequestsBuffered bool
	// SingleRequest says that the method takes exactly one request
	// message (unary or server streaming, as its descriptor says): the
	// proxy receives it and sends it on, half-closed, on the handler's
	// goroutine before relaying the responses, without a goroutine of its
	// own and without waiting for the client's half-close, as grpc-go's
	// own handler of such a method does. A client-streaming method must
	// not set it.
	SingleRequest bool
	// Done, if not nil, is called once when the call to Backend ends, with
	// the error the client gets (nil for success) or, when the call is
	// retried elsewhere, that attempt's error: the Director's chance to
	// release what it took for the call, such as a target's busy count.
	Done func(err error)
	// Finally, if not nil, is called once when the whole call (all its
	// attempts) has ended, after Done.
	Finally func()
	// Retry, if not nil, retries a unary (not Streaming) call that fails
	// with a retryable status before the backend answered. The request is
	// read whole first (a unary call has one message).
	Retry *RetryPolicy
	// Retarget, if not nil, picks the backend of each retry (a different
	// one where possible) and its Done; nil retries Backend.
	Retarget func() (Backend, func(error), error)
}

// End calls Done with err, then Finally (each when set): what the one who
// relayed a decided call owes the Director once the call is over.
func (c *Call) End(err error) {
	if c.Done != nil {
		c.Done(err)
	}
	if c.Finally != nil {
		c.Finally()
	}
}

// Director picks the backend of a call from its context (which carries the
// incoming metadata and whatever the gateway's interceptors added) and its
// full method name, "/package.Service/Method". Its error goes back to the
// client as it is, so it should be a status error, such as UNIMPLEMENTED
// for a method no route serves; any other error reaches the client as
// UNKNOWN. A Director is called concurrently.
type Director func(ctx context.Context, fullMethod string) (Call, error)

// Proxy forwards calls to the backends its [Director] picks, over
// connections from its [Pool]. Make one with [New]; it is safe for
// concurrent use.
type Proxy struct {
	pool     *Pool
	director Director
	logger   *slog.Logger
}

// New returns a Proxy that routes calls with director over connections from
// pool. It panics if pool or director is nil, a programming error.
func New(pool *Pool, director Director, opts ...Option) *Proxy {
	if pool == nil {
		panic("grpcproxy: New with a nil Pool")
	}
	if director == nil {
		panic("grpcproxy: New with a nil Director")
	}
	o := proxyOptions{logger: discardLogger}
	for _, opt := range opts {
		opt.applyToProxy(&o)
	}
	return &Proxy{pool: pool, director: director, logger: o.logger}
}

// Handler returns the stream handler that proxies every call, for
// grpc.UnknownServiceHandler. The server must use [Codec]
// (grpc.ForceServerCodecV2), because the handler exchanges *[Frame]s with
// it. The package documentation describes what the handler forwards and
// which errors it returns.
func (p *Proxy) Handler() grpc.StreamHandler { return p.handle }

// Causes of the context of a call the gateway ended itself; they tell
// those apart from the client's own deadline or cancellation.
var (
	errRouteTimeout      = errors.New("grpcproxy: route timeout")
	errStreamIdle        = errors.New("grpcproxy: stream idle timeout")
	errMaxStreamDuration = errors.New("grpcproxy: maximum stream duration")
)

// proxyStreamDesc describes every proxied call as bidirectional: on the
// wire all four kinds of call look the same, and the proxy only relays.
var proxyStreamDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// callOptions forces the pass-through codec on each call even if
// WithDialOptions changed the connection's default codec: the proxy must
// never decode a payload.
var callOptions = []grpc.CallOption{grpc.ForceCodecV2(Codec())}

func (p *Proxy) handle(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "grpcproxy: the call carries no method name")
	}
	call, err := p.director(ctx, method)
	if err != nil {
		return err
	}
	err = p.forward(ctx, ss, method, &call)
	call.End(err)
	return err
}

// forward relays one call to the backend the Director chose. A retried
// call reports its attempts to Done itself and clears it.
func (p *Proxy) forward(ctx context.Context, ss grpc.ServerStream, method string, callp *Call) error {
	call := *callp

	lim := StartLimits(ctx, callp)
	defer lim.Stop()
	ctx, cancel, deadline, watch := lim.ctx, lim.cancel, lim.deadline, lim.watch

	// FromIncomingContext returns a copy, which becomes the outgoing
	// metadata once stripped.
	in, _ := metadata.FromIncomingContext(ctx)
	opts := callOptions
	if sub := contentSubtype(in); sub != "" {
		// Keep a JSON (or other) client's content-type: the bytes are
		// relayed unchanged, so their label must be too.
		opts = append(opts[:len(opts):len(opts)], grpc.CallContentSubtype(sub))
	}
	out := stripRequestMetadata(in)
	if out == nil && len(call.Metadata) > 0 {
		out = metadata.MD{}
	}
	for k, vs := range call.Metadata {
		out[k] = vs
	}
	if call.Retry != nil && call.Retry.Attempts > 1 && !call.Streaming {
		return p.forwardRetrying(ctx, ss, method, callp, out, opts, deadline)
	}
	conn, err := p.pool.Conn(call.Backend)
	if err != nil {
		p.logger.WarnContext(ctx, "grpcproxy: no connection to the backend", "method", method, "target", call.Backend.Target, "error", err)
		return gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable")
	}
	p.pool.Wake(ctx, conn)
	cs, err := conn.NewStream(metadata.NewOutgoingContext(ctx, out), proxyStreamDesc, method, opts...)
	if err != nil {
		return p.backendError(ctx, method, call, deadline, err, true)
	}

	// Client to backend runs in its own goroutine, backend to client in
	// this one. The goroutine ends when the client half-closes, when the
	// backend call ends (cancel below unblocks a pending send), or at the
	// latest when this handler returns: gRPC then ends a RecvMsg still
	// waiting for a client that keeps its side open, which nothing else can
	// interrupt, so the handler cannot wait for the goroutine in every case.
	reqErr := make(chan error, 1)
	relayRequests := func() {
		err := forwardRequests(ss, cs, watch)
		// Report before cancelling, so that the handler, woken by the
		// cancellation, finds the cause.
		reqErr <- err
		if err != nil {
			cancel()
		}
	}
	switch {
	case call.SingleRequest:
		err := forwardRequest(ss, cs, watch)
		reqErr <- err
		if err != nil {
			cancel()
		}
	case call.RequestsBuffered:
		relayRequests()
	default:
		go relayRequests()
	}

	fromBackend, respErr := forwardResponses(ss, cs, watch)
	if errors.Is(respErr, io.EOF) {
		ss.SetTrailer(responseMetadata(cs.Trailer()))
		return nil
	}
	// Look for a failure of the request side before cancelling: it reports
	// before it cancels, so if it caused respErr, its error is already
	// there, and an error caused by the cancellation below cannot be.
	select {
	case err := <-reqErr:
		if err != nil {
			if gatewayEnded(ctx) {
				// The gateway's own timer (route timeout, stream idle
				// timeout, maximum duration) ended the call, and the
				// request side noticed first: the client gets the reason.
				return p.backendError(ctx, method, call, deadline, err, false)
			}
			// The client side failed first (it went away, or sent a
			// message over a size limit); respErr is only the consequence.
			return err
		}
	default:
	}
	if !fromBackend {
		// Sending to the client failed: the client is gone or misbehaved.
		return respErr
	}
	ss.SetTrailer(responseMetadata(cs.Trailer()))
	return p.backendError(ctx, method, call, deadline, respErr, false)
}

// Limits are the time limits of one call, as the Proxy applies them: the
// route timeout as the deadline of a unary call; for a stream, the wait
// for the backend's first response, the idle timeout and the maximum
// duration. A relay of the gateway's other than the Proxy's (a
// frame-level relay) uses them to end calls exactly as the Proxy does.
type Limits struct {
	ctx          context.Context
	cancel       context.CancelFunc // nil for a relay's unary call
	stopDeadline context.CancelFunc // the maximum duration's, or nil
	deadline     gatewayDeadline    // set when a gateway limit is the earlier deadline
	watch        *streamWatch
	relay        bool // the relay ends the unary call at deadline itself
}

// StartLimits starts the limits of call on ctx. The backend call must run
// in Context; Stop releases the timers.
func StartLimits(ctx context.Context, call *Call) *Limits {
	// The backend call lives in a context derived from the client's, so the
	// client's cancellation and deadline reach the backend; cancel also
	// ends the backend call when the client side fails first.
	l := &Limits{}
	switch {
	case !call.Streaming && call.Timeout > 0:
		dl := time.Now().Add(call.Timeout)
		if clientDL, ok := ctx.Deadline(); !ok || dl.Before(clientDL) {
			l.deadline = gatewayDeadline{at: dl, cause: errRouteTimeout}
		}
		ctx, l.cancel = context.WithDeadlineCause(ctx, dl, errRouteTimeout)
	case call.Streaming:
		var cancelCause context.CancelCauseFunc
		ctx, cancelCause = context.WithCancelCause(ctx)
		l.cancel = func() { cancelCause(nil) }
		if call.MaxStreamDuration > 0 {
			dl := time.Now().Add(call.MaxStreamDuration)
			if clientDL, ok := ctx.Deadline(); !ok || dl.Before(clientDL) {
				l.deadline = gatewayDeadline{at: dl, cause: errMaxStreamDuration}
			}
			ctx, l.stopDeadline = context.WithDeadlineCause(ctx, dl, errMaxStreamDuration)
		}
		// A stream's timeouts are about silence, not length, so they are
		// a timer rather than the backend call's deadline.
		l.watch = newStreamWatch(call.Timeout, call.StreamIdleTimeout, cancelCause)
	default:
		ctx, l.cancel = context.WithCancel(ctx)
	}
	l.ctx = ctx
	return l
}

// StartRelayLimits starts the limits of call for a relay that ends a
// unary call at [Limits.Deadline] itself: the call gets no context of its
// own, and its Context is ctx. A context with a deadline costs a timer, a
// registration in the stream's context and ~8 allocations a call; a
// relay that already waits on its own channels ends the call with one
// reused timer. A stream's limits are StartLimits'. Stop releases them
// all the same.
func StartRelayLimits(ctx context.Context, call *Call) *Limits {
	if call.Streaming {
		return StartLimits(ctx, call)
	}
	l := &Limits{ctx: ctx, relay: true}
	if call.Timeout > 0 {
		dl := time.Now().Add(call.Timeout)
		if clientDL, ok := ctx.Deadline(); !ok || dl.Before(clientDL) {
			l.deadline = gatewayDeadline{at: dl, cause: errRouteTimeout}
		}
	}
	return l
}

// Deadline is when the relay must end a unary call started by
// StartRelayLimits, with DEADLINE_EXCEEDED, if the client's deadline (in
// Context) has not ended it first: the route timeout when it comes
// before the client's deadline. Zero means none, and always for limits
// that StartLimits started, whose Context carries their deadline.
func (l *Limits) Deadline() time.Time {
	if !l.relay {
		return time.Time{}
	}
	return l.deadline.at
}

// Context is the context the backend call runs in.
func (l *Limits) Context() context.Context { return l.ctx }

// Touch records a message in either direction (the idle timeout).
func (l *Limits) Touch() { l.watch.touch() }

// Answered records the backend's first response.
func (l *Limits) Answered() { l.watch.answered() }

// Hooks returns Touch and Answered for a relay to call, or nils when the
// call has no stream timer to feed them to (a unary call, or a stream
// without a first-response or idle timeout): a method value allocates on
// every call, and a relay skips nil hooks.
func (l *Limits) Hooks() (touch, answered func()) {
	if l.watch == nil {
		return nil, nil
	}
	return l.Touch, l.Answered
}

// Stop ends the call's context and its timers.
func (l *Limits) Stop() {
	l.watch.stop()
	if l.stopDeadline != nil {
		l.stopDeadline()
	}
	if l.cancel != nil {
		l.cancel()
	}
}

// Failure says how a backend call failed, for [Proxy.Error].
type Failure int

const (
	// FailedStatus: the backend's status, or the call's context ended.
	FailedStatus Failure = iota
	// FailedToConnect: the backend could not be reached.
	FailedToConnect
	// FailedBroken: the backend's stream or connection broke without a
	// status.
	FailedBroken
)

// Error returns the error the client gets for a call to the backend that
// failed with err, as the Proxy's own calls: the backend's status
// verbatim (err itself), unless the gateway ended the call (route
// timeout, stream idle timeout, maximum duration) or the backend could
// not be reached or broke the call (UNAVAILABLE, BACKEND_UNAVAILABLE).
func (p *Proxy) Error(l *Limits, method string, call Call, err error, how Failure) error {
	ctx := l.ctx
	cause := context.Cause(ctx)
	dl, hasDL := ctx.Deadline()
	if l.relay && !l.deadline.at.IsZero() {
		// The relay's own deadline, which comes before the client's: once
		// it has passed, the gateway ended the call, as the cause of a
		// context with that deadline would say.
		dl, hasDL = l.deadline.at, true
		if l.deadline.passed() {
			cause = l.deadline.cause
		}
	}
	switch how {
	case FailedToConnect:
		err = status.Error(codes.Unavailable, err.Error())
	case FailedBroken:
		if hasDL && !time.Now().Before(dl) {
			// The backend reset the stream at the deadline it was given
			// (the route timeout's or the client's), before the
			// gateway's own timer fired.
			err = status.Error(codes.DeadlineExceeded, "context deadline exceeded")
			break
		}
		if !gatewayCause(cause) && ctx.Err() == nil {
			p.logger.WarnContext(ctx, "grpcproxy: backend stream broke", "method", method, "target", call.Backend.Target, "error", err)
			return gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend broke the call")
		}
	}
	return p.causedError(ctx, cause, method, call, l.deadline, err, how == FailedToConnect)
}

// Serve relays one call the Director already decided (call) on ss, as the
// Proxy's handler does after calling the Director, Done and Finally
// included: for a caller that decided the call itself and then found it
// needs the message relay.
func (p *Proxy) Serve(ss grpc.ServerStream, method string, call Call) error {
	err := p.forward(ss.Context(), ss, method, &call)
	call.End(err)
	return err
}

// forwardRequests relays the client's messages to the backend until the
// client half-closes or either side fails. It returns nil when the client
// half-closed, and also when the backend call ended (SendMsg's io.EOF),
// whose status the other direction reports.
func forwardRequests(ss grpc.ServerStream, cs grpc.ClientStream, watch *streamWatch) error {
	// One Frame for every message: RecvMsg fills it, SendMsg takes its own
	// reference, Free empties it for the next.
	f := new(Frame)
	for {
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				return cs.CloseSend()
			}
			return err
		}
		watch.touch()
		err := cs.SendMsg(f)
		f.Free()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// forwardRequest relays the one request message of a method that takes
// one (Call.SingleRequest) and half-closes the backend's side. Its errors
// are those of forwardRequests.
func forwardRequest(ss grpc.ServerStream, cs grpc.ClientStream, watch *streamWatch) error {
	var f Frame
	if err := ss.RecvMsg(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return cs.CloseSend()
		}
		return err
	}
	watch.touch()
	err := cs.SendMsg(&f)
	f.Free()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	return cs.CloseSend()
}

// forwardResponses relays the backend's headers and messages to the client
// until the backend's side ends. Its error is io.EOF when the backend
// succeeded; fromBackend tells a backend's error from a failure to send to
// the client.
func forwardResponses(ss grpc.ServerStream, cs grpc.ClientStream, watch *streamWatch) (fromBackend bool, err error) {
	// Header waits for the backend's headers, so a backend that sends them
	// before its first message (a server stream waiting for events) is
	// heard at once. It returns nil metadata when the backend answered with
	// trailers only, and then the client gets trailers only too.
	md, _ := cs.Header()
	watch.answered()
	if md != nil {
		// An error here means the client is gone, which the next SendMsg
		// reports, or that an interceptor has already sent the headers,
		// which must not fail the call.
		_ = ss.SendHeader(responseMetadata(md))
	}
	f := new(Frame) // reused, as in forwardRequests
	for {
		if err := cs.RecvMsg(f); err != nil {
			return true, err
		}
		watch.touch()
		err := ss.SendMsg(f)
		f.Free()
		if err != nil {
			return false, err
		}
	}
}

// gatewayEnded reports whether one of the gateway's own timers ended the
// call's context.
func gatewayEnded(ctx context.Context) bool {
	return gatewayCause(context.Cause(ctx))
}

// gatewayCause reports whether cause is one of the gateway's own timers'.
func gatewayCause(cause error) bool {
	return errors.Is(cause, errStreamIdle) || errors.Is(cause, errMaxStreamDuration) || errors.Is(cause, errRouteTimeout)
}

// backendError returns the error the client gets for a failed backend
// call: the backend's status verbatim, except when the gateway itself ended
// the call. deadline is when the route timeout or the maximum stream
// duration ends the call, zero if the client's deadline comes first. atStart tells an error of NewStream,
// which fails only when gRPC could not reach the backend, from one
// reported by the backend.
func (p *Proxy) backendError(ctx context.Context, method string, call Call, deadline gatewayDeadline, err error, atStart bool) error {
	return p.causedError(ctx, context.Cause(ctx), method, call, deadline, err, atStart)
}

// causedError is backendError for a call whose context's cause, or the
// relay's deadline in its stead, is cause.
func (p *Proxy) causedError(ctx context.Context, cause error, method string, call Call, deadline gatewayDeadline, err error, atStart bool) error {
	st := status.Convert(err)
	if !gatewayCause(cause) && st.Code() == codes.DeadlineExceeded && deadline.passed() {
		// The backend got the gateway's deadline as grpc-timeout and ended
		// the call there (its DEADLINE_EXCEEDED, or an RST_STREAM CANCEL
		// that grpc-go reports as DEADLINE_EXCEEDED past the deadline)
		// before the gateway's own timer fired: the gateway's limit ended
		// it all the same.
		cause = deadline.cause
	}
	switch {
	case errors.Is(cause, errStreamIdle):
		p.logger.InfoContext(ctx, "grpcproxy: stream idle timeout", "method", method, "target", call.Backend.Target, "timeout", call.StreamIdleTimeout)
		return gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonStreamIdleTimeout,
			fmt.Sprintf("the stream carried no message for the stream idle timeout of %s", call.StreamIdleTimeout))
	case errors.Is(cause, errMaxStreamDuration):
		p.logger.InfoContext(ctx, "grpcproxy: maximum stream duration", "method", method, "target", call.Backend.Target, "max", call.MaxStreamDuration)
		return gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonMaxStreamDuration,
			fmt.Sprintf("the stream reached the maximum stream duration of %s", call.MaxStreamDuration))
	case errors.Is(cause, errRouteTimeout):
		p.logger.InfoContext(ctx, "grpcproxy: route timeout", "method", method, "target", call.Backend.Target, "timeout", call.Timeout)
		return gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonBackendTimeout,
			fmt.Sprintf("the backend did not answer within the route timeout of %s", call.Timeout))
	case st.Code() == codes.Unavailable && atStart:
		p.logger.WarnContext(ctx, "grpcproxy: backend unavailable", "method", method, "target", call.Backend.Target, "error", st.Message())
		return gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable")
	case brokenStream(st) && ctx.Err() == nil:
		// The backend's connection or stream broke: no status of its own.
		p.logger.WarnContext(ctx, "grpcproxy: backend stream broke", "method", method, "target", call.Backend.Target, "error", st.Message())
		return gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend broke the call")
	}
	return err
}

// brokenStream reports whether a status is grpc-go's report of a broken
// stream or connection (RST_STREAM, EOF, a closed transport) rather than a
// status the backend sent: those carry a recognisable message and never
// details.
func brokenStream(st *status.Status) bool {
	if len(st.Details()) > 0 || (st.Code() != codes.Unavailable && st.Code() != codes.Internal && st.Code() != codes.Unknown) {
		return false
	}
	msg := st.Message()
	for _, s := range []string{"RST_STREAM", "error reading from server", "transport is closing", "connection closed", "server closed the stream without sending trailers"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// gatewayDeadline is the earlier of the gateway's own deadlines on a call
// (the route timeout of a unary call, the maximum duration of a stream)
// when it comes before the client's; the zero value means none.
type gatewayDeadline struct {
	at    time.Time
	cause error // errRouteTimeout or errMaxStreamDuration
}

// passed reports whether the deadline has passed. The backend, which got
// it as grpc-timeout (rounded up, counted from when it received the
// call), never ends the call at it before it has passed here, so the clock
// decides as well as the context, whose timer may not have fired yet.
func (d gatewayDeadline) passed() bool {
	return !d.at.IsZero() && !time.Now().Before(d.at)
}

// contentSubtype returns the content-subtype of the incoming call, such as
// "json" for "application/grpc+json", or "" for the default, proto.
func contentSubtype(in metadata.MD) string {
	vs := in.Get("content-type")
	if len(vs) == 0 {
		return ""
	}
	ct := strings.ToLower(vs[0])
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	sub, ok := strings.CutPrefix(ct, "application/grpc+")
	if !ok || sub == "proto" {
		return ""
	}
	return sub
}
