package h2relay

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

// errClientReset is the cause of a stream's context when the client reset
// the stream or its connection closed.
var errClientReset = errors.New("h2relay: the client reset the stream")

// Stream is one call on a [Server]: its request headers, and both the
// frame-level access [Relay] uses and the grpc.ServerStream methods
// (RecvMsg and SendMsg of length-prefixed messages) for handlers that need
// messages. Its context carries the incoming metadata, the peer, the
// deadline the client sent (grpc-timeout) and a grpc.ServerTransportStream,
// so grpc.SetHeader, grpc.SetTrailer and grpc.Method work on it as on
// grpc-go's server. A Stream's message methods follow grpc.ServerStream's
// rules: RecvMsg and SendMsg may run on two goroutines, not more.
type Stream struct {
	sc        *serverConn
	id        uint32
	method    string
	authority string
	encoding  string              // the request's grpc-encoding
	fields    []hpack.HeaderField // the request's regular header fields, as received
	md        metadata.MD         // the incoming metadata in ctx
	info      grpc.StreamServerInfo
	ctx       context.Context
	cancel    context.CancelCauseFunc
	stopTimer context.CancelFunc // the grpc-timeout's timer, or nil

	reqWake chan struct{} // request data, its end or a reset arrived
	winWake chan struct{} // the send window grew, or a reset arrived

	mu        sync.Mutex
	req       queue // received request bytes not yet passed on
	reqEnd    bool
	reset     bool
	resetCode http2.ErrCode
	recvAvail int64 // what the client may still send on the stream
	recvOwed  int64 // consumed, not yet acknowledged with WINDOW_UPDATE
	sendWin   streamWindow
	// winWait says a sender found the send window empty: the next
	// WINDOW_UPDATE wakes it (winWake). The others wake nobody: a
	// streaming client's updates would otherwise wake the relay for each.
	winWait bool

	// The response side, written by the handler (SetHeader and
	// SetTrailer may come from another goroutine of the handler's).
	rmu         sync.Mutex
	header      metadata.MD
	headerField hpack.HeaderField // one more header entry, set by SetHeaderField (Name "" when none)
	trailer     metadata.MD
	headerSent  bool
	dataSent    bool
	ended       bool
	finishErr   error
	relayErr    error               // the error Relay returned, when it left trailers
	relayTrails []hpack.HeaderField // the backend's trailers, to send if the call ends with relayErr
	badEncoding bool                // the request's encoding is unknown: the status says which are known

	msgUsed atomic.Bool // RecvMsg or SendMsg was called
	corked  bool        // Relay runs: its writes to the client are corked
	recvHdr [5]byte

	// The reader's batch this stream's goroutine was woken in, until it
	// flushes (see wakeBatch).
	batch atomic.Pointer[wakeBatch]
}

var _ grpc.ServerStream = (*Stream)(nil)

func newStream(sc *serverConn, id uint32, path string, f *http2.MetaHeadersFrame) *Stream {
	st := &Stream{
		sc:        sc,
		id:        id,
		method:    path,
		info:      grpc.StreamServerInfo{FullMethod: path, IsClientStream: true, IsServerStream: true},
		authority: f.PseudoValue("authority"),
		fields:    f.RegularFields(),
		reqWake:   make(chan struct{}, 1),
		winWake:   make(chan struct{}, 1),
		recvAvail: int64(sc.srv.streamWindow),
		req:       queue{pool: sc.srv.bufs},
	}
	md, timeout, encoding := requestMD(st.fields, st.authority)
	st.encoding = encoding
	st.md = md
	// The peer's context is the connection's: one value fewer per call.
	// The stream is found through its grpc.ServerTransportStream
	// (FromContext): one more fewer.
	ctx := metadata.NewIncomingContext(sc.peerCtx, md)
	ctx = grpc.NewContextWithServerTransportStream(ctx, transportStream{st})
	ctx, st.cancel = context.WithCancelCause(ctx)
	if d, ok := ParseTimeout(timeout); ok {
		ctx, st.stopTimer = context.WithTimeout(ctx, d)
	}
	st.ctx = ctx
	return st
}

// requestMD is the incoming metadata of a request's regular header fields
// and its :authority, as grpc-go's server makes it, and the request's
// grpc-timeout and grpc-encoding.
func requestMD(fields []hpack.HeaderField, authority string) (md metadata.MD, timeout, encoding string) {
	md = make(metadata.MD, len(fields)+1)
	// One backing array for the values, each key's slice capped so that a
	// repeated key's append copies: one allocation instead of one per key.
	vals := make([]string, 0, len(fields)+1)
	for _, hf := range fields {
		switch hf.Name {
		case "grpc-timeout":
			timeout = hf.Value
			continue
		case "grpc-encoding":
			encoding = hf.Value
			continue
		case "te", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
			continue
		}
		if strings.HasPrefix(hf.Name, "grpc-") && !strings.HasSuffix(hf.Name, "-bin") {
			// Reserved by gRPC (grpc-encoding and the like): not metadata,
			// as on grpc-go's server; a relay passes them on itself.
			continue
		}
		v := hf.Value
		if strings.HasSuffix(hf.Name, "-bin") {
			b, err := decodeBin(v)
			if err != nil {
				continue
			}
			v = string(b)
		}
		if prev, ok := md[hf.Name]; ok {
			md[hf.Name] = append(prev, v)
			continue
		}
		vals = append(vals, v)
		md[hf.Name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if authority != "" {
		vals = append(vals, authority)
		md[":authority"] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return md, timeout, encoding
}

// ServerInfo is the call's grpc.StreamServerInfo, for an interceptor
// chain: every call a bidirectional stream, as on the wire all four kinds
// of call look the same. It is the stream's own, not one per call; the
// chain must not change it.
func (st *Stream) ServerInfo() *grpc.StreamServerInfo { return &st.info }

// decodeBin decodes a binary header value, padded or not, as gRPC does.
func decodeBin(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// ParseTimeout parses a grpc-timeout value ("100m", "5S": at most eight
// digits and a unit of H, M, S, m, u or n).
func ParseTimeout(s string) (time.Duration, bool) {
	if len(s) < 2 || len(s) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	if n > int64(1<<63-1)/int64(unit) {
		return 1<<63 - 1, true
	}
	return time.Duration(n) * unit, true
}

// FormatTimeout formats d as a grpc-timeout value, rounding up to the
// unit that keeps it within eight digits.
func FormatTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	const maxDigits = 99999999
	for _, u := range []struct {
		d time.Duration
		c byte
	}{{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'}, {time.Second, 'S'}, {time.Minute, 'M'}} {
		n := d / u.d
		if d%u.d != 0 {
			n++ // round up without overflowing
		}
		if n <= maxDigits {
			return formatTimeout(int64(n), u.c)
		}
	}
	return formatTimeout(int64(min(d/time.Hour+1, maxDigits)), 'H')
}

// formatTimeout is n and its unit, in one allocation.
func formatTimeout(n int64, unit byte) string {
	var b [9]byte
	return string(append(strconv.AppendInt(b[:0], n, 10), unit))
}

// FromContext returns the Stream whose context ctx is or derives from, or
// nil: the frame-level stream under the wrappers of an interceptor chain.
// It is the context's grpc.ServerTransportStream's (grpc.SetHeader's):
// a context that replaced that with another (an in-process call's) has
// none.
func FromContext(ctx context.Context) *Stream {
	if t, ok := grpc.ServerTransportStreamFromContext(ctx).(transportStream); ok {
		return t.st
	}
	return nil
}

// Context returns the stream's context.
func (st *Stream) Context() context.Context { return st.ctx }

// Method returns the full method name, "/package.Service/Method".
func (st *Stream) Method() string { return st.method }

// Authority returns the request's :authority.
func (st *Stream) Authority() string { return st.authority }

// Fields returns the request's regular header fields as received (lower
// case names, binary values still encoded). The caller must not modify
// them.
func (st *Stream) Fields() []hpack.HeaderField { return st.fields }

// Metadata is the call's incoming metadata, the map its Context carries
// (metadata.FromIncomingContext copies it on every call): read-only.
func (st *Stream) Metadata() metadata.MD { return st.md }

// MessagesUsed reports whether RecvMsg or SendMsg was called: the stream
// can no longer be relayed at the frame level.
func (st *Stream) MessagesUsed() bool { return st.msgUsed.Load() }

// run serves the stream with the server's handler and ends it.
func (st *Stream) run() {
	defer st.end()
	st.sc.srv.handler(st)
}

// Finish sets the status the stream ends with when its handler returns
// (nil: OK), as the error a grpc.StreamHandler returns.
func (st *Stream) Finish(err error) {
	st.rmu.Lock()
	st.finishErr = err
	st.rmu.Unlock()
}

// end writes the stream's status (unless it already ended), releases its
// flow-control credit and forgets it.
func (st *Stream) end() {
	st.rmu.Lock()
	ended := st.ended
	st.ended = true
	err := st.finishErr
	st.rmu.Unlock()
	if !ended {
		st.writeStatus(err)
	}
	st.mu.Lock()
	st.req.release()
	st.recvOwed = 0
	reqEnd, reset := st.reqEnd, st.reset
	st.reset = true
	st.mu.Unlock()
	if !reqEnd && !reset && !ended {
		// The client is still sending: tell it to stop (RFC 9113 section
		// 8.1: a complete response before the request's end).
		_ = st.sc.w.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(st.id, http2.ErrCodeNo) })
	}
	if st.stopTimer != nil {
		st.stopTimer()
	}
	st.cancel(context.Canceled)
	st.sc.removeStream(st)
	// Frames corked by others may wait for a flush this stream's relay was
	// woken to make (a backend connection's reader relays DATA into the
	// write buffer and wakes one relay per connection to flush it): a
	// stream that ends without writing its status must not leave them.
	st.sc.w.flush()
}

// writeStatus ends the stream with err's status: the relay's verbatim
// trailers if err is what the relay returned, else trailers made from
// err and the handler's trailer metadata.
func (st *Stream) writeStatus(err error) {
	st.mu.Lock()
	reset := st.reset
	st.mu.Unlock()
	if reset {
		return
	}
	st.rmu.Lock()
	// Encoded before cork returns: the trailers can live on the stack.
	var buf [8]hpack.HeaderField
	fields, headers := buf[:0], []hpack.HeaderField(nil)
	if !st.headerSent {
		headers = []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
		if len(st.header) == 0 && st.headerField.Name == "" {
			// Trailers-only.
			fields, headers = headers, nil
		} else {
			// Header metadata goes in headers of its own, as grpc-go's
			// server sends it, so clients find it in Header().
			headers = st.appendHeader(headers)
		}
	}
	if st.relayTrails != nil && err == st.relayErr {
		fields = append(fields, st.relayTrails...)
	} else {
		fields = appendStatus(fields, err)
		if st.badEncoding && status.Code(err) == codes.Unimplemented {
			if known := acceptEncoding(); known != "" {
				fields = append(fields, hpack.HeaderField{Name: "grpc-accept-encoding", Value: known})
			}
		}
	}
	fields = appendMD(fields, st.trailer)
	st.headerSent = true
	st.rmu.Unlock()
	_ = st.sc.w.cork(func(fr *http2.Framer) error {
		if headers != nil {
			if err := st.sc.w.writeHeaders(fr, st.id, false, st.sc.w.headerBlock(headers)); err != nil {
				return err
			}
		}
		return st.sc.w.writeHeaders(fr, st.id, true, st.sc.w.headerBlock(fields))
	})
	st.yieldToBatch()
	st.sc.w.flush()
}

// appendStatus appends grpc-status, grpc-message and
// grpc-status-details-bin for err.
func appendStatus(fields []hpack.HeaderField, err error) []hpack.HeaderField {
	s := status.Convert(err)
	fields = append(fields, hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(s.Code()))})
	if m := s.Message(); m != "" {
		fields = append(fields, hpack.HeaderField{Name: "grpc-message", Value: encodeGRPCMessage(m)})
	}
	if p := s.Proto(); len(p.GetDetails()) > 0 {
		if b, err := proto.Marshal(p); err == nil {
			fields = append(fields, hpack.HeaderField{Name: "grpc-status-details-bin", Value: base64.RawStdEncoding.EncodeToString(b)})
		}
	}
	return fields
}

// encodeGRPCMessage percent-encodes a status message as gRPC requires.
func encodeGRPCMessage(m string) string {
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < ' ' || c > '~' || c == '%' {
			var b strings.Builder
			for j := 0; j < len(m); j++ {
				c := m[j]
				if c >= ' ' && c <= '~' && c != '%' {
					b.WriteByte(c)
				} else {
					fmt.Fprintf(&b, "%%%02X", c)
				}
			}
			return b.String()
		}
	}
	return m
}

// appendMD appends metadata as header fields (binary values encoded).
func appendMD(fields []hpack.HeaderField, md metadata.MD) []hpack.HeaderField {
	for k, vs := range md {
		if k == "" || k[0] == ':' || isHopByHop(k) || isReservedGRPC(k) {
			continue
		}
		for _, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				v = base64.RawStdEncoding.EncodeToString([]byte(v))
			}
			fields = append(fields, hpack.HeaderField{Name: k, Value: v})
		}
	}
	return fields
}

// isReservedGRPC reports whether a key is one gRPC sets itself.
func isReservedGRPC(k string) bool {
	switch k {
	case "content-type", "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "grpc-message-type":
		return true
	}
	return false
}

// isHopByHop reports whether a header describes one connection only.
func isHopByHop(k string) bool {
	switch k {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host":
		return true
	}
	return false
}

// onData appends a DATA frame's payload (flowLen with padding, which the
// connection acknowledged already) to the request. woke says the handler
// must be woken (reqWake): the connection's reader does so once it has
// handled the frames it has read.
func (st *Stream) onData(data []byte, flowLen int64, end bool) (code http2.ErrCode, woke bool) {
	st.mu.Lock()
	if st.reqEnd {
		st.mu.Unlock()
		return http2.ErrCodeStreamClosed, false
	}
	if flowLen > st.recvAvail {
		st.mu.Unlock()
		return http2.ErrCodeFlowControl, false
	}
	st.recvAvail -= flowLen
	// Padding is acknowledged at once: only data waits for the backend.
	st.recvOwed += flowLen - int64(len(data))
	if st.reset {
		st.mu.Unlock()
		return http2.ErrCodeNo, false
	}
	if len(data) > 0 {
		st.req.push(data)
	}
	if end {
		st.reqEnd = true
	}
	st.mu.Unlock()
	return http2.ErrCodeNo, len(data) > 0 || end
}

// onRequestEnd marks the client's half-close; the caller wakes the
// handler (reqWake).
func (st *Stream) onRequestEnd() {
	st.mu.Lock()
	st.reqEnd = true
	st.mu.Unlock()
}

// onReset ends the stream from the client's side (RST_STREAM, or the
// connection closed): the handler's context is cancelled.
func (st *Stream) onReset(code http2.ErrCode) {
	st.mu.Lock()
	already := st.reset
	st.reset, st.resetCode = true, code
	st.mu.Unlock()
	if !already {
		st.cancel(errClientReset)
	}
	wake(st.reqWake)
	wake(st.winWake)
}

// addSendWindow applies a WINDOW_UPDATE (or a SETTINGS change) to the
// stream's send window; false if it overflows.
func (st *Stream) addSendWindow(n int64) bool {
	st.mu.Lock()
	st.sendWin.avail += n
	ok := st.sendWin.avail <= 1<<31-1
	waiting := st.winWait && st.sendWin.avail > 0
	if waiting {
		st.winWait = false
	}
	st.mu.Unlock()
	if waiting {
		wake(st.winWake)
	}
	return ok
}

// requestState returns how many request bytes wait, whether the client
// half-closed, and the client's reset, if any.
func (st *Stream) requestState() (n int, end bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reset {
		return 0, false, st.resetErr()
	}
	return st.req.len(), st.reqEnd, nil
}

// readRequest moves up to len(p) bytes of the request into p. end says
// the client half-closed and everything was read. The bytes must be
// acknowledged with ackRequest once passed on.
func (st *Stream) readRequest(p []byte) (n int, end bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reset {
		return 0, false, st.resetErr()
	}
	n = st.req.pop(p)
	return n, st.reqEnd && st.req.len() == 0, nil
}

// resetErr is the error of a stream reset by the client; st.mu is held.
func (st *Stream) resetErr() error {
	if st.resetCode == http2.ErrCodeCancel || st.resetCode == http2.ErrCodeNo {
		return status.Error(codes.Canceled, "the client cancelled the call")
	}
	return status.Errorf(codes.Canceled, "the client reset the stream: %v", st.resetCode)
}

// ackRequest acknowledges n bytes of the request passed on: the client
// may send as much again. Unless flush, a WINDOW_UPDATE is corked (the
// relay flushes before it waits).
func (st *Stream) ackRequest(n int, flush bool) {
	st.mu.Lock()
	st.recvOwed += int64(n)
	var inc uint32
	if !st.reqEnd && !st.reset && st.recvOwed >= int64(st.sc.srv.streamWindow)/4 {
		inc = uint32(st.recvOwed)
		st.recvAvail += st.recvOwed
		st.recvOwed = 0
	}
	st.mu.Unlock()
	if inc > 0 {
		_ = st.sc.w.do(func(fr *http2.Framer) error { return fr.WriteWindowUpdate(st.id, inc) }, flush)
	}
}

// reserveSend takes up to n bytes of send window (the stream's and the
// connection's). With none available it returns 0 and, if the connection
// is what is missing, a channel closed when it grows (else winWake tells).
func (st *Stream) reserveSend(n int) (int, <-chan struct{}, error) {
	st.mu.Lock()
	if st.reset {
		err := st.resetErr()
		st.mu.Unlock()
		return 0, nil, err
	}
	k := int(min(int64(n), st.sendWin.avail))
	if k <= 0 {
		st.winWait = true
		st.mu.Unlock()
		return 0, nil, nil
	}
	st.sendWin.avail -= int64(k)
	st.mu.Unlock()
	got, wait := st.sc.sendWin.take(k)
	if got < k {
		st.mu.Lock()
		st.sendWin.avail += int64(k - got)
		st.mu.Unlock()
	}
	return got, wait, nil
}

// unreserveSend gives back n bytes reserved with reserveSend and not sent.
func (st *Stream) unreserveSend(n int) {
	st.mu.Lock()
	st.sendWin.avail += int64(n)
	st.mu.Unlock()
	st.sc.sendWin.give(n)
}

// writeData writes p (for which window was reserved) as DATA frames.
func (st *Stream) writeData(p []byte, end bool) error {
	st.sc.w.sentData.Store(true)
	return st.sc.w.do(func(*http2.Framer) error { return st.sc.w.writeData(st.id, end, p) }, !st.corked)
}

// writeDataFrom writes one DATA frame of at most n bytes (window
// reserved; n at most defaultMaxFrame, which every peer accepts) whose
// payload fill copies straight into the connection's write buffer, and
// returns how many bytes it wrote. A relay passes its stream's queued
// bytes on this way without a copy buffer of its own, which it would hold
// while it waits for the writer (behind a slow client's full socket,
// every stream of the connection waits there).
func (st *Stream) writeDataFrom(n int, fill func(p []byte) (int, bool, bool)) (int, error) {
	st.sc.w.sentData.Store(true)
	return st.sc.w.writeDataFrom(st.id, n, !st.corked, fill)
}

// writeDataFrom takes the writer and writes a DATA frame of stream id
// whose payload, at most n bytes, fill copies into the write buffer; fill
// returns how many bytes it copied, whether the frame ends the stream
// and whether to write it. When it copies none or refuses, nothing is
// written and the error is errNotWritten. flush is as for do.
func (w *frameWriter) writeDataFrom(id uint32, n int, flush bool, fill func(p []byte) (n int, end, ok bool)) (int, error) {
	wrote := 0
	err := w.do(func(*http2.Framer) error {
		n := min(n, w.bw.Size()-frameHeaderLen)
		if w.bw.Available() < frameHeaderLen+n {
			if err := w.bw.Flush(); err != nil {
				return err
			}
		}
		b := w.bw.AvailableBuffer()[:frameHeaderLen+n]
		k, end, ok := fill(b[frameHeaderLen:])
		if k == 0 || !ok {
			return errNotWritten
		}
		appendDataHeader(b[:0], id, end, k)
		if _, err := w.bw.Write(b[:frameHeaderLen+k]); err != nil {
			return err
		}
		wrote = k
		return nil
	}, flush)
	return wrote, err
}

// writeNow queues p as DATA frames in the connection's outbox, to leave
// with the connection's next write, if it can without waiting and check
// (called once the room is reserved) agrees: the stream's and the
// connection's send windows have room for all of p, and so has the
// outbox. The caller is a backend connection's reader, which must never
// wait for this client (a slow client must not hold up the other calls
// on the backend connection): it neither takes the connection's writer
// nor writes to its socket.
func (st *Stream) writeNow(p []byte, check func() bool) bool {
	n := int64(len(p))
	w := &st.sc.w
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.reset || st.sendWin.avail < n {
		return false
	}
	if !st.sc.sendWin.takeAll(n) {
		return false
	}
	if !w.out.add(st.sc.srv.bufs, st.id, p, int(w.maxFrame.Load()), check) {
		st.sc.sendWin.give(int(n))
		return false
	}
	st.sendWin.avail -= n
	return true
}

// outbox holds DATA frames a backend connection's reader relayed to a
// client connection, until a writer of that connection moves them into its
// write buffer (frameWriter.drain: every write and flush does, first, so
// that they leave before anything written after them). The reader only
// appends, under a lock of its own that no system call is made under: a
// writer blocked on a slow client's socket never blocks it; once the
// outbox is full, the reader leaves frames to the streams' relays. Its
// buffer, one of the stream window's size, is the server's pooled kind,
// taken at the first frame and given back at each drain: an idle
// connection holds none.
//
// The frames in it are records, not yet the frames that leave: a drain
// writes each stream's payloads in it as few DATA frames as the peer's
// maximum frame size allows (see writeCoalesced). A backend sends a DATA
// frame per message, and on a connection carrying several streams their
// frames come interleaved; the client then reads, accounts and queues one
// frame per message. Coalesced, a stream's messages that wait together
// cost the client one frame.
type outbox struct {
	mu     sync.Mutex
	box    *[]byte
	pool   *bufPools
	frames int          // records in the box
	last   int          // offset of the last record, -1 if none
	n      atomic.Int32 // len(*box): whether a drain has anything to move
}

// maxOutboxFrames bounds the records an outbox holds, and so the work of
// coalescing them (quadratic in the streams among them): a backend
// sending tiny frames fills it, and its frames then go the relays' way.
const maxOutboxFrames = 256

// add appends p as DATA records of stream id, of at most maxFrame bytes,
// if they fit and check agrees.
func (o *outbox) add(pool *bufPools, id uint32, p []byte, maxFrame int, check func() bool) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.box == nil {
		o.pool = pool
		o.box = pool.large.Get().(*[]byte)
		o.frames, o.last = 0, -1
	}
	b := *o.box
	// The last record grows when it is the same stream's and has room:
	// consecutive frames of one stream take one record.
	grow := 0
	if o.last >= 0 && recordID(b[o.last:]) == id {
		grow = min(len(p), maxFrame-recordLen(b[o.last:]))
	}
	frames := (len(p) - grow + maxFrame - 1) / maxFrame
	if len(b)+frames*frameHeaderLen+len(p) > cap(b) || o.frames+frames > maxOutboxFrames || !check() {
		if len(b) == 0 {
			// An idle connection holds no buffer.
			o.pool.put(o.box, b)
			o.box = nil
		}
		return false
	}
	if grow > 0 {
		n := recordLen(b[o.last:]) + grow
		b[o.last], b[o.last+1], b[o.last+2] = byte(n>>16), byte(n>>8), byte(n)
		b = append(b, p[:grow]...)
		p = p[grow:]
	}
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		o.last = len(b)
		b = appendDataHeader(b, id, false, n)
		b = append(b, p[:n]...)
		p = p[n:]
		o.frames++
	}
	*o.box = b
	o.n.Store(int32(len(b)))
	return true
}

// recordLen and recordID read the header of a DATA record (a frame
// header).
func recordLen(h []byte) int { return int(h[0])<<16 | int(h[1])<<8 | int(h[2]) }

func recordID(h []byte) uint32 {
	return (uint32(h[5])<<24 | uint32(h[6])<<16 | uint32(h[7])<<8 | uint32(h[8])) & (1<<31 - 1)
}

// take removes the outbox's records, nil if none, and the pool their
// buffer goes back to.
func (o *outbox) take() (*[]byte, *bufPools) {
	if o.n.Load() == 0 {
		return nil, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	box := o.box
	o.box = nil
	o.frames, o.last = 0, -1
	o.n.Store(0)
	return box, o.pool
}

// bytes are the bytes queued, valid until the next push or pop.
func (q *queue) bytes() []byte {
	if q.buf == nil {
		return nil
	}
	return q.buf[q.off:]
}

// drain moves the outbox's frames into the write buffer, each stream's
// coalesced; the caller holds the writer.
func (w *frameWriter) drain() {
	box, pool := w.out.take()
	if box == nil {
		return
	}
	if w.err == nil {
		w.err = w.writeCoalesced(*box)
		w.dirty = true
		w.sentData.Store(true)
	}
	pool.put(box, *box)
}

// writeCoalesced writes the DATA records in b as DATA frames, each
// stream's payloads, in their order, in frames as large as the peer
// accepts; streams in the order of their first record. Frames of
// different streams may be reordered (RFC 9113 section 5.1.2 orders a
// stream's own frames only), and every record of b leaves before anything
// written after it. b is consumed: the IDs of written records are zeroed.
// The caller holds the writer.
func (w *frameWriter) writeCoalesced(b []byte) error {
	max := int(w.maxFrame.Load())
	for off := 0; off < len(b); off += frameHeaderLen + recordLen(b[off:]) {
		id := recordID(b[off:])
		if id == 0 {
			continue // written with an earlier record of its stream
		}
		total := 0
		for o := off; o < len(b); o += frameHeaderLen + recordLen(b[o:]) {
			if recordID(b[o:]) == id {
				total += recordLen(b[o:])
			}
		}
		left := 0 // of the frame being written
		for o := off; o < len(b) && total > 0; o += frameHeaderLen + recordLen(b[o:]) {
			if recordID(b[o:]) != id {
				continue
			}
			p := b[o+frameHeaderLen : o+frameHeaderLen+recordLen(b[o:])]
			clear(b[o+5 : o+frameHeaderLen]) // written
			for len(p) > 0 {
				if left == 0 {
					left = min(total, max)
					if err := w.writeDataHeader(id, false, left); err != nil {
						return err
					}
				}
				k := min(left, len(p))
				if _, err := w.bw.Write(p[:k]); err != nil {
					return err
				}
				p, left, total = p[k:], left-k, total-k
			}
		}
	}
	return nil
}

// writeDataHeader writes the header of a DATA frame of n bytes into the
// write buffer's free space (a header array of the caller's would escape
// to the heap through the buffer's Write: an allocation per frame).
func (w *frameWriter) writeDataHeader(id uint32, end bool, n int) error {
	if w.bw.Available() < frameHeaderLen {
		if err := w.bw.Flush(); err != nil {
			return err
		}
	}
	_, err := w.bw.Write(appendDataHeader(w.bw.AvailableBuffer(), id, end, n))
	return err
}

// appendDataHeader appends the header of a DATA frame of n bytes.
func appendDataHeader(b []byte, id uint32, end bool, n int) []byte {
	var flags byte
	if end {
		flags = byte(http2.FlagDataEndStream)
	}
	return append(b, byte(n>>16), byte(n>>8), byte(n), byte(http2.FrameData), flags,
		byte(id>>24&0x7f), byte(id>>16), byte(id>>8), byte(id))
}

// writeData writes p as DATA frames of stream id, at most the peer's
// maximum frame size each, straight into the write buffer: the payload
// is copied once (the Framer would copy it into a frame buffer first).
// The caller holds the writer.
func (w *frameWriter) writeData(id uint32, end bool, p []byte) error {
	max := int(w.maxFrame.Load())
	for {
		n := min(len(p), max)
		if err := w.writeDataHeader(id, end && n == len(p), n); err != nil {
			return err
		}
		if _, err := w.bw.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// takeAll reserves n bytes of the window if all of them are available.
func (w *window) takeAll(n int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.avail < n {
		return false
	}
	w.avail -= n
	return true
}

// sendAll writes p, waiting for flow-control window as needed.
func (st *Stream) sendAll(p []byte) error {
	for len(p) > 0 {
		k, wait, err := st.reserveSend(len(p))
		if err != nil {
			return err
		}
		if k == 0 {
			select {
			case <-st.winWake:
			case <-wait:
			case <-st.ctx.Done():
				return status.FromContextError(st.ctx.Err()).Err()
			}
			continue
		}
		if err := st.writeData(p[:k], false); err != nil {
			return status.Error(codes.Unavailable, "the client connection broke")
		}
		p = p[k:]
	}
	return nil
}

// readFull reads exactly len(p) request bytes, waiting for them; io.EOF
// if the request ended before the first byte, io.ErrUnexpectedEOF after.
func (st *Stream) readFull(p []byte) error {
	read := 0
	for read < len(p) {
		n, end, err := st.readRequest(p[read:])
		if err != nil {
			return err
		}
		if n > 0 {
			read += n
			st.ackRequest(n, true)
			continue
		}
		if end {
			if read == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		select {
		case <-st.reqWake:
		case <-st.ctx.Done():
			st.mu.Lock()
			reset := st.reset
			var err error
			if reset {
				err = st.resetErr()
			}
			st.mu.Unlock()
			if err != nil {
				return err
			}
			return status.FromContextError(st.ctx.Err()).Err()
		}
	}
	return nil
}

// RecvMsg receives the next request message into m (a *grpcproxy.Frame
// or a proto.Message); io.EOF once the client half-closed.
func (st *Stream) RecvMsg(m any) error {
	st.msgUsed.Store(true)
	hdr := st.recvHdr[:]
	if err := st.readFull(hdr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return status.Error(codes.Internal, "the request ended inside a message")
		}
		return err
	}
	comp, err := st.decompressor(hdr[0])
	if err != nil {
		return err
	}
	n := uint32(hdr[1])<<24 | uint32(hdr[2])<<16 | uint32(hdr[3])<<8 | uint32(hdr[4])
	if int64(n) > int64(st.sc.srv.maxMsg) {
		return status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, st.sc.srv.maxMsg)
	}
	b := make([]byte, n)
	if err := st.readFull(b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return status.Error(codes.Internal, "the request ended inside a message")
		}
		return err
	}
	if comp != nil {
		if b, err = decompress(comp, b, st.sc.srv.maxMsg); err != nil {
			return err
		}
	}
	return grpcproxy.Messages{}.Unmarshal(b, m)
}

// decompressor checks a message's compressed flag against the request's
// grpc-encoding, as grpc-go's server does: nil for an uncompressed
// message, the registered compressor (grpc-go's encoding registry) for a
// compressed one, UNIMPLEMENTED for an encoding none is registered for
// (even on an uncompressed message: grpc-go refuses the call before its
// handler runs), whose status then lists the known encodings in
// grpc-accept-encoding.
func (st *Stream) decompressor(flag byte) (encoding.Compressor, error) {
	var comp encoding.Compressor
	if e := st.encoding; e != "" && e != encoding.Identity {
		if comp = encoding.GetCompressor(e); comp == nil {
			st.rmu.Lock()
			st.badEncoding = true
			st.rmu.Unlock()
			return nil, status.Errorf(codes.Unimplemented, "grpc: Decompressor is not installed for grpc-encoding %q", e)
		}
	}
	switch flag {
	case 0:
		return nil, nil
	case 1:
		if comp == nil {
			return nil, status.Error(codes.Internal, "grpc: compressed flag set with identity or empty encoding")
		}
		return comp, nil
	}
	return nil, status.Errorf(codes.Internal, "grpc: received unexpected payload format %d", flag)
}

// decompress inflates a compressed message, reading at most one byte
// more than max from the decompressor: a small message that inflates
// without bound (a "gzip bomb") costs max bytes and RESOURCE_EXHAUSTED.
func decompress(comp encoding.Compressor, b []byte, limit int) ([]byte, error) {
	r, err := comp.Decompress(bytes.NewReader(b))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "grpc: failed to decompress the message: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if c, ok := r.(io.Closer); ok {
		_ = c.Close()
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "grpc: failed to read decompressed data: %v", err)
	}
	if len(out) > limit {
		return nil, status.Errorf(codes.ResourceExhausted, "grpc: received message after decompression larger than max %d", limit)
	}
	return out, nil
}

// acceptEncoding is the grpc-accept-encoding of a status refusing an
// unknown encoding: the compressors registered with grpc-go's registry,
// among those gRPC names.
func acceptEncoding() string {
	var known []string
	for _, name := range []string{"gzip", "deflate", "snappy", "zstd"} {
		if encoding.GetCompressor(name) != nil {
			known = append(known, name)
		}
	}
	return strings.Join(known, ",")
}

// SendMsg sends a response message (a *grpcproxy.Frame or a
// proto.Message), after the headers if they were not sent yet.
func (st *Stream) SendMsg(m any) error {
	st.msgUsed.Store(true)
	b, err := grpcproxy.Messages{}.Marshal(m)
	if err != nil {
		return status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	if err := st.SendHeader(nil); err != nil && !errors.Is(err, errHeaderSent) {
		return err
	}
	st.rmu.Lock()
	st.dataSent = true
	st.rmu.Unlock()
	var hdr [5]byte
	hdr[1], hdr[2], hdr[3], hdr[4] = byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b))
	if err := st.sendAll(hdr[:]); err != nil {
		return err
	}
	return st.sendAll(b)
}

var errHeaderSent = errors.New("h2relay: headers already sent")

// SetHeader adds response header metadata, sent with the headers. The
// first md is kept, not copied (the gateway's interceptors hand over maps
// of their own): md must not change after the call.
func (st *Stream) SetHeader(md metadata.MD) error {
	st.rmu.Lock()
	defer st.rmu.Unlock()
	if st.headerSent {
		return status.Error(codes.Internal, "transport: the stream is done or WriteHeader was already called")
	}
	st.header = joinHeader(st.header, md)
	return nil
}

// SetHeaderField adds one response header entry, as SetHeader with a
// metadata.MD of that one key and value would, without the map: the
// gateway's request ID on every call. A key SetHeader would treat apart
// (not lower case, binary, reserved) or a second field goes through
// SetHeader.
func (st *Stream) SetHeaderField(key, value string) error {
	st.rmu.Lock()
	if st.headerSent {
		st.rmu.Unlock()
		return status.Error(codes.Internal, "transport: the stream is done or WriteHeader was already called")
	}
	if st.headerField.Name == "" && plainHeaderKey(key) {
		st.headerField = hpack.HeaderField{Name: key, Value: value}
		st.rmu.Unlock()
		return nil
	}
	st.rmu.Unlock()
	return st.SetHeader(metadata.MD{key: []string{value}})
}

// plainHeaderKey reports whether appendMD would send key's values as they
// are: lower case, not binary, neither a pseudo-header nor one the
// transport or gRPC sets.
func plainHeaderKey(k string) bool {
	if k == "" || k[0] == ':' || isHopByHop(k) || isReservedGRPC(k) || strings.HasSuffix(k, "-bin") {
		return false
	}
	for i := range len(k) {
		if c := k[i]; 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}

// appendHeader appends the response header metadata to fields; st.rmu is
// held.
func (st *Stream) appendHeader(fields []hpack.HeaderField) []hpack.HeaderField {
	if st.headerField.Name != "" {
		fields = append(fields, st.headerField)
	}
	return appendMD(fields, st.header)
}

// joinHeader adds md to header, taking md itself for the first (the
// usual single SetHeader of a call then copies nothing).
func joinHeader(header, md metadata.MD) metadata.MD {
	if header == nil {
		return md
	}
	return metadata.Join(header, md)
}

// SendHeader sends the response headers with md added.
func (st *Stream) SendHeader(md metadata.MD) error {
	st.rmu.Lock()
	if st.headerSent {
		st.rmu.Unlock()
		return errHeaderSent
	}
	st.header = joinHeader(st.header, md)
	fields := []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	fields = st.appendHeader(fields)
	st.headerSent = true
	st.rmu.Unlock()
	return st.sc.w.write(func(fr *http2.Framer) error {
		return st.sc.w.writeHeaders(fr, st.id, false, st.sc.w.headerBlock(fields))
	})
}

// SetTrailer adds trailer metadata, sent with the status.
func (st *Stream) SetTrailer(md metadata.MD) {
	st.rmu.Lock()
	defer st.rmu.Unlock()
	st.trailer = metadata.Join(st.trailer, md)
}

// transportStream is the Stream as a grpc.ServerTransportStream, for
// grpc.SetHeader, grpc.SetTrailer and grpc.Method.
type transportStream struct{ st *Stream }

func (t transportStream) Method() string                  { return t.st.method }
func (t transportStream) SetHeader(md metadata.MD) error  { return t.st.SetHeader(md) }
func (t transportStream) SendHeader(md metadata.MD) error { return t.st.SendHeader(md) }
func (t transportStream) SetTrailer(md metadata.MD) error { t.st.SetTrailer(md); return nil }
