package transcode

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The media types of streamed responses.
const (
	// eventStreamType is the media type of Server-Sent Events.
	eventStreamType = "text/event-stream"
	// ndjsonType is the media type of newline-delimited JSON.
	ndjsonType = "application/x-ndjson"
)

// accepts reports whether the request's Accept header lists the media type
// mediaType (with a non-zero q, if any).
func accepts(r *http.Request, mediaType string) bool {
	for _, header := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(header, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != mediaType {
				continue
			}
			if q, err := strconv.ParseFloat(params["q"], 64); err == nil && q <= 0 {
				continue
			}
			return true
		}
	}
	return false
}

// ndjsonMarshaler is the outbound marshaler of a newline-delimited JSON
// stream the client asked for as application/x-ndjson: the stream's
// Content-Type (runtime.StreamContentType) says so, while an error
// answered before the first message keeps application/json.
type ndjsonMarshaler struct {
	runtime.Marshaler
}

// StreamContentType returns application/x-ndjson.
func (ndjsonMarshaler) StreamContentType(any) string { return ndjsonType }

// forwardEventStream writes a server stream as Server-Sent Events: each
// message as "data: <json>\n\n" (the message itself, or its response_body
// field, not wrapped in {"result": ...} as in the newline-delimited form),
// and an error as "event: error\ndata: <google.rpc.Status json>\n\n", after
// which the stream ends. An error before the first message also sets the
// HTTP status, as runtime.ForwardResponseStream does; response headers
// (Grpc-Metadata-*) are forwarded the same way too.
func (t *Transcoder) forwardEventStream(ctx context.Context, marshaler runtime.Marshaler, w http.ResponseWriter, recv func() (proto.Message, error)) {
	rc := http.NewResponseController(w)
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for k, vs := range md.HeaderMD {
			if h, ok := t.outgoingHeader(k); ok {
				for _, v := range vs {
					w.Header().Add(h, v)
				}
			}
		}
	}
	h := w.Header()
	h.Set("Content-Type", eventStreamType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")

	wrote := false
	writeError := func(err error) {
		st := status.Convert(err)
		if !wrote {
			w.WriteHeader(httpStatus(err))
		}
		buf, merr := marshaler.Marshal(st.Proto())
		if merr != nil {
			t.logger.Debug("transcode: marshaling a stream error", "error", merr)
			buf = []byte(`{"code":13,"message":"failed to marshal error message","details":[]}`)
		}
		if err := writeEvent(w, "error", buf); err != nil {
			t.logger.Debug("transcode: writing a stream error", "error", err)
			return
		}
		_ = rc.Flush()
	}
	for {
		resp, err := recv()
		if errors.Is(err, io.EOF) {
			if !wrote {
				w.WriteHeader(http.StatusOK)
			}
			return
		}
		if err != nil {
			writeError(err)
			return
		}
		var buf []byte
		if rb, ok := resp.(responseBodyMessage); ok {
			buf, err = marshaler.Marshal(rb.XXX_ResponseBody())
		} else {
			buf, err = marshaler.Marshal(resp)
		}
		if err != nil {
			writeError(status.Errorf(codes.Internal, "marshaling a response: %v", err))
			return
		}
		if err := writeEvent(w, "", buf); err != nil {
			t.logger.Debug("transcode: writing a stream message", "error", err)
			return
		}
		wrote = true
		if err := rc.Flush(); err != nil {
			t.logger.Debug("transcode: flushing a stream message", "error", err)
			return
		}
	}
}

// writeEvent writes one Server-Sent Event. data is single-line JSON; any
// line breaks in it are split into several data lines all the same.
func writeEvent(w io.Writer, event string, data []byte) error {
	var b []byte
	if event != "" {
		b = append(append(append(b, "event: "...), event...), '\n')
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		b = append(append(append(b, "data: "...), line...), '\n')
	}
	b = append(b, '\n')
	_, err := w.Write(b)
	return err
}
