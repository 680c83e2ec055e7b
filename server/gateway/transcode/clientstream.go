package transcode

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

var (
	// clientStreamDesc describes every client-streaming call.
	clientStreamDesc = &grpc.StreamDesc{ClientStreams: true}
	// bidiStreamDesc describes every bidirectional call.
	bidiStreamDesc = &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
)

// streamingHandler returns the handler of a client-streaming or
// bidirectional method's binding: the steps of grpc-gateway's generated
// client-streaming and bidi-streaming request functions, on dynamic
// messages. The request body is a stream of JSON request messages
// (jsonValues), each sent as it is decoded; path variables, the query
// string and the rule's body field play no part (grpc-gateway's generator
// allows no path variables there, and its handlers read every message
// whole from the body). A client-streaming call answers with its one
// response, as a unary call does; a bidirectional call streams its
// responses as a server-streaming call does, while the request body still
// arrives (full duplex, on HTTP/1.1 too).
func (t *Transcoder) streamingHandler(c *boundMethod) runtime.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request, _ map[string]string) {
		ctx, cancel := context.WithCancel(req.Context())
		defer cancel()
		_, outbound := runtime.MarshalerForRequest(t.mux, req)
		annotated, cancelTimeout, err := t.annotate(ctx, req)
		defer cancelTimeout()
		if err != nil {
			runtime.HTTPError(ctx, t.mux, outbound, w, req, err)
			return
		}
		if err := checkContentType(req.Header.Values("Content-Type"), true); err != nil {
			runtime.HTTPError(annotated, t.mux, outbound, w, req, err)
			return
		}
		var body io.Reader = http.NoBody
		if req.Body != nil {
			body = req.Body
		}
		in := &requestStream{t: t, c: c, values: newJSONValues(body, t.maxBody)}
		if c.ServerStreaming {
			t.serveBidi(annotated, cancel, c, in, outbound, w, req)
			return
		}
		t.serveClientStream(annotated, cancel, c, in, outbound, w, req)
	}
}

// requestStream decodes the request messages of a streamed body.
type requestStream struct {
	t      *Transcoder
	c      *boundMethod
	values *jsonValues
}

// next returns the next request message, io.EOF after the last one, or
// the error for the client: 413 for a message over the body limit,
// INVALID_ARGUMENT for anything else.
func (s *requestStream) next() (proto.Message, error) {
	raw, err := s.values.Next()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if errors.Is(err, errValueTooLarge) {
		return nil, tooLarge(s.t.maxBody)
	}
	if err != nil {
		return nil, bodyError(err)
	}
	msg := s.c.reqType.New().Interface()
	if err := s.t.unmarshaler.Unmarshal(raw, msg); err != nil {
		// Malformed JSON gets encoding/json's message, as grpc-gateway
		// reads the stream with it; a JSON value that is not the message
		// gets protojson's.
		if jerr := json.Unmarshal(raw, new(json.RawMessage)); jerr != nil {
			err = jerr
		}
		return nil, &refusal{error: status.Errorf(codes.InvalidArgument, "%v", err), reason: gatewayerr.ReasonInvalidBody}
	}
	return msg, nil
}

// serveClientStream makes a client-streaming call: every request message
// is sent as the body is read; the one response is forwarded as a unary
// call's is, with its trailers to clients that accept them.
func (t *Transcoder) serveClientStream(ctx context.Context, cancel context.CancelFunc, c *boundMethod, in *requestStream, outbound runtime.Marshaler, w http.ResponseWriter, req *http.Request) {
	var md runtime.ServerMetadata
	fail := func(err error) {
		runtime.HTTPError(runtime.NewServerMetadataContext(ctx, md), t.mux, outbound, w, req, err)
	}
	stream, err := t.conn.NewStream(ctx, clientStreamDesc, c.Procedure)
	if err != nil {
		fail(err)
		return
	}
	for {
		msg, err := in.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cancel() // the backend sees the call cancelled
			fail(err)
			return
		}
		if err := stream.SendMsg(msg); err != nil {
			if errors.Is(err, io.EOF) {
				// The call ended: its status comes with the response.
				break
			}
			fail(err)
			return
		}
	}
	if err := stream.CloseSend(); err != nil {
		fail(err)
		return
	}
	header, err := stream.Header()
	if err != nil {
		fail(err)
		return
	}
	md.HeaderMD = header
	resp := t.newResponse(c)
	err = stream.RecvMsg(resp)
	md.TrailerMD = stream.Trailer()
	if err != nil {
		fail(err)
		return
	}
	ctx = runtime.NewServerMetadataContext(ctx, md)
	runtime.ForwardResponseMessage(ctx, t.mux, outbound, w, req, t.wrapResponse(c, resp), t.mux.GetForwardResponseOptions()...)
}

// serveBidi makes a bidirectional call. A goroutine sends the request
// messages as the body arrives while the responses are forwarded as those
// of a server-streaming call (newline-delimited JSON, or Server-Sent
// Events on request). A request message that cannot be decoded ends the
// call (the backend sees it cancelled) and is the stream's error, where
// grpc-gateway only stops sending. The goroutine has ended when serveBidi
// returns, so the body is never read after the handler returned.
func (t *Transcoder) serveBidi(ctx context.Context, cancel context.CancelFunc, c *boundMethod, in *requestStream, outbound runtime.Marshaler, w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	// Let responses go out while the request body still arrives: net/http
	// would otherwise discard the unread body of an HTTP/1.1 request when
	// the response starts (HTTP/2 always allows it). An error means the
	// connection cannot, and the body is then read as far as it can be.
	_ = rc.EnableFullDuplex()
	var md runtime.ServerMetadata
	stream, err := t.conn.NewStream(ctx, bidiStreamDesc, c.Procedure)
	if err != nil {
		runtime.HTTPError(runtime.NewServerMetadataContext(ctx, md), t.mux, outbound, w, req, err)
		return
	}

	sender := &bidiSender{done: make(chan struct{})}
	in.values.r = stoppableReader{r: in.values.r, stopped: &sender.stopped}
	go sender.run(stream, in, cancel)
	defer sender.stop(req, rc, cancel)

	sw := &streamWriter{ResponseWriter: w, sender: sender, http1: req.ProtoMajor == 1}
	header, err := stream.Header()
	if err != nil {
		sw.fail(runtime.NewServerMetadataContext(ctx, md), t, outbound, req, sender.requestErr(err))
		return
	}
	md.HeaderMD = header
	ctx = runtime.NewServerMetadataContext(ctx, md)
	recv := func() (proto.Message, error) {
		m := t.newResponse(c)
		if err := stream.RecvMsg(m); err != nil {
			err = sender.requestErr(err)
			if hse, ok := errors.AsType[*runtime.HTTPStatusError](err); ok {
				// The stream's error handler takes the status alone.
				sw.override = hse.HTTPStatus
				err = hse.Err
			}
			return nil, err
		}
		return t.wrapResponse(c, m), nil
	}
	t.forwardStream(ctx, outbound, sw, req, c, recv)
}

// bidiSender sends a bidirectional call's request messages.
type bidiSender struct {
	done    chan struct{} // closed when run returns
	eof     atomic.Bool   // the body was read to its end
	stopped atomic.Bool   // the body must not be read any more

	mu  sync.Mutex
	err error // the request's own error (bad or oversized message)
}

// run sends the request messages until the body ends (then half-closes
// the call), a message is bad (then cancels the call), or the call ends.
func (s *bidiSender) run(stream grpc.ClientStream, in *requestStream, cancel context.CancelFunc) {
	defer close(s.done)
	for {
		msg, err := in.next()
		if errors.Is(err, io.EOF) {
			s.eof.Store(true)
			break
		}
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			cancel()
			return
		}
		if err := stream.SendMsg(msg); err != nil {
			// The call ended; the receiving side reports how.
			return
		}
	}
	_ = stream.CloseSend()
}

// requestErr returns the request's own error if it ended the call, err
// otherwise.
func (s *bidiSender) requestErr(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return err
}

// stop ends the call and waits for run to return. A read of the body in
// progress is ended by an expired read deadline: after the handler
// returns, net/http reads the body itself, and two readers would fail the
// connection.
func (s *bidiSender) stop(req *http.Request, rc *http.ResponseController, cancel context.CancelFunc) {
	cancel()
	select {
	case <-s.done:
		return
	default:
	}
	// No Read starts after this; one in progress ends at the deadline (a
	// wrapper that moves the deadline after a Read returned data cannot
	// keep run reading either).
	s.stopped.Store(true)
	if err := rc.SetReadDeadline(time.Now()); err != nil && req.ProtoMajor > 1 && req.Body != nil {
		// Without deadlines, closing an HTTP/2 body ends a Read in
		// progress as well.
		_ = req.Body.Close()
	}
	<-s.done
}

// streamWriter is the writer of a streamed response whose first status may
// be replaced: runtime.ForwardResponseStream derives the status of an
// error before the first message from its gRPC code alone, which would
// make a message over the limit a 429 rather than a 413.
//
// On HTTP/1.1 it also closes the connection after a response that started
// before the request body was read to its end: the rest of the body is
// not read, so the connection cannot carry another request.
type streamWriter struct {
	http.ResponseWriter
	sender      *bidiSender
	http1       bool
	override    int
	wroteHeader bool
}

// WriteHeader writes the status, or the override.
func (w *streamWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if w.override != 0 {
			code = w.override
		}
		if w.http1 && !w.sender.eof.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the body, after the header.
func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fail answers a call that failed before its response started.
func (w *streamWriter) fail(ctx context.Context, t *Transcoder, outbound runtime.Marshaler, req *http.Request, err error) {
	runtime.HTTPError(ctx, t.mux, outbound, w, req, err)
}

// errStopped is what a stopped request body's Read returns.
var errStopped = errors.New("transcode: the call ended; the request body is no longer read")

// stoppableReader is a request body that fails every Read once stopped is
// set.
type stoppableReader struct {
	r       io.Reader
	stopped *atomic.Bool
}

// Read reads from the body unless it was stopped.
func (s stoppableReader) Read(p []byte) (int, error) {
	if s.stopped.Load() {
		return 0, errStopped
	}
	return s.r.Read(p)
}
