package h2relay

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Call is where and how [Relay] sends one call.
type Call struct {
	// Addr is the backend's address, "host:port".
	Addr string
	// Authority is the :authority the backend gets; empty means Addr.
	Authority string
	// Metadata is added to the request headers the backend gets, after the
	// client's were filtered (pseudo-headers, hop-by-hop headers, gRPC's
	// reserved keys and x-tollgate-* removed), replacing the client's
	// entries of the same keys: what the gateway asserts about the call.
	// The client's entries are the stream's request metadata as received
	// (Stream.Metadata), not the context's: a handler that changes what
	// the backend gets says so here.
	Metadata metadata.MD
	// Parts, if not nil, gives more of what the gateway asserts without a
	// map built for the call: its entries are handled as Metadata's and
	// replace Metadata's entries of the same keys.
	Parts MetadataParts
	// MaxMsgSize bounds each message in both directions
	// (RESOURCE_EXHAUSTED beyond); zero means the Server's limit.
	MaxMsgSize int
	// ConnectTimeout bounds a connection attempt this call makes to the
	// backend (the TCP handshake and the backend's first SETTINGS); zero
	// means DefaultConnectTimeout. Calls share a connection attempt to an
	// address: the one that starts it sets its timeout.
	ConnectTimeout time.Duration
	// Touch, if not nil, is called when a message passes in either
	// direction (for a stream's idle timeout).
	Touch func()
	// Answered, if not nil, is called once when the backend first answers
	// (headers, or a status without them).
	Answered func()
	// Deadline, if not zero, ends the call with DEADLINE_EXCEEDED at that
	// time if the context's deadline has not ended it before; the backend
	// gets the earlier of the two as grpc-timeout. It is a route's
	// timeout, without a context of its own (grpcproxy.StartRelayLimits).
	Deadline time.Time
}

// MetadataParts is metadata the gateway asserts to the backend, given in
// parts rather than merged into one map (callinfo.Call.BackendParts).
type MetadataParts interface {
	// MetadataParts returns maps whose entries replace the client's
	// entries of their keys (a key without values removes them and adds
	// none), and appends to pairs single entries, keys and values
	// alternately, that do the same. A key of pairs replaces the maps'
	// entries of that key, and the second map's the first's. It must not
	// keep pairs.
	MetadataParts(pairs []string) (maps [2]metadata.MD, _ []string)
}

// Result is what a relayed call carried.
type Result struct {
	// RequestBytes and ResponseBytes count message payload bytes, without
	// gRPC's 5-byte prefixes.
	RequestBytes, ResponseBytes int64
	// Answered says the backend sent headers or a status.
	Answered bool
}

// Relay relays the call on st to the backend at call.Addr, frame by
// frame, and returns the backend's status as an error (nil for OK), whose
// trailers st then sends verbatim if the handler ends the stream with
// that same error. Other errors wrap ErrBackendUnavailable or
// ErrBackendBroke (the backend gave no status), or are the status of a
// call ended by ctx (its deadline, its cancellation, the client's reset)
// or by a message over the size limit. st must not have been used with
// RecvMsg or SendMsg.
func Relay(ctx context.Context, st *Stream, pool *Pool, call Call) (res Result, err error) {
	if st.MessagesUsed() {
		return res, status.Error(codes.Internal, "h2relay: the stream's messages were read already")
	}
	maxMsg := call.MaxMsgSize
	if maxMsg <= 0 {
		maxMsg = st.sc.srv.maxMsg
	}
	// The call's own deadline counts only if it comes before the
	// context's, which ends the call anyway.
	deadline, own := call.Deadline, !call.Deadline.IsZero()
	if dl, ok := ctx.Deadline(); ok && (!own || !dl.After(deadline)) {
		deadline, own = dl, false
	}
	// The request's fields are encoded when the backend stream opens (and
	// again for a retry on another connection): scratch, not garbage.
	scratchFields := getFields()
	fields := requestFields((*scratchFields)[:0], st, &call, deadline)
	notify := make(chan struct{}, 1)
	var ownDeadline time.Time // what the dial waits are bounded by besides ctx
	if own {
		ownDeadline = deadline
	}
	var (
		cs *clientStream
		// The call's own deadline is a timer, taken when the relay
		// first waits: a reused one, without a context's allocations.
		deadlineTimer *time.Timer
		deadlineC     <-chan time.Time
		reqScan       = msgScanner{max: uint32(min(maxMsg, 1<<32-1))}
	)
	// One deferred call for all that the relay gives back: with this
	// function's many returns, each defer costs a record at run time.
	defer func() {
		if cs != nil {
			cs.cc.w.flush()
			cs.close() // the reader writes no more DATA to st
			res.ResponseBytes = cs.respScan.payload
		}
		res.RequestBytes = reqScan.payload
		st.corked = false
		if deadlineTimer != nil {
			putTimer(deadlineTimer)
		}
		putFields(scratchFields, fields)
	}()
	cs, err = pool.openBy(ctx, ownDeadline, call.Addr, call.ConnectTimeout, fields, notify)
	if err != nil {
		return res, err
	}
	// Writes are corked and flushed before each wait: what one step of
	// the call writes leaves in one system call. The client's last frames
	// leave with the status the Stream writes when the handler returns.
	st.corked = true
	cs.respScan = reqScan
	var (
		reqSent     bool // END_STREAM went to the backend
		reqDataSent bool // some request DATA went to the backend
		retried     bool
	)
	answered := func() {
		if !res.Answered {
			res.Answered = true
			if call.Answered != nil {
				call.Answered()
			}
		}
	}
	for {
		progress := false
		var waitBackendConn, waitClientConn <-chan struct{}

		// Client to backend: as much of the request as the backend's
		// windows take now, copied from the stream's queue straight into
		// the backend connection's write buffer, under its writer.
		if !reqSent {
			n, end, rerr := st.requestState()
			if rerr != nil {
				cs.cancel(http2.ErrCodeCancel)
				return res, rerr
			}
			switch {
			case n > 0:
				k, wait := cs.reserveSend(min(n, defaultMaxFrame))
				if k == 0 {
					waitBackendConn = wait
					break
				}
				var (
					r    scanResult
					last bool
				)
				got, werr := cs.cc.w.writeDataFrom(cs.id, k, false, func(p []byte) (int, bool, bool) {
					m, e, err := st.readRequest(p)
					if err != nil {
						rerr = err
						return 0, false, false
					}
					r, last = reqScan.scan(p[:m]), e
					return m, e, r.tooLarge == 0
				})
				if rerr != nil {
					cs.cancel(http2.ErrCodeCancel)
					return res, rerr
				}
				if r.tooLarge > 0 {
					cs.cancel(http2.ErrCodeCancel)
					return res, status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", r.tooLarge, maxMsg)
				}
				if werr != nil && !errors.Is(werr, errNotWritten) {
					return res, fmt.Errorf("%w: %v", ErrBackendBroke, werr)
				}
				if got < k {
					cs.unreserveSend(k - got)
				}
				if got > 0 {
					if r.messages > 0 && call.Touch != nil {
						call.Touch()
					}
					st.ackRequest(got, false)
					reqSent, reqDataSent, progress = last, true, true
				}
			case end:
				if werr := cs.writeData(nil, true); werr != nil {
					return res, fmt.Errorf("%w: %v", ErrBackendBroke, werr)
				}
				reqSent, progress = true, true
			}
		}

		// Backend to client.
		cs.mu.Lock()
		hdrs := cs.headers
		cs.headers = nil
		gotTrail, trailers, cerr, refused := cs.gotTrail, cs.trailers, cs.err, cs.refused
		cs.mu.Unlock()
		if hdrs != nil {
			answered()
			if werr := st.writeRelayHeaders(hdrs); werr != nil {
				cs.cancel(http2.ErrCodeCancel)
				return res, status.Error(codes.Canceled, "the client connection broke")
			}
			// From now on the backend connection's reader writes the
			// response's DATA to the client itself while none waits.
			cs.direct(st, call.Touch)
			progress = true
		}
		// Data is read only once the headers went out (they may have
		// arrived, with data, since they were looked at above), and only
		// as much of it as the client's windows take now: the relay holds
		// no bytes of its own while it waits for a slow client.
		if n := cs.buffered(); n > 0 && res.Answered {
			k, wait, werr := st.reserveSend(min(n, defaultMaxFrame))
			if werr != nil {
				cs.cancel(http2.ErrCodeCancel)
				return res, werr
			}
			if k == 0 {
				waitClientConn = wait
			} else {
				got, r, werr := cs.sendQueued(st, k)
				if r.tooLarge > 0 {
					cs.cancel(http2.ErrCodeCancel)
					return res, status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", r.tooLarge, maxMsg)
				}
				if werr != nil && !errors.Is(werr, errNotWritten) {
					cs.cancel(http2.ErrCodeCancel)
					return res, status.Error(codes.Canceled, "the client connection broke")
				}
				if got < k {
					st.unreserveSend(k - got)
				}
				if got > 0 {
					if r.messages > 0 && call.Touch != nil {
						call.Touch()
					}
					progress = true
				}
			}
		}
		if gotTrail && (cs.buffered() == 0 || !res.Answered) && cerr == nil {
			answered()
			if !reqSent {
				// The backend ended the call before the client's side
				// did: nothing more is sent to it.
				cs.cancel(http2.ErrCodeNo)
			}
			if trailers == nil {
				return res, fmt.Errorf("%w: the response ended without trailers", ErrBackendBroke)
			}
			err := statusOf(trailers)
			// Filtered in place: the reader copied the block out for
			// this stream alone.
			st.setRelayTrailers(appendFiltered(trailers[:0], trailers, false), err)
			return res, err
		}
		if cerr != nil {
			if refused && !reqDataSent && !retried && !res.Answered {
				// The backend never saw the stream: once more, on
				// another connection.
				retried = true
				cs.cc.w.flush()
				cs.close()
				if cs, err = pool.openBy(ctx, ownDeadline, call.Addr, call.ConnectTimeout, fields, notify); err != nil {
					return res, err
				}
				cs.respScan = reqScan
				reqSent = false
				continue
			}
			return res, afterDeadline(cerr, deadline)
		}
		if progress {
			continue
		}
		st.yieldToBatch()
		// The client's first: the backend connection's reader may have
		// left this relay to flush DATA it put in the client
		// connection's outbox for other calls too, and a flush to a
		// backend whose socket is full could hold that up.
		st.sc.w.flush()
		cs.cc.w.flush()
		if own && deadlineTimer == nil {
			deadlineTimer = getTimer(time.Until(deadline))
			deadlineC = deadlineTimer.C
		}
		select {
		case <-notify:
		case <-st.reqWake:
		case <-st.winWake:
		case <-waitBackendConn:
		case <-waitClientConn:
		case <-ctx.Done():
			cs.cancel(http2.ErrCodeCancel)
			return res, ctxError(ctx)
		case <-deadlineC:
			cs.cancel(http2.ErrCodeCancel)
			return res, errDeadlineExceeded
		}
	}
}

// errDeadlineExceeded ends a call at its Call.Deadline, as ctxError
// reports a context's deadline.
var errDeadlineExceeded = status.FromContextError(context.DeadlineExceeded).Err()

// timerPool holds stopped timers for calls' deadlines.
var timerPool sync.Pool

// getTimer returns a timer that fires after d.
func getTimer(d time.Duration) *time.Timer {
	if t, _ := timerPool.Get().(*time.Timer); t != nil {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

// putTimer stops t and keeps it for another call. A stopped timer's
// channel delivers nothing from before its next Reset (Go 1.23 timers).
func putTimer(t *time.Timer) {
	t.Stop()
	timerPool.Put(t)
}

// ctxError is the status of a call whose context ended.
func ctxError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), errClientReset) {
		return status.Error(codes.Canceled, "the client cancelled the call")
	}
	return status.FromContextError(ctx.Err()).Err()
}

// sendQueued writes one DATA frame of at most k response bytes (the
// client's window reserved) to st, copied from the stream's queue straight
// into the client connection's write buffer, under its writer, and returns
// how many it wrote and what the scanner found in them. The reader stops
// relaying first (hold): the drain of the outbox that the writer makes
// before the copy then moves into the buffer every frame the reader put
// there, and the queue holds only bytes that came after them. (Held only
// once the writer is taken, the reader could put a frame in the outbox
// between that drain and the copy, and the copy's later bytes would leave
// before it.)
func (cs *clientStream) sendQueued(st *Stream, k int) (int, scanResult, error) {
	cs.hold()
	var r scanResult
	got, err := st.writeDataFrom(k, func(p []byte) (int, bool, bool) {
		// The reader may have passed some on itself since the relay
		// looked.
		n := cs.readResponse(p)
		// The reader relays nothing while the relay holds the response:
		// the scanner is the relay's.
		r = cs.respScan.scan(p[:n])
		return n, false, r.tooLarge == 0
	})
	// The reader may relay again (also when nothing was written: the
	// writer's error, or an empty queue).
	cs.ackResponse(got, 0)
	return got, r, err
}

// buffered is how many response bytes wait in the stream.
func (cs *clientStream) buffered() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.resp.len()
}

// requestFields appends to fields the request headers the backend gets; a
// deadline that is not zero is sent as grpc-timeout.
func requestFields(fields []hpack.HeaderField, st *Stream, call *Call, deadline time.Time) []hpack.HeaderField {
	authority := call.Authority
	if authority == "" {
		authority = call.Addr
	}
	fields = append(fields,
		hpack.HeaderField{Name: ":method", Value: "POST"},
		hpack.HeaderField{Name: ":scheme", Value: "http"},
		hpack.HeaderField{Name: ":path", Value: st.method},
		hpack.HeaderField{Name: ":authority", Value: authority},
	)
	for _, hf := range st.fields {
		switch hf.Name {
		case "content-type", "grpc-encoding", "grpc-accept-encoding", "user-agent":
			// Kept as sent: the messages pass unchanged (compressed or
			// not, in whatever codec), so their labels must too.
			fields = append(fields, hf)
		}
	}
	fields = append(fields, hpack.HeaderField{Name: "te", Value: "trailers"})
	if !deadline.IsZero() {
		fields = append(fields, hpack.HeaderField{Name: "grpc-timeout", Value: FormatTimeout(time.Until(deadline))})
	}
	// The client's entries from the stream's fields as received, not
	// from its metadata map (no map walk; the same entries, see
	// appendMetadata).
	return appendMetadata(fields, nil, st.fields, call, false)
}

// appendMetadata appends the backend request's metadata: the client's md
// or, for a frame-relayed call, its request's header fields as received
// (client), less what dropRequestKey keeps out and the keys the gateway's
// own metadata (call.Metadata, then call.Parts) replaces, then the
// gateway's own (its x-tollgate-* entries included). client gives what
// the Stream's metadata would (each key's values in order; a binary value
// that does not decode left out, the others sent in unpadded base64),
// without a walk of its map. md's keys may not be lowercase (md built in
// process) when lower is set, and are lowercased first, as grpc-go's
// client does.
func appendMetadata(fields []hpack.HeaderField, md metadata.MD, client []hpack.HeaderField, call *Call, lower bool) []hpack.HeaderField {
	own := ownMetadata{maps: [3]metadata.MD{call.Metadata}}
	if call.Parts != nil {
		// The pairs only name strings, which the fields take: the
		// slice goes back once they are appended.
		sp := pairsPool.Get().(*[]string)
		defer func() {
			if cap(own.pairs) <= 64 {
				clear(own.pairs)
				*sp = own.pairs[:0]
				pairsPool.Put(sp)
			}
		}()
		var maps [2]metadata.MD
		maps, own.pairs = call.Parts.MetadataParts((*sp)[:0])
		own.maps[1], own.maps[2] = maps[0], maps[1]
	}
	for k, vs := range md {
		if lower && hasUpper(k) {
			k = strings.ToLower(k)
		}
		if dropRequestKey(k) {
			continue
		}
		if own.has(k, 0) {
			continue
		}
		fields = appendValues(fields, k, vs)
	}
	for _, f := range client {
		if dropRequestKey(f.Name) || own.has(f.Name, 0) {
			continue
		}
		if strings.HasSuffix(f.Name, "-bin") {
			// Decoded and encoded again, as from the metadata.
			b, err := decodeBin(f.Value)
			if err != nil {
				continue // not metadata (newStream)
			}
			fields = appendValue(fields, f.Name, string(b))
			continue
		}
		fields = append(fields, hpack.HeaderField{Name: f.Name, Value: f.Value})
	}
	for i, m := range own.maps {
		for k, vs := range m {
			if dropRequestKey(k) && !callinfo.IsInternal(k) {
				continue
			}
			if own.has(k, i+1) {
				continue // a later part's
			}
			fields = appendValues(fields, k, vs)
		}
	}
	for i := 0; i+1 < len(own.pairs); i += 2 {
		k := own.pairs[i]
		if dropRequestKey(k) && !callinfo.IsInternal(k) {
			continue
		}
		fields = appendValue(fields, k, own.pairs[i+1])
	}
	return fields
}

// ownMetadata is the gateway's metadata for a backend request, in parts:
// maps, then pairs (keys and values alternately), each replacing the
// earlier ones' entries of its keys.
type ownMetadata struct {
	maps  [3]metadata.MD
	pairs []string
}

// has reports whether a part from the from-th map on (the pairs last)
// holds key.
func (o *ownMetadata) has(key string, from int) bool {
	for _, m := range o.maps[from:] {
		if _, ok := m[key]; ok {
			return true
		}
	}
	for i := 0; i < len(o.pairs); i += 2 {
		if o.pairs[i] == key {
			return true
		}
	}
	return false
}

// pairsPool holds scratch slices for MetadataParts' pairs.
var pairsPool = sync.Pool{New: func() any {
	s := make([]string, 0, 16)
	return &s
}}

// dropRequestKey reports whether a client's metadata key stays out of
// the backend's request: as grpcproxy.OutgoingMetadata.
func dropRequestKey(k string) bool {
	return k == "" || k[0] == ':' || isHopByHop(k) || k == "content-type" || k == "user-agent" ||
		strings.HasPrefix(k, "grpc-") || callinfo.IsInternal(k)
}

func appendValues(fields []hpack.HeaderField, k string, vs []string) []hpack.HeaderField {
	for _, v := range vs {
		fields = appendValue(fields, k, v)
	}
	return fields
}

// appendValue appends one metadata entry as a header field, a binary
// value base64-encoded.
func appendValue(fields []hpack.HeaderField, k, v string) []hpack.HeaderField {
	if strings.HasSuffix(k, "-bin") {
		v = base64.RawStdEncoding.EncodeToString([]byte(v))
	}
	return append(fields, hpack.HeaderField{Name: k, Value: v})
}

// filterFields drops what describes the backend's hop only: pseudo-headers
// (but :status in headers) and hop-by-hop headers; in trailers, also the
// content-type of a trailers-only response, which the Stream writes.
func filterFields(fields []hpack.HeaderField, headers bool) []hpack.HeaderField {
	return appendFiltered(make([]hpack.HeaderField, 0, len(fields)), fields, headers)
}

// appendFiltered appends to out what filterFields keeps of fields.
func appendFiltered(out, fields []hpack.HeaderField, headers bool) []hpack.HeaderField {
	for _, f := range fields {
		switch {
		case f.Name == ":status" && headers:
		case f.Name == "" || f.Name[0] == ':' || isHopByHop(f.Name):
			continue
		case f.Name == "content-type" && !headers:
			continue
		}
		out = append(out, hpack.HeaderField{Name: f.Name, Value: f.Value})
	}
	return out
}

// statusOf is the status a response's trailers carry.
func statusOf(trailers []hpack.HeaderField) error {
	code, msg, httpStatus := "", "", ""
	for _, f := range trailers {
		switch f.Name {
		case "grpc-status":
			code = f.Value
		case "grpc-message":
			msg = f.Value
		case ":status":
			httpStatus = f.Value
		}
	}
	if code == "" {
		if httpStatus != "" && httpStatus != "200" {
			return status.Errorf(codes.Unknown, "unexpected HTTP status code received from server: %s", httpStatus)
		}
		return status.Error(codes.Internal, "the backend sent no grpc-status")
	}
	c, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return status.Errorf(codes.Unknown, "malformed grpc-status %q", code)
	}
	if c == 0 {
		return nil
	}
	if m, err := url.PathUnescape(msg); err == nil {
		msg = m
	}
	return status.Error(codes.Code(c), msg)
}

// writeRelayHeaders sends the backend's response headers (filtered) with
// the handler's header metadata, unless headers were sent already.
func (st *Stream) writeRelayHeaders(backend []hpack.HeaderField) error {
	st.rmu.Lock()
	if st.headerSent {
		st.rmu.Unlock()
		return nil
	}
	// Encoded before cork returns: scratch, not garbage.
	scratch := getFields()
	fields := appendFiltered((*scratch)[:0], backend, true)
	fields = st.appendHeader(fields)
	st.headerSent = true
	st.rmu.Unlock()
	err := st.sc.w.cork(func(fr *http2.Framer) error {
		return st.sc.w.writeHeaders(fr, st.id, false, st.sc.w.headerBlock(fields))
	})
	putFields(scratch, fields)
	return err
}

// fieldsPool holds scratch slices for the fields of header blocks that
// are encoded before the function that gathers them returns. Not on the
// stack: a stream's goroutine, fresh unless the Server has workers, would
// grow its stack for them, a copy of the whole stack each time.
var fieldsPool = sync.Pool{New: func() any {
	s := make([]hpack.HeaderField, 0, 24)
	return &s
}}

// getFields returns an empty scratch slice of fields.
func getFields() *[]hpack.HeaderField { return fieldsPool.Get().(*[]hpack.HeaderField) }

// putFields gives back the scratch slice p, as used (grown, maybe).
func putFields(p *[]hpack.HeaderField, used []hpack.HeaderField) {
	if cap(used) > 256 {
		return // an unusual block: not kept
	}
	clear(used) // the strings go
	*p = used[:0]
	fieldsPool.Put(p)
}

// setRelayTrailers keeps the backend's trailers for the stream's end.
func (st *Stream) setRelayTrailers(fields []hpack.HeaderField, err error) {
	st.rmu.Lock()
	st.relayTrails, st.relayErr = fields, err
	st.rmu.Unlock()
}
