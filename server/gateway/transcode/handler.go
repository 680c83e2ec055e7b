package transcode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// handler returns the runtime.HandlerFunc of c: the steps of grpc-gateway's
// generated RegisterXHandlerClient closures and request_X functions, on
// dynamic messages.
func (t *Transcoder) handler(c *boundMethod) runtime.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request, pathParams map[string]string) {
		if req.Body != nil && req.Body != http.NoBody {
			// The whole body is one message: it is limited as one.
			req.Body = http.MaxBytesReader(w, req.Body, t.maxBody)
		}
		ctx := req.Context()
		if c.ServerStreaming {
			// The backend stream ends when the handler returns. A unary
			// call has ended by then, and net/http cancels the request's
			// context once its handler returns: a context of its own
			// would only cost it (~5 allocations).
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
		}
		_, outbound := runtime.MarshalerForRequest(t.mux, req)
		annotated, outMD, cancelTimeout, err := t.annotateMD(ctx, req)
		defer cancelTimeout()
		if err != nil {
			runtime.HTTPError(ctx, t.mux, outbound, w, req, err)
			return
		}
		if c.ServerStreaming {
			stream, md, err := t.startStream(annotated, c, req, pathParams)
			annotated = runtime.NewServerMetadataContext(annotated, md)
			if err != nil {
				runtime.HTTPError(annotated, t.mux, outbound, w, req, err)
				return
			}
			recv := func() (proto.Message, error) {
				m := t.newResponse(c)
				if err := stream.RecvMsg(m); err != nil {
					return nil, err
				}
				return t.wrapResponse(c, m), nil
			}
			t.forwardStream(annotated, outbound, w, req, c, recv)
			return
		}
		resp, md, err := t.callUnary(annotated, outMD, c, req, pathParams)
		annotated = runtime.NewServerMetadataContext(annotated, md)
		if err != nil {
			runtime.HTTPError(annotated, t.mux, outbound, w, req, err)
			return
		}
		runtime.ForwardResponseMessage(annotated, t.mux, outbound, w, req, t.wrapResponse(c, resp), t.mux.GetForwardResponseOptions()...)
		if fm, ok := resp.(*fastMessage); ok {
			fm.release() // written: its JSON buffer goes back to the pool
		}
	}
}

// forwardStream writes the response messages recv returns as the client
// asked: Server-Sent Events if its Accept header lists text/event-stream,
// newline-delimited JSON otherwise (runtime.ForwardResponseStream), with
// the Content-Type application/x-ndjson if the Accept header lists it and
// grpc-gateway's application/json if not. HttpBody streams are written
// raw either way.
func (t *Transcoder) forwardStream(ctx context.Context, outbound runtime.Marshaler, w http.ResponseWriter, req *http.Request, c *boundMethod, recv func() (proto.Message, error)) {
	if !c.httpBody && accepts(req, eventStreamType) {
		t.forwardEventStream(ctx, outbound, w, recv)
		return
	}
	if !c.httpBody && accepts(req, ndjsonType) {
		outbound = ndjsonMarshaler{Marshaler: outbound}
	}
	runtime.ForwardResponseStream(ctx, t.mux, outbound, w, req, recv, t.mux.GetForwardResponseOptions()...)
}

// newResponse returns an empty response message for c.
func (t *Transcoder) newResponse(c *boundMethod) proto.Message {
	if c.httpBody {
		return &httpbody.HttpBody{}
	}
	return c.respType.New().Interface()
}

// wrapResponse applies c's response_body to resp.
func (t *Transcoder) wrapResponse(c *boundMethod, resp proto.Message) proto.Message {
	if c.responseBody == nil {
		return resp
	}
	return responseBodyMessage{Message: resp, body: c.responseBody(resp.ProtoReflect())}
}

// callUnary makes a unary call; outMD is the metadata annotate put in
// ctx, handed to the connection as an [OutgoingMetadata] option.
func (t *Transcoder) callUnary(ctx context.Context, outMD metadata.MD, c *boundMethod, req *http.Request, pathParams map[string]string) (proto.Message, runtime.ServerMetadata, error) {
	in, err := t.buildRequest(c, req, pathParams)
	if err != nil {
		return nil, runtime.ServerMetadata{}, err
	}
	// What the call needs on the heap (the metadata the options point
	// into, the options, a fast response), allocated at once.
	u := &unaryState{}
	var out proto.Message
	if c.respPlan != nil {
		u.fast = fastMessage{plan: c.respPlan, typ: c.respType}
		out = &u.fast
	} else {
		out = t.newResponse(c)
	}
	u.opts[0], u.opts[1] = grpc.Header(&u.md.HeaderMD), grpc.Trailer(&u.md.TrailerMD)
	n := 2
	if outMD != nil {
		u.outMD.MD = outMD
		u.opts[n] = &u.outMD
		n++
	}
	err = t.conn.Invoke(ctx, c.Procedure, in, out, u.opts[:n]...)
	return out, u.md, err
}

// unaryState is what callUnary allocates for a call.
type unaryState struct {
	md    runtime.ServerMetadata
	opts  [3]grpc.CallOption
	outMD OutgoingMetadata
	fast  fastMessage
}

// OutgoingMetadata is the call option with which a Transcoder hands the
// connection it calls (grpc.ClientConnInterface) the outgoing metadata of
// a unary call's context, the map itself that metadata.FromOutgoingContext
// would copy (every key and value, on every call). The map is the call's
// own, made for it, with lowercase keys: a connection that serves the call
// in process may make it the call's incoming metadata as is. It must not
// be changed. grpc-go's connections ignore the option.
type OutgoingMetadata struct {
	grpc.EmptyCallOption
	// MD is the context's outgoing metadata.
	MD metadata.MD
}

// serverStreamDesc describes every server-streaming call.
var serverStreamDesc = &grpc.StreamDesc{ServerStreams: true}

// startStream starts a server-streaming call and waits for its headers.
func (t *Transcoder) startStream(ctx context.Context, c *boundMethod, req *http.Request, pathParams map[string]string) (grpc.ClientStream, runtime.ServerMetadata, error) {
	var md runtime.ServerMetadata
	in, err := t.buildRequest(c, req, pathParams)
	if err != nil {
		return nil, md, err
	}
	stream, err := t.conn.NewStream(ctx, serverStreamDesc, c.Procedure)
	if err != nil {
		return nil, md, err
	}
	if err := stream.SendMsg(in); err != nil {
		return nil, md, err
	}
	if err := stream.CloseSend(); err != nil {
		return nil, md, err
	}
	header, err := stream.Header()
	if err != nil {
		return nil, md, err
	}
	md.HeaderMD = header
	return stream, md, nil
}

// buildRequest builds the request message from the body, the path
// variables and the query string, in the order of grpc-gateway's generated
// request_X functions, so that a later source overrides an earlier one the
// same way and the first error reported is the same.
func (t *Transcoder) buildRequest(c *boundMethod, req *http.Request, pathParams map[string]string) (proto.Message, error) {
	var msg protoreflect.Message
	if c.reqPlan != nil {
		fm, err := t.decodeFastBody(c, req)
		if err != nil {
			return nil, err
		}
		if fm.state != fastDynamic && (!c.query || req.URL.RawQuery == "") {
			done := len(c.params) == 0
			if !done {
				if done, err = appendPathParams(c, fm, pathParams); err != nil {
					return nil, err
				}
			}
			if done {
				if req.Body != nil {
					_, _ = io.Copy(io.Discard, req.Body)
				}
				return fm, nil
			}
		}
		// The path variables and the query string are set by reflection,
		// which turns fm into a dynamic message.
		msg = fm
	} else {
		msg = c.reqType.New()
		if c.hasBody {
			if err := t.decodeBody(c, msg, req); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range c.params {
		val, ok := pathParams[p.name]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "missing parameter %s", p.name)
		}
		if err := p.set(msg, val); err != nil {
			return nil, err
		}
	}
	if c.query {
		if err := req.ParseForm(); err != nil {
			return nil, bodyError(err)
		}
		if err := populateQueryParameters(msg, req.Form, c.filter); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "%v", err)
		}
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
	}
	return msg.Interface(), nil
}

// decodeBody fills msg, or its body field, from the request body.
func (t *Transcoder) decodeBody(c *boundMethod, msg protoreflect.Message, req *http.Request) error {
	if err := checkContentType(req.Header.Values("Content-Type"), false); err != nil {
		return err
	}
	if req.ContentLength > t.maxBody {
		return tooLarge(t.maxBody)
	}
	var body io.Reader = http.NoBody
	if req.Body != nil {
		body = req.Body
	}

	// The body's target: the request, or the (nested) body field.
	target := msg
	for _, fd := range c.bodyPath[:max(len(c.bodyPath)-1, 0)] {
		target = target.Mutable(fd).Message()
	}
	var field protoreflect.FieldDescriptor
	if len(c.bodyPath) > 0 {
		field = c.bodyPath[len(c.bodyPath)-1]
	}

	var raw []byte
	if c.patchMask != nil {
		// grpc-gateway reads the whole body to decode it and then derive the
		// field mask from it.
		b, err := io.ReadAll(body)
		if err != nil {
			return bodyError(err)
		}
		raw = b
		body = bytes.NewReader(b)
	}

	switch {
	case field == nil:
		if err := t.decodeMessage(body, target.Interface()); err != nil {
			return err
		}
	case field.Message() != nil && !field.IsList() && !field.IsMap():
		// Mutable marks the field present even for an empty body, as
		// grpc-gateway's generated code allocates it before decoding.
		if err := t.decodeMessage(body, target.Mutable(field).Message().Interface()); err != nil {
			return err
		}
	default:
		if err := t.decodeField(body, target, field); err != nil {
			return err
		}
	}

	if c.patchMask != nil {
		mask := msg.Get(c.patchMask).Message()
		if !msg.Has(c.patchMask) || mask.Get(mask.Descriptor().Fields().ByName("paths")).List().Len() == 0 {
			fm, err := runtime.FieldMaskFromRequestBody(bytes.NewReader(raw), target.Get(field).Message().Interface())
			if err != nil {
				return status.Errorf(codes.InvalidArgument, "%v", err)
			}
			msg.Set(c.patchMask, protoreflect.ValueOfMessage(fm.ProtoReflect()))
		}
	}
	return nil
}

// decodeFastBody decodes the body of a binding with a request plan (body
// "*" or a message field): straight to the wire format if the plan takes
// the body, with protojson otherwise (which then decides the error for bad
// input).
func (t *Transcoder) decodeFastBody(c *boundMethod, req *http.Request) (*fastMessage, error) {
	if err := checkContentType(req.Header.Values("Content-Type"), false); err != nil {
		return nil, err
	}
	if req.ContentLength > t.maxBody {
		return nil, tooLarge(t.maxBody)
	}
	buf := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledBody {
			*buf = (*buf)[:0]
			bodyPool.Put(buf)
		}
	}()
	var err error
	if n := req.ContentLength; n > 0 && n <= maxPooledBody {
		// Sized at once (+1: room to read the EOF); a larger declared size
		// is not trusted with memory before the bytes arrive.
		*buf = slices.Grow((*buf)[:0], int(n)+1)
	}
	if *buf, err = readAll(req.Body, (*buf)[:0]); err != nil {
		return nil, bodyError(err)
	}
	raw := *buf
	fm := &fastMessage{plan: c.reqPlan, typ: c.reqType}
	blank := len(bytes.TrimLeft(raw, " \t\r\n")) == 0
	if blank && len(c.bodyPath) == 0 {
		return fm, nil
	}
	// The body field and its parents, each a tag and a length to fill in
	// (present even for an empty body, as grpc-gateway's generated code
	// allocates the field before decoding).
	wire := make([]byte, 0, len(raw)+16)
	var starts [8]int
	if len(c.bodyPath) <= len(starts) {
		for i, fd := range c.bodyPath {
			wire = protowire.AppendTag(wire, fd.Number(), protowire.BytesType)
			starts[i] = len(wire)
			wire = append(wire, 0)
		}
		ok := true
		if !blank {
			wire, ok = c.reqPlan.appendWire(wire, raw)
		}
		if ok {
			for i := len(c.bodyPath) - 1; i >= 0; i-- {
				wire = finishLength(wire, starts[i])
			}
			fm.state, fm.wire = fastWire, wire
			return fm, nil
		}
	}
	target := fm.dynamic()
	for _, fd := range c.bodyPath {
		target = target.Mutable(fd).Message()
	}
	if err := t.decodeMessageBytes(raw, target.Interface()); err != nil {
		return nil, err
	}
	return fm, nil
}

// appendPathParams adds the path variables of a request to the wire form
// of its body, if that gives the message that setting them on the decoded
// body would: when every variable sets a singular scalar field to a value
// other than its zero value. On the wire a later value of such a field
// replaces an earlier one, and a message field merges into an earlier one,
// as Set and Mutable do; a zero value would not be written at all, and a
// repeated field would be appended to. It reports false, and leaves fm as
// it was, for other variables; errors are those of setting the variables.
func appendPathParams(c *boundMethod, fm *fastMessage, pathParams map[string]string) (bool, error) {
	extra := c.reqType.New()
	for _, p := range c.params {
		val, ok := pathParams[p.name]
		if !ok {
			return false, status.Errorf(codes.InvalidArgument, "missing parameter %s", p.name)
		}
		if err := p.set(extra, val); err != nil {
			return false, err
		}
		if !setScalar(extra, p.fields) {
			return false, nil
		}
	}
	wire, err := proto.MarshalOptions{}.MarshalAppend(fm.wire, extra.Interface())
	if err != nil {
		return false, nil
	}
	fm.state, fm.wire = fastWire, wire
	return true, nil
}

// setScalar reports whether the path of fields in m ends at a singular
// scalar field that is set.
func setScalar(m protoreflect.Message, fields []protoreflect.FieldDescriptor) bool {
	if len(fields) == 0 {
		return false
	}
	for _, fd := range fields[:len(fields)-1] {
		if !m.Has(fd) {
			return false
		}
		m = m.Get(fd).Message()
	}
	leaf := fields[len(fields)-1]
	return !leaf.IsList() && !leaf.IsMap() && leaf.Message() == nil && m.Has(leaf)
}

// bodyPool holds request body buffers of the fast path.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody is the largest body buffer kept in the pool.
const maxPooledBody = 64 << 10

// readAll appends what r holds to b, doubling b's capacity when it is
// full (a large chunked body is copied about once, not a few times over).
func readAll(r io.Reader, b []byte) ([]byte, error) {
	if r == nil {
		return b, nil
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, max(cap(b), 512))
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// decodeMessage decodes the JSON body in r into m with the runtime's JSONPb
// options, as grpc-gateway does, but in one pass: protojson parses the
// whole body itself instead of after encoding/json has scanned it into a
// raw value, which costs as much again. An empty body (or white space)
// leaves m empty. Bad input gets grpc-gateway's error messages.
func (t *Transcoder) decodeMessage(r io.Reader, m proto.Message) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return bodyError(err)
	}
	return t.decodeMessageBytes(b, m)
}

// decodeMessageBytes is decodeMessage on a body already read.
func (t *Transcoder) decodeMessageBytes(b []byte, m proto.Message) error {
	if len(bytes.TrimLeft(b, " \t\r\n")) == 0 {
		return nil
	}
	if err := t.unmarshaler.Unmarshal(b, m); err != nil {
		// Explain bad input as grpc-gateway does: decode again its way.
		proto.Reset(m)
		if err := t.decodeMessageCompat(bytes.NewReader(b), m); err != nil {
			return err
		}
		return status.Errorf(codes.InvalidArgument, "%v", err)
	}
	return nil
}

// decodeMessageCompat decodes one JSON value from r into m as grpc-gateway
// does (encoding/json reads the value, protojson decodes it), for its
// error messages, then rejects anything but white space after the value.
func (t *Transcoder) decodeMessageCompat(r io.Reader, m proto.Message) error {
	dec := runtime.DecoderWrapper{Decoder: json.NewDecoder(r), UnmarshalOptions: t.unmarshaler}
	if err := dec.Decode(m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return bodyError(err)
	}
	return checkTrailing(io.MultiReader(dec.Buffered(), r))
}

// decodeField decodes one JSON value from r into the non-message (scalar,
// repeated or map) field fd of m, with protojson's rules for fd's type.
// (grpc-gateway decodes such fields with encoding/json into the Go field,
// which, for example, refuses enum names and quoted int64s.)
func (t *Transcoder) decodeField(r io.Reader, m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return bodyError(err)
	}
	if err := checkTrailing(io.MultiReader(dec.Buffered(), r)); err != nil {
		return err
	}
	name, err := json.Marshal(fd.JSONName())
	if err != nil {
		return status.Errorf(codes.Internal, "%v", err)
	}
	wrapped := make([]byte, 0, len(raw)+len(name)+3)
	wrapped = append(append(append(append(wrapped, '{'), name...), ':'), raw...)
	wrapped = append(wrapped, '}')
	tmp := m.New()
	if err := t.unmarshaler.Unmarshal(wrapped, tmp.Interface()); err != nil {
		return status.Errorf(codes.InvalidArgument, "%v", err)
	}
	if tmp.Has(fd) {
		m.Set(fd, tmp.Get(fd))
	}
	return nil
}

// checkTrailing fails unless r holds only JSON white space.
func checkTrailing(r io.Reader) error {
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		for _, b := range buf[:n] {
			switch b {
			case ' ', '\t', '\r', '\n':
			default:
				return status.Errorf(codes.InvalidArgument, "invalid character %q after the JSON value: the body must hold exactly one JSON value", b)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
	}
}

// bodyError converts an error reading or decoding the body to the error
// the client gets: 413 for a body over the limit, INVALID_ARGUMENT
// otherwise.
func bodyError(err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge(mbe.Limit)
	}
	return &refusal{error: status.Errorf(codes.InvalidArgument, "%v", err), reason: gatewayerr.ReasonInvalidBody}
}

// refusal marks an error as the gateway's own refusal with a reason, for
// customised gateway responses, without changing the status (and so the
// body grpc-gateway would write) of APIs that customise none.
type refusal struct {
	error
	reason string
}

// GRPCStatus returns the wrapped status.
func (r *refusal) GRPCStatus() *status.Status { return status.Convert(r.error) }

// tooLarge is the error for a body over the limit: RESOURCE_EXHAUSTED (the
// code gRPC uses for a message over the size limit), with HTTP status 413
// instead of the 429 the code would map to.
func tooLarge(limit int64) error {
	return &runtime.HTTPStatusError{
		HTTPStatus: http.StatusRequestEntityTooLarge,
		Err: gatewayerr.New(codes.ResourceExhausted, gatewayerr.ReasonBodyTooLarge,
			fmt.Sprintf("the request body is larger than the limit of %d bytes", limit)),
	}
}

// checkContentType accepts a request body without a Content-Type, or with
// application/json or any */*+json type (parameters such as charset
// ignored), and, for a stream of messages, application/x-ndjson; it
// answers any other with 415 Unsupported Media Type.
func checkContentType(values []string, stream bool) error {
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		mt, _, err := mime.ParseMediaType(v)
		if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json") || (stream && mt == ndjsonType)) {
			continue
		}
		want := "JSON (application/json)"
		if stream {
			want = "JSON messages (application/json or application/x-ndjson)"
		}
		return &runtime.HTTPStatusError{
			HTTPStatus: http.StatusUnsupportedMediaType,
			Err:        status.Errorf(codes.InvalidArgument, "unsupported Content-Type %q: the request body must be %s", v, want),
		}
	}
	return nil
}

// routingErrorHandler is runtime.DefaultRoutingErrorHandler, except that a
// known path with another HTTP method is answered with 405 Method Not
// Allowed and an Allow header, where grpc-gateway answers 501 (its status
// JSON has the code UNIMPLEMENTED either way).
func (t *Transcoder) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus == http.StatusMethodNotAllowed {
		if allow := t.allowed(r.URL.EscapedPath()); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
		}
		runtime.HTTPError(ctx, mux, m, w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusMethodNotAllowed,
			Err:        status.Error(codes.Unimplemented, http.StatusText(httpStatus)),
		})
		return
	}
	if httpStatus == http.StatusNotFound && t.customised {
		// A refusal of the gateway's own, for the API's RESOURCE_NOT_FOUND
		// response.
		runtime.HTTPError(ctx, mux, m, w, r, &runtime.HTTPStatusError{
			HTTPStatus: http.StatusNotFound,
			Err:        gatewayerr.New(codes.NotFound, gatewayerr.ReasonRouteNotFound, http.StatusText(httpStatus)),
		})
		return
	}
	runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
}

// errorHandler is runtime.DefaultHTTPErrorHandler, except that errors the
// gateway raised itself about the backend get the status of an HTTP
// gateway (502 Bad Gateway, 504 Gateway Timeout) rather than grpc-gateway's
// 503 and 504 for any UNAVAILABLE and DEADLINE_EXCEEDED: a client can then
// tell "the backend is down" from "the backend said it is unavailable".
//
// A refusal whose type the API customised (WithGatewayResponses) is
// written by gatewayerr.WriteHTTP with that response instead.
func (t *Transcoder) errorHandler(rs gatewayerr.Responses) runtime.ErrorHandlerFunc {
	if len(rs) == 0 {
		return errorHandler
	}
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		// Only the gateway's own refusals are customised: a backend's
		// error is the backend's answer.
		code := httpStatus(err)
		var hse *runtime.HTTPStatusError
		if errors.As(err, &hse) {
			code = hse.HTTPStatus
			if code == http.StatusNotFound && gatewayerr.Reason(hse.Err) == "" {
				// No binding matches the path.
				hse = &runtime.HTTPStatusError{HTTPStatus: code, Err: gatewayerr.New(codes.NotFound, gatewayerr.ReasonRouteNotFound, status.Convert(hse.Err).Message())}
			}
		} else if rf, ok := errors.AsType[*refusal](err); ok {
			err = gatewayerr.New(status.Code(rf.error), rf.reason, status.Convert(rf.error).Message())
		} else if gatewayerr.Reason(err) == "" {
			errorHandler(ctx, mux, m, w, r, err)
			return
		}
		requestID := ""
		if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
			if vs := md.HeaderMD.Get("x-request-id"); len(vs) > 0 {
				requestID = vs[0]
				w.Header().Set("X-Request-Id", requestID)
			}
		}
		st := status.Convert(err)
		if hse != nil {
			st = status.Convert(hse.Err)
		}
		gatewayerr.WriteHTTP(w, code, st, gatewayerr.WithResponses(rs, requestID))
	}
}

// errorHandler is the error handler of transcoders without customised
// gateway responses.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if secs, ok := gatewayerr.RetryAfterSeconds(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if code := gatewayerr.HTTPStatus(err); code != 0 {
		w = &statusOverride{ResponseWriter: w, code: code}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// httpStatus is the HTTP status of an error, as errorHandler writes it.
func httpStatus(err error) int {
	if code := gatewayerr.HTTPStatus(err); code != 0 {
		return code
	}
	return runtime.HTTPStatusFromCode(status.Code(err))
}

// statusOverride replaces the status code the wrapped handler writes.
type statusOverride struct {
	http.ResponseWriter
	code int
}

// WriteHeader writes the overriding status instead of code.
func (s *statusOverride) WriteHeader(int) { s.ResponseWriter.WriteHeader(s.code) }

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusOverride) Unwrap() http.ResponseWriter { return s.ResponseWriter }
