package webclients

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/safeproto"
)

// A gRPC call over a WebSocket (subprotocol tollgate.grpc.v1) lets a
// browser make client- and bidi-streaming calls, which neither gRPC-Web
// nor Connect offer over fetch. Every frame is a JSON text message:
//
//	client → gateway
//	  {"metadata": {"x-api-key": "..."}}  optional, first frame only: the
//	                                      call's metadata (a browser cannot
//	                                      set WebSocket request headers)
//	  {"message": {...}}                   one request message (protojson)
//	  {"halfClose": true}                  no more requests
//	gateway → client
//	  {"headers": {"k": ["v"]}}            the response headers, once, before
//	                                      the first message
//	  {"message": {...}}                   one response message (protojson)
//	  {"status": {"code": 0, "message": "", "details": []},
//	   "trailers": {"k": ["v"]}}          last: the call's status (a
//	                                      google.rpc.Status) and trailers,
//	                                      then a normal closure (1000)
//
// The call starts at the first frame and passes the chain once, as a gRPC
// call with the upgrade request's headers and the metadata frame's entries.
// A unary or server-streaming method takes one request and half-closes
// after it. Flow control holds both ways: requests are handed to the call
// one at a time, and responses go through a queue of a few messages that
// blocks the call (and so the backend's stream) while the browser is slow;
// a client that takes over 30 s to take one frame is disconnected. A client
// that goes away cancels the call.

// Defaults of the WebSocket bridge.
const (
	// DefaultWebSocketQueue is how many response messages may wait for a
	// slow WebSocket client before the call waits for it.
	DefaultWebSocketQueue = 16
	// DefaultWebSocketFirstFrameTimeout is how long a client has, once
	// connected, to send its first frame.
	DefaultWebSocketFirstFrameTimeout = 10 * time.Second
	// wsWriteTimeout bounds how long one frame may take to reach a client:
	// a client that stops reading altogether is disconnected, not waited
	// for while it holds a call (or, once the call is over, the handler).
	wsWriteTimeout = 30 * time.Second
)

// WithWebSocketQueue sets how many response messages may wait for a slow
// WebSocket client. Default DefaultWebSocketQueue.
func WithWebSocketQueue(n int) Option {
	return func(o *options) { o.wsQueue = n }
}

// WithWebSocketFirstFrameTimeout sets how long a WebSocket client has to
// send its first frame. Default DefaultWebSocketFirstFrameTimeout.
func WithWebSocketFirstFrameTimeout(d time.Duration) Option {
	return func(o *options) { o.wsFirstFrame = d }
}

// clientFrame is a frame from the client.
type clientFrame struct {
	Metadata  map[string]string `json:"metadata"`
	Message   json.RawMessage   `json:"message"`
	HalfClose bool              `json:"halfClose"`
}

// skippedUpgradeHeaders are upgrade request headers that are not call
// metadata.
var skippedUpgradeHeaders = map[string]bool{
	"Connection": true, "Upgrade": true, "Content-Length": true, "Content-Type": true, "Te": true,
	"Sec-Websocket-Key": true, "Sec-Websocket-Version": true, "Sec-Websocket-Protocol": true, "Sec-Websocket-Extensions": true,
}

// ServeWebSocket serves a gRPC call over a WebSocket upgrade of r, whose
// path must be the method's "/pkg.Service/Method". The caller has checked
// the request's Origin: any origin is accepted here. It returns when the
// call and the connection are over.
func (h *Handler) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	md, ok := h.methods[r.URL.Path]
	if !ok {
		gatewayerr.WriteHTTP(w, http.StatusNotImplemented, status.Convert(gatewayerr.New(codes.Unimplemented, gatewayerr.ReasonRouteNotFound, r.URL.Path+" is not a method of this API")))
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{Subprotocol},
		InsecureSkipVerify: true, // checked by the caller
	})
	if err != nil {
		return // Accept answered
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != Subprotocol {
		_ = conn.Close(websocket.StatusPolicyViolation, "subprotocol "+Subprotocol+" required")
		return
	}
	// JSON carries bytes fields in base64: allow for it.
	conn.SetReadLimit(int64(h.opts.maxMessageBytes)*4/3 + 64<<10)
	b := &wsBridge{h: h, conn: conn, md: md, out: make(chan []byte, h.opts.wsQueue)}
	b.serve(r)
}

// wsBridge is one call over a WebSocket.
type wsBridge struct {
	h    *Handler
	conn *websocket.Conn
	md   protoreflect.MethodDescriptor
	out  chan []byte // frames for the client; closed after the status frame

	mu       sync.Mutex
	localErr error // why the bridge ended the call, if it did
}

// fail records why the bridge ended the call; the first reason wins.
func (b *wsBridge) fail(err error) {
	b.mu.Lock()
	if b.localErr == nil {
		b.localErr = err
	}
	b.mu.Unlock()
}

func (b *wsBridge) serve(r *http.Request) {
	// connCtx is for the connection, callCtx for the call: cancelling a
	// Read's context closes a WebSocket connection, which must outlive a
	// call that failed so that the client gets its status.
	connCtx := r.Context()
	callCtx, cancel := context.WithCancel(connCtx)
	defer cancel()

	first, err := b.readFirst(connCtx)
	if err != nil {
		return // the client went away, or was told why
	}
	header := http.Header{}
	for k, vs := range r.Header {
		if !skippedUpgradeHeaders[k] {
			header[k] = vs
		}
	}
	for k, v := range first.Metadata {
		lk := strings.ToLower(k)
		if k == "" || strings.HasPrefix(lk, ":") || strings.HasPrefix(lk, "grpc-") || skippedUpgradeHeaders[http.CanonicalHeaderKey(k)] ||
			strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			b.closeWith(connCtx, status.Errorf(codes.InvalidArgument, "metadata key %q or its value is not allowed", k))
			return
		}
		header.Set(k, v)
	}
	header.Set("Content-Type", "application/grpc+proto")
	header.Set("Te", "trailers")

	pr, pw := io.Pipe()
	inner, err := http.NewRequestWithContext(callCtx, http.MethodPost, r.URL.Path, pr)
	if err != nil {
		b.closeWith(connCtx, status.Error(codes.Internal, "building the call"))
		return
	}
	inner.Proto, inner.ProtoMajor, inner.ProtoMinor = "HTTP/2", 2, 0
	inner.Header, inner.Host, inner.RemoteAddr, inner.RequestURI = header, r.Host, r.RemoteAddr, r.URL.Path
	inner.ContentLength = -1

	writerDone := make(chan struct{})
	go b.writeLoop(connCtx, cancel, writerDone)
	go b.readLoop(connCtx, cancel, pw, first)

	rw := &wsResponseWriter{b: b, ctx: callCtx, header: http.Header{}}
	b.h.next.ServeHTTP(rw, inner)
	_ = pr.CloseWithError(io.EOF) // stops a reader still handing over requests

	st, trailers := rw.result()
	b.mu.Lock()
	if b.localErr != nil {
		st = status.Convert(b.localErr)
	}
	b.mu.Unlock()
	b.out <- statusFrame(st, trailers) // the writer drains the queue whatever happens
	close(b.out)
	<-writerDone
	_ = b.conn.Close(websocket.StatusNormalClosure, "")
}

// readFirst reads the first frame. A client that sends none within the
// first-frame timeout is disconnected.
func (b *wsBridge) readFirst(ctx context.Context) (clientFrame, error) {
	fctx, cancel := context.WithTimeout(ctx, b.h.opts.wsFirstFrame)
	defer cancel()
	f, err := b.readFrame(fctx)
	if isStatus(err) {
		b.closeWith(ctx, err)
	}
	return f, err
}

// isStatus reports whether err is a status the client should get.
func isStatus(err error) bool {
	var st interface{ GRPCStatus() *status.Status }
	return errors.As(err, &st)
}

// readFrame reads and decodes one client frame. A frame that is not one is
// a status error (INVALID_ARGUMENT).
func (b *wsBridge) readFrame(ctx context.Context) (clientFrame, error) {
	var f clientFrame
	typ, data, err := b.conn.Read(ctx)
	if err != nil {
		return f, err
	}
	if typ != websocket.MessageText {
		return f, status.Error(codes.InvalidArgument, "frames are JSON text messages")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, status.Errorf(codes.InvalidArgument, "frame: %v", err)
	}
	return f, nil
}

// closeWith ends a connection whose call has not started: the status
// frame, then a normal closure.
func (b *wsBridge) closeWith(ctx context.Context, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = b.conn.Write(ctx, websocket.MessageText, statusFrame(status.Convert(err), nil))
	_ = b.conn.Close(websocket.StatusNormalClosure, "")
}

// readLoop hands the client's request messages to the call, one at a
// time, starting with first, until the client half-closes; then it reads
// on, to notice the client going away. A bad frame, or the client going
// away, ends the call (cancel).
func (b *wsBridge) readLoop(ctx context.Context, cancel context.CancelFunc, pw *io.PipeWriter, first clientFrame) {
	streaming := b.md.IsStreamingClient()
	abort := func(err error) {
		if isStatus(err) {
			b.fail(err)
		} else {
			// The client went away: cancel before the request body
			// fails, so the call ends as CANCELLED, not as a broken
			// request stream (UNAVAILABLE) that the chain would log.
			cancel()
		}
		_ = pw.CloseWithError(err)
		cancel()
	}
	f := first
	sent := 0
	for frames := 0; ; frames++ {
		if f.Metadata != nil && (frames > 0 || f.Message != nil || f.HalfClose) {
			abort(status.Error(codes.InvalidArgument, "metadata may only be sent alone, in the first frame"))
			return
		}
		if f.Message != nil {
			if !streaming && sent > 0 {
				abort(status.Errorf(codes.InvalidArgument, "%s takes one request message", b.md.FullName()))
				return
			}
			frame, err := b.encodeRequest(f.Message)
			if err != nil {
				abort(err)
				return
			}
			if _, err := pw.Write(frame); err != nil {
				return // the call is over
			}
			sent++
		}
		if f.HalfClose || !streaming && sent > 0 {
			_ = pw.Close()
			for {
				if _, _, err := b.conn.Read(ctx); err != nil {
					cancel() // gone: a call still running is cancelled
					return
				}
			}
		}
		var err error
		if f, err = b.readFrame(ctx); err != nil {
			abort(err)
			return
		}
	}
}

// encodeRequest turns a JSON request message into a gRPC frame.
func (b *wsBridge) encodeRequest(j json.RawMessage) ([]byte, error) {
	m := dynamicpb.NewMessage(b.md.Input())
	if err := (protojson.UnmarshalOptions{Resolver: b.h.types}).Unmarshal(j, m); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "request message: %v", err)
	}
	body, err := proto.Marshal(m)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "request message: %v", err)
	}
	if len(body) > b.h.opts.maxMessageBytes {
		return nil, status.Errorf(codes.ResourceExhausted, "request message of %d bytes, over the limit of %d", len(body), b.h.opts.maxMessageBytes)
	}
	frame := make([]byte, 5, 5+len(body))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(body)))
	return append(frame, body...), nil
}

// send queues a frame for the client, waiting while the queue is full.
func (b *wsBridge) send(ctx context.Context, frame []byte) bool {
	select {
	case b.out <- frame:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeLoop writes queued frames to the client until the queue is closed.
// A client that cannot be written to cancels the call; the queue is
// drained regardless.
func (b *wsBridge) writeLoop(ctx context.Context, cancel context.CancelFunc, done chan<- struct{}) {
	defer close(done)
	broken := false
	for frame := range b.out {
		if broken {
			continue
		}
		wctx, wcancel := context.WithTimeout(ctx, wsWriteTimeout)
		err := b.conn.Write(wctx, websocket.MessageText, frame)
		wcancel()
		if err != nil {
			broken = true
			cancel()
		}
	}
}

// wsResponseWriter is the http.ResponseWriter of the translated gRPC call:
// it turns the gRPC response into frames for the client.
type wsResponseWriter struct {
	b       *wsBridge
	ctx     context.Context
	header  http.Header
	started bool
	buf     []byte // an incomplete gRPC frame
}

// Header returns the response headers (and, at the end, trailers).
func (w *wsResponseWriter) Header() http.Header { return w.header }

// WriteHeader sends the headers frame.
func (w *wsResponseWriter) WriteHeader(int) {
	if w.started {
		return
	}
	w.started = true
	md := map[string][]string{}
	for k, vs := range w.header {
		if isMetadataHeader(k) {
			md[strings.ToLower(k)] = vs
		}
	}
	frame, _ := json.Marshal(map[string]any{"headers": md})
	w.b.send(w.ctx, frame)
}

// Write takes gRPC frames of response messages.
func (w *wsResponseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.buf = append(w.buf, p...)
	for len(w.buf) >= 5 {
		n := int(binary.BigEndian.Uint32(w.buf[1:5]))
		if len(w.buf) < 5+n {
			break
		}
		if w.buf[0] != 0 {
			return 0, errors.New("websocket bridge: compressed response frame") // never asked for
		}
		m := dynamicpb.NewMessage(w.b.md.Output())
		if err := safeproto.Unmarshal(w.buf[5:5+n], m); err != nil {
			return 0, fmt.Errorf("websocket bridge: decoding a response: %w", err)
		}
		j, err := (protojson.MarshalOptions{Resolver: w.b.h.types}).Marshal(m)
		if err != nil {
			return 0, fmt.Errorf("websocket bridge: encoding a response: %w", err)
		}
		frame := make([]byte, 0, len(j)+13)
		frame = append(append(append(frame, `{"message":`...), j...), '}')
		if !w.b.send(w.ctx, frame) {
			return 0, w.ctx.Err()
		}
		w.buf = w.buf[5+n:]
	}
	return len(p), nil
}

// Flush does nothing: frames are queued as they are complete.
func (w *wsResponseWriter) Flush() {}

// result returns the call's status and trailers, which the gRPC server
// left in the header map (as trailers, or as headers of a trailers-only
// response).
func (w *wsResponseWriter) result() (*status.Status, map[string][]string) {
	h := w.header
	trailers := map[string][]string{}
	for k, vs := range h {
		name, isTrailer := strings.CutPrefix(k, http.TrailerPrefix)
		if (isTrailer || !w.started) && isMetadataHeader(name) {
			trailers[strings.ToLower(name)] = vs
		}
	}
	code, err := strconv.Atoi(h.Get("Grpc-Status"))
	if err != nil {
		return status.New(codes.Internal, "the call ended without a status"), trailers
	}
	msg, _ := url.PathUnescape(h.Get("Grpc-Message"))
	if d := h.Get("Grpc-Status-Details-Bin"); d != "" {
		if raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d, "=")); err == nil {
			var sp spb.Status
			if proto.Unmarshal(raw, &sp) == nil && sp.GetCode() == int32(code) {
				return status.FromProto(&sp), trailers
			}
		}
	}
	return status.New(codes.Code(code), msg), trailers
}

// isMetadataHeader reports whether a response header is call metadata (not
// part of the gRPC protocol).
func isMetadataHeader(k string) bool {
	lk := strings.ToLower(k)
	return lk != "content-type" && lk != "trailer" && lk != "date" && !strings.HasPrefix(lk, "grpc-")
}

// statusFrame is the last frame: the status as a google.rpc.Status (details
// of types the gateway does not know are left out) and the trailers.
func statusFrame(st *status.Status, trailers map[string][]string) []byte {
	p := st.Proto()
	j, err := (protojson.MarshalOptions{Resolver: protoregistry.GlobalTypes, EmitUnpopulated: true}).Marshal(p)
	if err != nil {
		p = proto.Clone(p).(*spb.Status)
		p.Details = nil
		j, _ = (protojson.MarshalOptions{EmitUnpopulated: true}).Marshal(p)
	}
	if trailers == nil {
		trailers = map[string][]string{}
	}
	t, _ := json.Marshal(trailers)
	var buf bytes.Buffer
	buf.WriteString(`{"status":`)
	buf.Write(j)
	buf.WriteString(`,"trailers":`)
	buf.Write(t)
	buf.WriteByte('}')
	return buf.Bytes()
}
