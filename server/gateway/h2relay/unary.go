package h2relay

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// UnaryUserAgent is the user-agent of the calls [Pool.Unary] makes.
const UnaryUserAgent = "tollgate-h2relay"

// UnaryResult is what a unary call made with [Pool.Unary] brought back.
type UnaryResult struct {
	// Response is the response message's payload (inflated if the
	// backend compressed it); nil unless the call succeeded.
	Response []byte
	// Header is the backend's response header metadata, nil when it
	// answered with trailers only; Trailer its trailer metadata. Both
	// leave out what describes the backend's hop or gRPC's framing
	// (pseudo-headers, hop-by-hop headers, content-type, grpc-* keys, the
	// status among them), and have -bin values decoded: what grpc-go's
	// client returns, without gRPC's reserved keys.
	Header, Trailer metadata.MD
	// RequestBytes and ResponseBytes count message payload bytes, without
	// gRPC's 5-byte prefixes (the response's as received, compressed or
	// not).
	RequestBytes, ResponseBytes int64
	// Answered says the backend sent headers or a status.
	Answered bool
}

// Unary makes a unary call of method ("/package.Service/Method") with the
// request message's payload, request, to the backend at call.Addr, over
// the Pool's connections: the gateway's own client for a call whose
// request is in memory already (a transcoded REST call), without a
// server-side [Stream] to relay from.
//
// The request headers are md (the caller's metadata; pseudo-headers,
// hop-by-hop headers, gRPC's reserved keys, content-type, user-agent and
// x-tollgate-* are dropped, as [Relay] drops them), replaced key by key by
// call.Metadata, with grpc-timeout from ctx's deadline and the compressors
// registered with grpc-go in grpc-accept-encoding. ctx's end resets the
// stream (RST_STREAM CANCEL), and so does call.Deadline, as in [Relay]
// (the earlier of it and ctx's deadline is the grpc-timeout). Both messages are bounded by
// call.MaxMsgSize (zero: [DefaultMaxMsgSize]), the response also once
// inflated. A stream the backend refused before processing it is retried
// once on a new connection (the request is still here to send again).
//
// The error is the backend's status (details included), nil for OK; or
// wraps [ErrBackendUnavailable] or [ErrBackendBroke] when the backend
// gave no status; or is the status of a call ended by ctx or by a message
// over the size limit, or of a response that is not a unary call's.
// call.Touch and call.Answered are called as [Relay] calls them.
func (p *Pool) Unary(ctx context.Context, call Call, method string, md metadata.MD, request []byte) (UnaryResult, error) {
	var res UnaryResult
	maxMsg := call.MaxMsgSize
	if maxMsg <= 0 {
		maxMsg = DefaultMaxMsgSize
	}
	if len(request) > maxMsg {
		return res, status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", len(request), maxMsg)
	}
	if ctx.Err() != nil {
		return res, ctxError(ctx)
	}
	// The call's own deadline counts only if it comes before the
	// context's, which ends the call anyway.
	deadline, own := call.Deadline, !call.Deadline.IsZero()
	if dl, ok := ctx.Deadline(); ok && (!own || !dl.After(deadline)) {
		deadline, own = dl, false
	}
	var ownDeadline time.Time // what the dial waits are bounded by besides ctx
	if own {
		ownDeadline = deadline
	}
	// What outlives a stack frame here, allocated at once.
	st := &unaryState{call: call}
	fields := unaryFields(&st.call, method, md, deadline)
	notify := make(chan struct{}, 1)
	// The call's own deadline is a reused timer, taken when the call
	// first waits, without a context's allocations.
	defer func() {
		if st.timer != nil {
			putTimer(st.timer)
		}
	}()
	for retried := false; ; retried = true {
		cs, err := p.openBy(ctx, ownDeadline, call.Addr, call.ConnectTimeout, fields, notify)
		if err != nil {
			return st.res, err
		}
		u := &st.u
		*u = unaryCall{cs: cs, call: &st.call, maxMsg: maxMsg, res: &st.res, deadline: ownDeadline, until: deadline, timer: &st.timer}
		err = u.run(ctx, request)
		cs.cc.w.flush()
		cs.close()
		if u.refused && !retried && !st.res.Answered {
			// The backend never processed the stream: once more, on
			// another connection.
			st.res = UnaryResult{}
			continue
		}
		if err == nil && u.count == 0 {
			return st.res, status.Errorf(codes.Internal, "%s: the backend sent no response message", method)
		}
		if err != nil {
			st.res.Response = nil
		}
		return st.res, err
	}
}

// unaryState is a Unary call's: its Call, result, deadline timer and
// attempt, in one allocation.
type unaryState struct {
	call  Call
	res   UnaryResult
	timer *time.Timer
	u     unaryCall
}

// unaryCall is one attempt of a Unary call on one backend stream.
type unaryCall struct {
	cs      *clientStream
	call    *Call
	maxMsg  int
	res     *UnaryResult
	refused bool // the backend refused the stream unprocessed

	deadline time.Time    // the call's own (Call.Deadline), or zero
	until    time.Time    // the earlier of it and ctx's deadline, or zero
	timer    **time.Timer // Unary's deadline timer, nil until taken

	prefix   [5]byte // the request message's
	sent     int     // bytes of the framed request written
	hdr      [5]byte // the response message's prefix
	hdrN     int
	msg      []byte // the response message, once its prefix is in
	msgN     int
	count    int    // response messages begun
	encoding string // the response's grpc-encoding
}

// run sends the request and reads the response until the backend's
// status, ctx's end or a failure.
func (u *unaryCall) run(ctx context.Context, request []byte) error {
	cs := u.cs
	prefix := &u.prefix
	n := len(request)
	prefix[1], prefix[2], prefix[3], prefix[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	total := len(prefix) + n
	u.res.RequestBytes = int64(n)
	for {
		progress := false
		var waitConn <-chan struct{}

		// The request: as much as the windows allow.
		if u.sent < total {
			k, wait := cs.reserveSend(total - u.sent)
			if k == 0 {
				waitConn = wait
			} else {
				last := u.sent+k == total
				err := cs.cc.w.cork(func(*http2.Framer) error {
					return cs.cc.w.writeMessage(cs.id, prefix[:], request, u.sent, k, last)
				})
				if err != nil {
					return fmt.Errorf("%w: %v", ErrBackendBroke, err)
				}
				u.sent += k
				progress = true
			}
		}

		// The response.
		cs.mu.Lock()
		hdrs := cs.headers
		cs.headers = nil
		gotTrail, trailers, cerr, refused := cs.gotTrail, cs.trailers, cs.err, cs.refused
		cs.mu.Unlock()
		if hdrs != nil {
			u.answered()
			if err := u.onHeaders(hdrs); err != nil {
				cs.cancel(http2.ErrCodeCancel)
				return err
			}
			progress = true
		}
		if u.res.Answered && cs.buffered() > 0 {
			if err := u.readResponse(); err != nil {
				cs.cancel(http2.ErrCodeCancel)
				return err
			}
			progress = true
		}
		if cerr != nil {
			u.refused = refused
			return afterDeadline(cerr, u.until)
		}
		if gotTrail && (cs.buffered() == 0 || !u.res.Answered) {
			u.answered()
			if u.sent < total {
				// The backend ended the call before it had the whole
				// request: nothing more is sent to it.
				cs.cancel(http2.ErrCodeNo)
			}
			if trailers == nil {
				return fmt.Errorf("%w: the response ended without trailers", ErrBackendBroke)
			}
			return u.onTrailers(trailers)
		}
		if progress {
			continue
		}
		cs.cc.w.flush()
		var deadlineC <-chan time.Time
		if !u.deadline.IsZero() {
			if *u.timer == nil {
				*u.timer = getTimer(time.Until(u.deadline))
			}
			deadlineC = (*u.timer).C
		}
		select {
		case <-cs.notify:
		case <-waitConn:
		case <-ctx.Done():
			cs.cancel(http2.ErrCodeCancel)
			return ctxError(ctx)
		case <-deadlineC:
			cs.cancel(http2.ErrCodeCancel)
			return errDeadlineExceeded
		}
	}
}

func (u *unaryCall) answered() {
	if !u.res.Answered {
		u.res.Answered = true
		if u.call.Answered != nil {
			u.call.Answered()
		}
	}
}

// onHeaders takes the response headers: a gRPC response's, or the status
// of an HTTP answer that is not one, as grpc-go's client reports it.
func (u *unaryCall) onHeaders(fields []hpack.HeaderField) error {
	for _, f := range fields {
		switch f.Name {
		case ":status":
			if f.Value != "200" {
				return httpStatusError(f.Value)
			}
		case "content-type":
			if !isGRPCContentType(f.Value) {
				return status.Errorf(codes.Internal, "transport: received unexpected content-type %q", f.Value)
			}
		case "grpc-encoding":
			u.encoding = f.Value
		}
	}
	md, err := responseMD(fields)
	if err != nil {
		return err
	}
	if md == nil {
		md = metadata.MD{}
	}
	u.res.Header = md
	return nil
}

// onTrailers takes the response trailers (or a trailers-only response)
// and returns the call's status.
func (u *unaryCall) onTrailers(fields []hpack.HeaderField) error {
	httpStatus, hasStatus := "", false
	for _, f := range fields {
		switch f.Name {
		case ":status":
			httpStatus = f.Value
		case "grpc-status":
			hasStatus = true
		}
	}
	if !hasStatus && httpStatus != "" && httpStatus != "200" {
		// Not a gRPC answer (a trailers-only response carries :status).
		return httpStatusError(httpStatus)
	}
	md, err := responseMD(fields)
	if err != nil {
		return err
	}
	u.res.Trailer = md
	serr := statusOf(fields)
	if serr == nil {
		if u.msg != nil && u.msgN < len(u.msg) || u.hdrN > 0 {
			return status.Error(codes.Internal, "the response ended inside a message")
		}
		return u.inflate()
	}
	for _, f := range fields {
		if f.Name != "grpc-status-details-bin" {
			continue
		}
		b, err := decodeBin(f.Value)
		if err != nil {
			break
		}
		st := &spb.Status{}
		if proto.Unmarshal(b, st) != nil {
			break
		}
		code := status.Code(serr)
		if st.Code != int32(code) {
			return status.Errorf(codes.Internal, "grpc-status-details-bin mismatch: grpc-status=%v, grpc-message=%q, grpc-status-details-bin=%+v", code, status.Convert(serr).Message(), st)
		}
		return status.FromProto(st).Err()
	}
	return serr
}

// readResponse moves what the stream buffered into the response message,
// acknowledging it to the backend.
func (u *unaryCall) readResponse() error {
	cs := u.cs
	for cs.buffered() > 0 {
		if u.msg == nil {
			n := cs.readResponse(u.hdr[u.hdrN:])
			cs.ackResponse(n, 0)
			u.hdrN += n
			if u.hdrN < len(u.hdr) {
				continue
			}
			u.count++
			if u.count > 1 {
				return status.Error(codes.Internal, "the backend sent more than one response message to a unary call")
			}
			size := uint32(u.hdr[1])<<24 | uint32(u.hdr[2])<<16 | uint32(u.hdr[3])<<8 | uint32(u.hdr[4])
			if int64(size) > int64(u.maxMsg) {
				return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", size, u.maxMsg)
			}
			u.msg, u.msgN, u.hdrN = make([]byte, size), 0, 0
			u.res.ResponseBytes = int64(size)
			if size > 0 && u.call.Touch != nil {
				u.call.Touch()
			}
			continue
		}
		if u.msgN == len(u.msg) {
			// Bytes beyond the message: another one.
			return status.Error(codes.Internal, "the backend sent more than one response message to a unary call")
		}
		n := cs.readResponse(u.msg[u.msgN:])
		cs.ackResponse(n, 0)
		u.msgN += n
	}
	return nil
}

// inflate sets the result's response from the whole message, inflated if
// it came compressed, as grpc-go's client does.
func (u *unaryCall) inflate() error {
	if u.msg == nil {
		return nil
	}
	switch u.hdr[0] {
	case 0:
		u.res.Response = u.msg
		return nil
	case 1:
	default:
		return status.Errorf(codes.Internal, "grpc: received unexpected payload format %d", u.hdr[0])
	}
	if u.encoding == "" || u.encoding == encoding.Identity {
		return status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
	}
	comp := encoding.GetCompressor(u.encoding)
	if comp == nil {
		return status.Errorf(codes.Internal, "grpc: Decompressor is not installed for grpc-encoding %q", u.encoding)
	}
	b, err := decompress(comp, u.msg, u.maxMsg)
	if err != nil {
		return err
	}
	u.res.Response = b
	return nil
}

// unaryFields are the request headers of a Unary call; a deadline that
// is not zero is sent as grpc-timeout.
func unaryFields(call *Call, method string, md metadata.MD, deadline time.Time) []hpack.HeaderField {
	authority := call.Authority
	if authority == "" {
		authority = call.Addr
	}
	fields := make([]hpack.HeaderField, 0, 16+len(md)+len(call.Metadata))
	fields = append(fields,
		hpack.HeaderField{Name: ":method", Value: "POST"},
		hpack.HeaderField{Name: ":scheme", Value: "http"},
		hpack.HeaderField{Name: ":path", Value: method},
		hpack.HeaderField{Name: ":authority", Value: authority},
		hpack.HeaderField{Name: "content-type", Value: "application/grpc"},
		hpack.HeaderField{Name: "user-agent", Value: UnaryUserAgent},
		hpack.HeaderField{Name: "te", Value: "trailers"},
	)
	if ae := acceptEncoding(); ae != "" {
		fields = append(fields, hpack.HeaderField{Name: "grpc-accept-encoding", Value: ae})
	}
	if !deadline.IsZero() {
		fields = append(fields, hpack.HeaderField{Name: "grpc-timeout", Value: FormatTimeout(time.Until(deadline))})
	}
	return appendMetadata(fields, md, nil, call, true)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// responseMD is the metadata of a response's headers or trailers: what
// grpc-go's client makes of them, less what the gateway never passes on
// (grpcproxy's response filter).
func responseMD(fields []hpack.HeaderField) (metadata.MD, error) {
	var md metadata.MD
	for _, f := range fields {
		k := f.Name
		if k == "" || k[0] == ':' || isHopByHop(k) || k == "content-type" || strings.HasPrefix(k, "grpc-") {
			continue
		}
		v := f.Value
		if strings.HasSuffix(k, "-bin") {
			b, err := decodeBin(v)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "transport: malformed %s: %v", k, err)
			}
			v = string(b)
		}
		if md == nil {
			md = make(metadata.MD, len(fields))
		}
		md[k] = append(md[k], v)
	}
	return md, nil
}

// httpStatusError is the status of an HTTP response that is not gRPC's,
// as grpc-go's client maps it.
func httpStatusError(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return status.Errorf(codes.Internal, "transport: malformed http-status: %v", err)
	}
	code := codes.Unknown
	switch n {
	case http.StatusBadRequest:
		code = codes.Internal
	case http.StatusUnauthorized:
		code = codes.Unauthenticated
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusNotFound:
		code = codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		code = codes.Unavailable
	}
	return status.Errorf(code, "unexpected HTTP status code received from server: %d (%s)", n, http.StatusText(n))
}

// writeMessage writes bytes [off, off+k) of the framed message prefix +
// payload as DATA frames of stream id, no larger than the peer's maximum
// each, straight into the write buffer (no framed copy of the message is
// made). The caller holds the writer.
func (w *frameWriter) writeMessage(id uint32, prefix, payload []byte, off, k int, end bool) error {
	max := int(w.maxFrame.Load())
	for k > 0 {
		n := min(k, max)
		// The frame header and the message prefix are appended to the
		// buffer's free space (bufio's idiom): handed to Write as
		// slices of their own, they would escape to the heap.
		b := appendDataHeader(w.bw.AvailableBuffer(), id, end && n == k, n)
		left, o := n, off
		if o < len(prefix) {
			m := min(len(prefix)-o, left)
			b = append(b, prefix[o:o+m]...)
			o += m
			left -= m
		}
		if _, err := w.bw.Write(b); err != nil {
			return err
		}
		if left > 0 {
			if _, err := w.bw.Write(payload[o-len(prefix) : o-len(prefix)+left]); err != nil {
				return err
			}
		}
		off += n
		k -= n
	}
	return nil
}
