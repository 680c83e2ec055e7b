package transcode_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

const (
	bookstoreService = "tollgate.example.v1.BookstoreService"
	echoService      = "tollgate.example.v1.EchoService"
)

// exampleGateway is the example backend behind a Transcoder.
type exampleGateway struct {
	url     string
	tc      *transcode.Transcoder
	backend *examplebackend.Server
	client  *http.Client
	// metadata receives the incoming metadata of every unary call.
	metadata chan metadata.MD
}

// startExample runs the example backend and a Transcoder for both of its
// services in front of it.
func startExample(t *testing.T, opts ...transcode.Option) *exampleGateway {
	t.Helper()
	g := &exampleGateway{metadata: make(chan metadata.MD, 100), client: &http.Client{Timeout: testTimeout}}
	capture := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		select {
		case g.metadata <- md:
		default:
		}
		return h(ctx, req)
	}
	backend, err := examplebackend.Start("127.0.0.1:0", grpc.ChainUnaryInterceptor(capture))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(backend.Stop)
	g.backend = backend
	files := filesFrom(t, examplebackend.FileDescriptorSet())
	g.tc, err = transcode.New(files, services(t, files, bookstoreService, echoService), dial(t, backend.Addr()), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	g.url = serveHTTP(t, g.tc)
	return g
}

func (g *exampleGateway) do(t *testing.T, req request) response {
	t.Helper()
	return do(t, g.client, g.url, req)
}

// status is the google.rpc.Status JSON of an error response.
type statusJSON struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Details []map[string]any `json:"details"`
}

func decodeStatus(t *testing.T, r response) statusJSON {
	t.Helper()
	var st statusJSON
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("body %q is not a google.rpc.Status: %v", r.body, err)
	}
	if st.Details == nil {
		t.Errorf("status %s has no details array", r.body)
	}
	return st
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}

func TestBindings(t *testing.T) {
	g := startExample(t)
	want := []transcode.Binding{
		{Procedure: "/tollgate.example.v1.BookstoreService/ListShelves", HTTPMethod: "GET", Path: "/v1/shelves"},
		{Procedure: "/tollgate.example.v1.BookstoreService/GetBook", HTTPMethod: "GET", Path: "/v1/{name=shelves/*/books/*}"},
		{Procedure: "/tollgate.example.v1.BookstoreService/ListBooks", HTTPMethod: "GET", Path: "/v1/{parent=shelves/*}/books"},
		{Procedure: "/tollgate.example.v1.BookstoreService/CreateBook", HTTPMethod: "POST", Path: "/v1/{parent=shelves/*}/books", Body: "book"},
		{Procedure: "/tollgate.example.v1.BookstoreService/DeleteBook", HTTPMethod: "DELETE", Path: "/v1/{name=shelves/*/books/*}"},
		{Procedure: "/tollgate.example.v1.BookstoreService/WatchBooks", HTTPMethod: "GET", Path: "/v1/{parent=shelves/*}/books:watch", ServerStreaming: true},
		{Procedure: "/tollgate.example.v1.EchoService/Echo", HTTPMethod: "POST", Path: "/v1/echo", Body: "*"},
		{Procedure: "/tollgate.example.v1.EchoService/EchoServerStream", HTTPMethod: "POST", Path: "/v1/echo:stream", Body: "*", ServerStreaming: true},
		{Procedure: "/tollgate.example.v1.EchoService/EchoClientStream", HTTPMethod: "POST", Path: "/tollgate.example.v1.EchoService/EchoClientStream", Body: "*", ClientStreaming: true, Default: true},
		{Procedure: "/tollgate.example.v1.EchoService/EchoBidiStream", HTTPMethod: "POST", Path: "/tollgate.example.v1.EchoService/EchoBidiStream", Body: "*", ServerStreaming: true, ClientStreaming: true, Default: true},
	}
	got := g.tc.Bindings()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(transcode.Binding{}, "Method")); diff != "" {
		t.Errorf("Bindings() (-want +got):\n%s", diff)
	}
	for _, b := range got {
		if "/"+string(b.Method.Parent().FullName())+"/"+string(b.Method.Name()) != b.Procedure {
			t.Errorf("binding %s has method %s", b.Procedure, b.Method.FullName())
		}
	}
}

func TestTestServiceBindings(t *testing.T) {
	tc := newTestTranscoder(t, startTestBackend(t))
	var unbound *transcode.Binding
	n := 0
	for _, b := range tc.Bindings() {
		n++
		switch {
		case b.Default:
			unbound = &b
		case strings.HasSuffix(b.Procedure, "/Upload"), strings.HasSuffix(b.Procedure, "/Chat"):
			if !b.ClientStreaming {
				t.Errorf("client-streaming method bound as another kind: %+v", b)
			}
		}
	}
	// 6 Query + 2 GetResource + 1 CreateResource + 2 UpdateResource + 1 each for
	// Delete, Archive, Lock + 2 GetFile + 10 GetResourceView + 2 StreamEvents +
	// 2 Fail + 1 Download + 1 DownloadChunks + 6 CustomGrammar + 1 Unbound +
	// 1 Upload + 1 Chat.
	if n != 41 {
		t.Errorf("%d bindings, want 41", n)
	}
	want := transcode.Binding{Procedure: "/tollgate.testing.v1.TranscodingTestService/Unbound", HTTPMethod: "POST",
		Path: "/tollgate.testing.v1.TranscodingTestService/Unbound", Body: "*", Default: true}
	if unbound == nil {
		t.Fatal("no default binding")
	}
	if diff := cmp.Diff(want, *unbound, cmpopts.IgnoreFields(transcode.Binding{}, "Method")); diff != "" {
		t.Errorf("default binding (-want +got):\n%s", diff)
	}
}

func TestBookstore(t *testing.T) {
	g := startExample(t)
	tests := []struct {
		name   string
		req    request
		status int
		want   map[string]any // fields the JSON body must have
	}{
		{"list shelves", request{path: "/v1/shelves"}, 200, nil},
		{"get book", request{path: "/v1/shelves/fiction/books/b2"}, 200, map[string]any{"name": "shelves/fiction/books/b2", "title": "Dune", "pages": 412.0}},
		{"get missing book", request{path: "/v1/shelves/fiction/books/b99"}, 404, map[string]any{"code": 5.0}},
		{"list books by author", request{path: "/v1/shelves/science/books?author=Stephen%20Hawking"}, 200, nil},
		{"create book", request{method: "POST", path: "/v1/shelves/science/books?book_id=b42", body: `{"title":"Cosmos","author":"Carl Sagan","pages":396}`}, 200,
			map[string]any{"name": "shelves/science/books/b42", "title": "Cosmos", "pages": 396.0}},
		{"create book without title", request{method: "POST", path: "/v1/shelves/science/books", body: `{}`}, 400, map[string]any{"code": 3.0}},
		{"delete book", request{method: "DELETE", path: "/v1/shelves/fiction/books/b1"}, 200, map[string]any{}},
		{"deleted book is gone", request{path: "/v1/shelves/fiction/books/b1"}, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, tt.req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := decodeJSON(t, r.body)
			for k, v := range tt.want {
				if diff := cmp.Diff(v, got[k]); diff != "" {
					t.Errorf("field %s (-want +got):\n%s", k, diff)
				}
			}
			if tt.status == 200 && tt.name == "create book" {
				if _, ok := got["createTime"].(string); !ok {
					t.Errorf("createTime %v is not a string", got["createTime"])
				}
			}
		})
	}
}

func TestEcho(t *testing.T) {
	g := startExample(t)
	r := g.do(t, request{method: "POST", path: "/v1/echo", body: `{"message":"hi","payload":"AAEC"}`})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if diff := cmp.Diff(map[string]any{"message": "hi", "payload": "AAEC", "index": 0.0}, decodeJSON(t, r.body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	// gRPC's own content-type does not leak (grpc-gateway forwards it).
	if got := r.header.Values("Grpc-Metadata-Content-Type"); got != nil {
		t.Errorf("Grpc-Metadata-Content-Type = %q", got)
	}
	if len(r.trailer) != 0 {
		t.Errorf("trailers %v without TE: trailers", r.trailer)
	}

	r = g.do(t, request{method: "POST", path: "/v1/echo", body: `{"message":"fail:PERMISSION_DENIED"}`})
	if r.status != 403 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	st := decodeStatus(t, r)
	if st.Code != 7 || st.Message != examplebackend.FailureMessage || len(st.Details) != 1 ||
		st.Details[0]["@type"] != "type.googleapis.com/google.rpc.ErrorInfo" || st.Details[0]["reason"] != examplebackend.FailureReason {
		t.Errorf("status %+v", st)
	}
}

// TestTrailers checks that trailers are forwarded to clients that accept
// them, and that binary trailers (grpc-status-details-bin), whose raw bytes
// grpc-gateway copies into the HTTP trailer, are not.
func TestTrailers(t *testing.T) {
	g := startExample(t)
	for _, msg := range []string{"hi", "fail:NOT_FOUND"} {
		t.Run(msg, func(t *testing.T) {
			r := g.do(t, request{method: "POST", path: "/v1/echo", body: `{"message":"` + msg + `"}`, header: map[string]string{"TE": "trailers"}})
			if got := r.trailer.Get("Grpc-Trailer-X-Echo-Trailer"); got != "done" {
				t.Errorf("trailer Grpc-Trailer-X-Echo-Trailer = %q; trailers %v", got, r.trailer)
			}
			for k := range r.trailer {
				if strings.HasSuffix(strings.ToLower(k), "-bin") {
					t.Errorf("binary trailer %s forwarded", k)
				}
			}
		})
	}
}

// readLines reads the first n non-empty lines of a streamed response and
// cancels the request.
func readLines(t *testing.T, g *exampleGateway, req request, n int) (*http.Response, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.method, g.url+req.path, strings.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	resp, err := g.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for len(lines) < n && sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	return resp, lines
}

func TestServerStreaming(t *testing.T) {
	g := startExample(t)
	t.Run("newline-delimited JSON", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: "/v1/echo:stream", body: `{"message":"m","repeat":3}`})
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d lines: %s", len(lines), r.body)
		}
		for i, l := range lines {
			want := map[string]any{"result": map[string]any{"message": "m", "payload": "", "index": float64(i)}}
			if diff := cmp.Diff(want, decodeJSON(t, []byte(l))); diff != "" {
				t.Errorf("line %d (-want +got):\n%s", i, diff)
			}
		}
	})
	t.Run("server-sent events", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: "/v1/echo:stream", body: `{"message":"m","repeat":2}`,
			header: map[string]string{"Accept": "application/json;q=0.5, text/event-stream"}})
		if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		events := strings.Split(strings.TrimSuffix(string(r.body), "\n\n"), "\n\n")
		if len(events) != 2 {
			t.Fatalf("%d events: %q", len(events), r.body)
		}
		for i, ev := range events {
			data, ok := strings.CutPrefix(ev, "data: ")
			if !ok || strings.Contains(data, "\n") {
				t.Fatalf("event %q", ev)
			}
			if diff := cmp.Diff(map[string]any{"message": "m", "payload": "", "index": float64(i)}, decodeJSON(t, []byte(data))); diff != "" {
				t.Errorf("event %d (-want +got):\n%s", i, diff)
			}
		}
	})
	t.Run("server-sent events refused with q=0", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: "/v1/echo:stream", body: `{"message":"m"}`, header: map[string]string{"Accept": "text/event-stream;q=0"}})
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("server-sent error event", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: "/v1/echo:stream", body: `{"message":"fail:UNAVAILABLE"}`, header: map[string]string{"Accept": "text/event-stream"}})
		if r.status != 503 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		data, ok := strings.CutPrefix(string(r.body), "event: error\ndata: ")
		if !ok || !strings.HasSuffix(data, "\n\n") {
			t.Fatalf("body %q", r.body)
		}
		if st := decodeStatus(t, response{body: []byte(data)}); st.Code != 14 || len(st.Details) != 1 {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("stream error as a result line", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: "/v1/echo:stream", body: `{"repeat":-1}`})
		if r.status != 400 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if _, ok := decodeJSON(t, r.body)["error"]; !ok {
			t.Errorf("body %s", r.body)
		}
	})
	t.Run("watch until cancelled", func(t *testing.T) {
		for _, accept := range []string{"", "text/event-stream"} {
			resp, lines := readLines(t, g, request{method: "GET", path: "/v1/shelves/fiction/books:watch", header: map[string]string{"Accept": accept}}, 2)
			if resp.StatusCode != 200 || len(lines) != 2 {
				t.Fatalf("Accept %q: status %d, lines %q", accept, resp.StatusCode, lines)
			}
			if accept != "" && !strings.HasPrefix(lines[0], "data: {") {
				t.Errorf("SSE line %q", lines[0])
			}
			if accept == "" && !strings.HasPrefix(lines[0], `{"result":`) {
				t.Errorf("NDJSON line %q", lines[0])
			}
		}
	})
}

func TestRouting(t *testing.T) {
	g := startExample(t)
	tests := []struct {
		name   string
		req    request
		status int
		code   int
	}{
		{"unknown path", request{path: "/v1/nope"}, 404, 5},
		{"root", request{path: "/"}, 404, 5},
		{"wrong method", request{method: "PUT", path: "/v1/shelves"}, 405, 12},
		{"wrong method on a variable path", request{method: "PATCH", path: "/v1/shelves/fiction/books/b1"}, 405, 12},
		{"client-streaming default path with another method", request{method: "GET", path: "/tollgate.example.v1.EchoService/EchoClientStream"}, 405, 12},
		{"gRPC path of a bound method", request{method: "POST", path: "/tollgate.example.v1.EchoService/Echo", body: "{}"}, 404, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, tt.req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if st := decodeStatus(t, r); st.Code != tt.code || st.Message == "" {
				t.Errorf("status %+v, want code %d", st, tt.code)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	g := startExample(t, transcode.WithMaxBodyBytes(1<<20))
	echo := func(body string, header ...string) request {
		h := map[string]string{}
		for i := 0; i+1 < len(header); i += 2 {
			h[header[i]] = header[i+1]
		}
		return request{method: "POST", path: "/v1/echo", body: body, header: h}
	}
	tests := []struct {
		name    string
		req     request
		status  int
		code    int
		message string // a substring of the status message
	}{
		{"malformed JSON", echo(`{"message":`), 400, 3, "unexpected EOF"},
		{"malformed JSON 2", echo(`{"message" 1}`), 400, 3, "invalid character"},
		{"wrong field type", echo(`{"repeat":"many"}`), 400, 3, "repeat"},
		{"wrong field type 2", echo(`{"message":5}`), 400, 3, "message"},
		{"bad base64", echo(`{"payload":"!!"}`), 400, 3, "payload"},
		{"unknown field", echo(`{"message":"a","color":"red"}`), 400, 3, `unknown field "color"`},
		{"duplicate key", echo(`{"message":"a","message":"b"}`), 400, 3, `duplicate field "message"`},
		{"duplicate key by another name", echo(`{"repeat":1,"repeat":2}`), 400, 3, "duplicate"},
		{"invalid UTF-8", echo("{\"message\":\"\xc3\x28\"}"), 400, 3, "invalid UTF-8"},
		{"lone surrogate", echo(`{"message":"\udc00"}`), 400, 3, ""},
		{"10000 levels of arrays", echo(strings.Repeat("[", 10000) + strings.Repeat("]", 10000)), 400, 3, ""},
		{"100000 levels of objects", echo(strings.Repeat(`{"a":`, 100000)), 400, 3, "exceeded max depth"},
		{"trailing data", echo(`{"message":"a"}]`), 400, 3, "after the JSON value"},
		{"null", echo(`null`), 400, 3, ""},
		{"text/plain", echo(`{"message":"a"}`, "Content-Type", "text/plain"), 415, 3, "text/plain"},
		{"application/xml", echo(`<a/>`, "Content-Type", "application/xml"), 415, 3, "application/xml"},
		{"malformed Content-Type", echo(`{}`, "Content-Type", "application/json; charset"), 415, 3, "Content-Type"},
		{"multipart", echo(`{}`, "Content-Type", "multipart/form-data; boundary=x"), 415, 3, ""},
		{"over the limit", echo(`{"message":"` + strings.Repeat("a", 1<<20) + `"}`), 413, 8, "1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, tt.req)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			st := decodeStatus(t, r)
			if st.Code != tt.code || !strings.Contains(st.Message, tt.message) {
				t.Errorf("status %+v, want code %d and a message containing %q", st, tt.code, tt.message)
			}
		})
	}

	for _, ok := range []struct{ name, body, ct string }{
		{"no Content-Type", `{"message":"a"}`, ""},
		{"charset", `{"message":"a"}`, "application/json; charset=utf-8"},
		{"+json", `{"message":"a"}`, "application/vnd.api+json"},
		{"empty body", ``, "application/json"},
		{"white space", " \r\n\t", "application/json"},
	} {
		t.Run("accepted "+ok.name, func(t *testing.T) {
			req := echo(ok.body)
			req.header["Content-Type"] = ok.ct
			r := g.do(t, req)
			if r.status != 200 {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
}

// countingReader is an endless body that counts what is read from it.
type countingReader struct {
	mu sync.Mutex
	n  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		p[i] = ' '
	}
	c.n += int64(len(p))
	return len(p), nil
}

func (c *countingReader) read() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestBodyLimitStopsReading checks that a body over the limit is answered
// with 413 after reading at most a little more than the limit, with or
// without a Content-Length.
func TestBodyLimitStopsReading(t *testing.T) {
	const limit = 64 << 10
	g := startExample(t, transcode.WithMaxBodyBytes(limit))
	for _, declared := range []int64{-1, 1 << 40} {
		body := &countingReader{}
		req := httptest.NewRequest(http.MethodPost, "/v1/echo", io.NopCloser(body))
		req.ContentLength = declared
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			g.tc.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Fatalf("Content-Length %d: ServeHTTP did not return", declared)
		}
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("Content-Length %d: status %d: %s", declared, rec.Code, rec.Body)
		}
		if n := body.read(); n > 2*limit {
			t.Errorf("Content-Length %d: read %d bytes of the body, limit %d", declared, n, limit)
		}
		if declared > 0 && body.read() != 0 {
			t.Errorf("Content-Length %d: read %d bytes, want none", declared, body.read())
		}
	}
}

func TestHeaderForwarding(t *testing.T) {
	g := startExample(t, transcode.WithOutgoingMetadata(metadata.Pairs("X-Tollgate-Stage", "prod", "x-api-key", "from-gateway")))
	r := g.do(t, request{method: "POST", path: "/v1/echo", body: `{}`, header: map[string]string{
		"Authorization": "Bearer abc", "X-Api-Key": "from-client", "X-Request-Id": "rid-1",
		"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "Tracestate": "v=1", "Baggage": "a=b",
		"Accept-Language": "de", "X-Custom": "x", "Grpc-Metadata-Foo": "bar", "X-Tollgate-Stage": "forged",
	}})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	md := <-g.metadata
	want := map[string][]string{
		"authorization":               {"Bearer abc"},
		"x-api-key":                   {"from-gateway"},
		"x-request-id":                {"rid-1"},
		"traceparent":                 {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"tracestate":                  {"v=1"},
		"baggage":                     {"a=b"},
		"grpcgateway-accept-language": {"de"},
		"grpcgateway-authorization":   {"Bearer abc"},
		"grpcgateway-content-type":    {"application/json"},
		"grpcgateway-user-agent":      {"Go-http-client/1.1"},
		"x-tollgate-stage":            {"prod"},
		"x-forwarded-for":             {"127.0.0.1"},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, md.Get(k)); diff != "" {
			t.Errorf("metadata %s (-want +got):\n%s", k, diff)
		}
	}
	for _, k := range []string{"x-custom", "foo", "grpc-metadata-foo", "grpcgateway-x-custom"} {
		if v := md.Get(k); v != nil {
			t.Errorf("metadata %s = %q, want none", k, v)
		}
	}
}

func TestGrpcTimeout(t *testing.T) {
	g := startExample(t)
	r := g.do(t, request{method: "POST", path: "/v1/echo", body: `{"message":"sleep:5s"}`, header: map[string]string{"Grpc-Timeout": "50m"}})
	if r.status != 504 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if st := decodeStatus(t, r); st.Code != 4 {
		t.Errorf("status %+v", st)
	}
}

// TestResolvedOptions builds the Transcoder from the linked-in descriptors,
// whose google.api.http options are already resolved to the generated
// type, instead of from a serialized set.
func TestResolvedOptions(t *testing.T) {
	backend, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(backend.Stop)
	tc, err := transcode.New(protoregistry.GlobalFiles, services(t, protoregistry.GlobalFiles, bookstoreService), dial(t, backend.Addr()))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if n := len(tc.Bindings()); n != 6 {
		t.Errorf("%d bindings, want 6", n)
	}
	r := do(t, http.DefaultClient, serveHTTP(t, tc), request{path: "/v1/shelves/fiction/books/b1"})
	if r.status != 200 {
		t.Errorf("status %d: %s", r.status, r.body)
	}
}

// TestConcurrent runs many calls at once, for the race detector.
func TestConcurrent(t *testing.T) {
	g := startExample(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			for j := range 10 {
				var req *http.Request
				switch (i + j) % 3 {
				case 0:
					req, _ = http.NewRequest(http.MethodGet, g.url+"/v1/shelves/fiction/books/b2", nil)
				case 1:
					req, _ = http.NewRequest(http.MethodPost, g.url+"/v1/echo", strings.NewReader(fmt.Sprintf(`{"message":"m%d"}`, j)))
				default:
					req, _ = http.NewRequest(http.MethodPost, g.url+"/v1/echo:stream", strings.NewReader(`{"repeat":3}`))
					req.Header.Set("Accept", "text/event-stream")
				}
				resp, err := g.client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	files := filesFrom(t, examplebackend.FileDescriptorSet())
	svcs := services(t, files, echoService)
	conn := dial(t, "127.0.0.1:1")
	other, err := protoregistry.GlobalFiles.FindDescriptorByName("tollgate.testing.v1.TranscodingTestService")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		new  func() (*transcode.Transcoder, error)
		want string
	}{
		{"nil files", func() (*transcode.Transcoder, error) { return transcode.New(nil, svcs, conn) }, "files is nil"},
		{"nil conn", func() (*transcode.Transcoder, error) { return transcode.New(files, svcs, nil) }, "conn is nil"},
		{"zero limit", func() (*transcode.Transcoder, error) {
			return transcode.New(files, svcs, conn, transcode.WithMaxBodyBytes(0))
		}, "must be positive"},
		{"service twice", func() (*transcode.Transcoder, error) {
			return transcode.New(files, append(svcs, svcs...), conn)
		}, "listed twice"},
		{"service not in files", func() (*transcode.Transcoder, error) {
			return transcode.New(files, append(svcs, other.(protoreflect.ServiceDescriptor)), conn)
		}, "not in the descriptors"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.new()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := transcode.New(files, nil, conn, transcode.WithLogger(nil)); err != nil {
		t.Errorf("New with no services: %v", err)
	}
}

// TestHeaderMapping: an API's request header patterns forward matching
// headers under their own name, never the gateway's or gRPC's own; its
// response_metadata_as_headers writes response metadata unprefixed.
func TestHeaderMapping(t *testing.T) {
	g := startExample(t, transcode.WithHeaderMapping(transcode.HeaderMapping{
		RequestHeaders:            []string{"x-*", "Cookie"},
		ResponseMetadataAsHeaders: true,
	}))
	r := g.do(t, request{method: "POST", path: "/v1/echo", body: `{}`, header: map[string]string{
		"X-Custom": "c", "Cookie": "k=v", "X-Tollgate-Stage": "forged", "X-Forwarded-For": "10.0.0.1",
		"Grpc-Timeout": "5S", "X-Echo-Color": "blue", "TE": "trailers",
	}})
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	md := <-g.metadata
	for k, want := range map[string][]string{
		"x-custom":         {"c"},
		"cookie":           {"k=v"},
		"x-echo-color":     {"blue"},
		"x-tollgate-stage": nil,
		"x-forwarded-for":  {"10.0.0.1, 127.0.0.1"}, // grpc-gateway's own, once
		"grpc-timeout":     nil,
	} {
		if diff := cmp.Diff(want, md.Get(k)); diff != "" {
			t.Errorf("metadata %s (-want +got):\n%s", k, diff)
		}
	}
	if got := r.header.Get("X-Echo-Color"); got != "blue" {
		t.Errorf("X-Echo-Color = %q; headers %v", got, r.header)
	}
	if got := r.trailer.Get("X-Echo-Trailer"); got != "done" {
		t.Errorf("trailer X-Echo-Trailer = %q; trailers %v", got, r.trailer)
	}
	for k := range r.header {
		if strings.HasPrefix(k, "Grpc-Metadata-") {
			t.Errorf("prefixed header %s", k)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}

	if _, err := transcode.New(protoregistry.GlobalFiles, nil, fakeConn{}, transcode.WithHeaderMapping(transcode.HeaderMapping{RequestHeaders: []string{"grpc-*"}})); err == nil {
		t.Error("New accepted a pattern naming grpc-*")
	}
}
