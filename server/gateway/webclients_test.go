package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

const echoService = "/tollgate.example.v1.EchoService/"

// webClient is one way a connect-go client reaches the gateway.
type webClient struct {
	name   string
	http   func(t *testing.T) *http.Client
	opts   []connect.ClientOption
	h2     bool // HTTP/2: bidi streaming works
	stream bool // the protocol has client streaming
	// headerOnly: the stage is chosen only by x-tollgate-stage (gRPC
	// clients reach the gRPC server directly, where paths are methods).
	headerOnly bool
}

// http1 is a plain HTTP/1.1 client.
func http1(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// h2c is an HTTP/2 client with prior knowledge, as a gRPC client is.
func h2c(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// webClients are the protocol × transport combinations every test runs.
var webClients = []webClient{
	{name: "grpc-web/http1", http: http1, opts: []connect.ClientOption{connect.WithGRPCWeb()}, stream: true},
	{name: "grpc-web-json/http1", http: http1, opts: []connect.ClientOption{connect.WithGRPCWeb(), connect.WithProtoJSON()}},
	{name: "grpc-web/h2c", http: h2c, opts: []connect.ClientOption{connect.WithGRPCWeb()}, h2: true, stream: true},
	{name: "connect-proto/http1", http: http1, stream: true},
	{name: "connect-json/http1", http: http1, opts: []connect.ClientOption{connect.WithProtoJSON()}, stream: true},
	{name: "connect-json-gzip/http1", http: http1, opts: []connect.ClientOption{connect.WithProtoJSON(), connect.WithSendGzip()}, stream: true},
	{name: "connect-proto/h2c", http: h2c, h2: true, stream: true},
	{name: "grpc/h2c", http: h2c, opts: []connect.ClientOption{connect.WithGRPC()}, h2: true, stream: true, headerOnly: true},
}

// echoClients are connect-go clients of EchoService, built by hand from
// the generated message types.
type echoClients struct {
	unary  *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]
	server *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]
	client *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]
	bidi   *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse]
}

func newEchoClients(hc *http.Client, base string, opts ...connect.ClientOption) echoClients {
	nc := func(m string) *connect.Client[examplev1.EchoRequest, examplev1.EchoResponse] {
		return connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](hc, base+echoService+m, opts...)
	}
	return echoClients{unary: nc("Echo"), server: nc("EchoServerStream"), client: nc("EchoClientStream"), bidi: nc("EchoBidiStream")}
}

// TestWebClients: gRPC-Web and Connect clients over HTTP/1.1 and h2c call
// every kind of method, with the stage in the path or in the
// x-tollgate-stage header, and each call passes the interceptor chain
// exactly once; the backend's headers, trailers and error details reach
// the client.
func TestWebClients(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "d1", b.Addr()), nil))
	for _, wc := range webClients {
		for _, form := range []string{"prefix", "header"} {
			if wc.headerOnly && form == "prefix" {
				continue
			}
			t.Run(wc.name+"/"+form, func(t *testing.T) {
				base := tg.url("")
				opts := wc.opts
				if form == "prefix" {
					base = tg.url("/prod")
				} else {
					opts = append(opts[:len(opts):len(opts)], connect.WithInterceptors(stageHeader("prod")))
				}
				c := newEchoClients(wc.http(t), base, opts...)
				c0 := tg.calls.Load()
				checkCalls := func(t *testing.T, want int64) {
					t.Helper()
					if got := tg.calls.Load() - c0; got != want {
						t.Errorf("chain ran %d times, want %d", got, want)
					}
					c0 = tg.calls.Load()
				}

				req := connect.NewRequest(&examplev1.EchoRequest{Message: "hi", Payload: []byte{0, 1, 2}})
				req.Header().Set("X-Echo-Color", "blue")
				res, err := c.unary.CallUnary(ctx(t), req)
				if err != nil {
					t.Fatalf("unary: %v", err)
				}
				if res.Msg.GetMessage() != "hi" || !bytes.Equal(res.Msg.GetPayload(), []byte{0, 1, 2}) {
					t.Errorf("unary: got %v", res.Msg)
				}
				if got := res.Header().Get("X-Echo-Color"); got != "blue" {
					t.Errorf("unary: header x-echo-color = %q, want blue", got)
				}
				if got := res.Trailer().Get("X-Echo-Trailer"); got != "done" {
					t.Errorf("unary: trailer x-echo-trailer = %q, want done", got)
				}
				checkCalls(t, 1)

				_, err = c.unary.CallUnary(ctx(t), connect.NewRequest(&examplev1.EchoRequest{Message: "fail:NOT_FOUND"}))
				checkBackendError(t, err, connect.CodeNotFound)
				checkCalls(t, 1)

				ss, err := c.server.CallServerStream(ctx(t), connect.NewRequest(&examplev1.EchoRequest{Message: "s", Repeat: 5}))
				if err != nil {
					t.Fatalf("server stream: %v", err)
				}
				n := 0
				for ss.Receive() {
					if ss.Msg().GetIndex() != int32(n) {
						t.Errorf("server stream: message %d has index %d", n, ss.Msg().GetIndex())
					}
					n++
				}
				if err := ss.Err(); err != nil || n != 5 {
					t.Errorf("server stream: %d messages, %v; want 5", n, err)
				}
				if got := ss.ResponseTrailer().Get("X-Echo-Trailer"); got != "done" {
					t.Errorf("server stream: trailer x-echo-trailer = %q, want done", got)
				}
				_ = ss.Close()
				checkCalls(t, 1)

				if wc.stream {
					cs := c.client.CallClientStream(ctx(t))
					for _, m := range []string{"a", "b", "c"} {
						if err := cs.Send(&examplev1.EchoRequest{Message: m}); err != nil {
							t.Fatalf("client stream: send: %v", err)
						}
					}
					res, err := cs.CloseAndReceive()
					if err != nil {
						t.Fatalf("client stream: %v", err)
					}
					if res.Msg.GetMessage() != "abc" || res.Msg.GetIndex() != 3 {
						t.Errorf("client stream: got %v", res.Msg)
					}
					checkCalls(t, 1)
				}

				if wc.h2 {
					bs := c.bidi.CallBidiStream(ctx(t))
					for i, m := range []string{"x", "y"} {
						if err := bs.Send(&examplev1.EchoRequest{Message: m}); err != nil {
							t.Fatalf("bidi: send: %v", err)
						}
						got, err := bs.Receive()
						if err != nil {
							t.Fatalf("bidi: receive: %v", err)
						}
						if got.GetMessage() != m || got.GetIndex() != int32(i) {
							t.Errorf("bidi: got %v, want %s at %d", got, m, i)
						}
					}
					if err := bs.CloseRequest(); err != nil {
						t.Fatal(err)
					}
					if _, err := bs.Receive(); !errors.Is(err, io.EOF) {
						t.Errorf("bidi: after half-close got %v, want EOF", err)
					}
					_ = bs.CloseResponse()
					checkCalls(t, 1)
				}
			})
		}
	}
}

// stageHeader sets x-tollgate-stage on every request.
func stageHeader(stage string) connect.Interceptor {
	return headerInterceptor{"X-Tollgate-Stage", stage}
}

// headerInterceptor sets a request header on every call.
type headerInterceptor struct{ key, value string }

func (h headerInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(c context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set(h.key, h.value)
		return next(c, req)
	}
}

func (h headerInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(c context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(c, spec)
		conn.RequestHeader().Set(h.key, h.value)
		return conn
	}
}

func (h headerInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// checkBackendError checks a failure the example backend raised on
// request, with its ErrorInfo detail.
func checkBackendError(t *testing.T, err error, want connect.Code) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a %v error", err, want)
	}
	if ce.Code() != want || ce.Message() != examplebackend.FailureMessage {
		t.Errorf("got %v %q, want %v %q", ce.Code(), ce.Message(), want, examplebackend.FailureMessage)
	}
	if reason := errorInfoReason(ce); reason != examplebackend.FailureReason {
		t.Errorf("ErrorInfo reason %q, want %q", reason, examplebackend.FailureReason)
	}
}

// errorInfoReason returns the reason of a connect error's ErrorInfo.
func errorInfoReason(ce *connect.Error) string {
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if ei, ok := v.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// TestGRPCWebText: a raw application/grpc-web-text request (base64
// frames, each padded on its own as browsers' clients send them) gets a
// base64 response whose last frame holds the trailers.
func TestGRPCWebText(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "d1", b.Addr()), nil))
	msg, err := proto.Marshal(&examplev1.EchoRequest{Message: "text", Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	frame := grpcFrame(0, msg)
	// Split the frame and pad each part, as a client sending in chunks may.
	body := base64.StdEncoding.EncodeToString(frame[:4]) + base64.StdEncoding.EncodeToString(frame[4:])
	for _, tc := range []struct {
		method string
		want   []string
	}{
		{"Echo", []string{"text"}},
		{"EchoServerStream", []string{"text", "text", "text"}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, tg.url("/prod"+echoService+tc.method), strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc-web-text")
			req.Header.Set("X-Grpc-Web", "1")
			resp, err := http1(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc-web-text") {
				t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			decoded, err := decodePaddedBase64(raw)
			if err != nil {
				t.Fatalf("response is not base64: %v: %q", err, raw)
			}
			msgs, trailer := parseGRPCWebFrames(t, decoded)
			var got []string
			for _, m := range msgs {
				var res examplev1.EchoResponse
				if err := proto.Unmarshal(m, &res); err != nil {
					t.Fatal(err)
				}
				got = append(got, res.GetMessage())
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("messages %q, want %q", got, tc.want)
			}
			if trailer.Get("Grpc-Status") != "0" || trailer.Get("X-Echo-Trailer") != "done" {
				t.Errorf("trailer frame %v, want grpc-status 0 and x-echo-trailer", trailer)
			}
		})
	}
}

// grpcFrame is a length-prefixed message with flags.
func grpcFrame(flags byte, msg []byte) []byte {
	out := make([]byte, 5, 5+len(msg))
	out[0] = flags
	binary.BigEndian.PutUint32(out[1:], uint32(len(msg)))
	return append(out, msg...)
}

// decodePaddedBase64 decodes concatenated, separately padded base64 strings.
func decodePaddedBase64(b []byte) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		end := len(b)
		if i := bytes.IndexByte(b, '='); i >= 0 {
			end = i - i%4 + 4
		}
		d, err := base64.StdEncoding.DecodeString(string(b[:end]))
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
		b = b[end:]
	}
	return out, nil
}

// parseGRPCWebFrames splits a gRPC-Web body into messages and the trailer
// frame, which must come last.
func parseGRPCWebFrames(t *testing.T, b []byte) ([][]byte, textproto.MIMEHeader) {
	t.Helper()
	var msgs [][]byte
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated frame header: %x", b)
		}
		n := binary.BigEndian.Uint32(b[1:5])
		if uint32(len(b)-5) < n {
			t.Fatalf("truncated frame")
		}
		flags, payload := b[0], b[5:5+n]
		b = b[5+n:]
		if flags&0x80 != 0 {
			if len(b) != 0 {
				t.Fatalf("%d bytes after the trailer frame", len(b))
			}
			h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(payload, "\r\n"...)))).ReadMIMEHeader()
			if err != nil {
				t.Fatalf("trailer frame %q: %v", payload, err)
			}
			return msgs, h
		}
		msgs = append(msgs, payload)
	}
	t.Fatal("no trailer frame")
	return nil, nil
}

// TestWebClientRoutingErrors: calls no stage serves are refused in the
// client's own protocol, before the chain, as gRPC clients are refused.
func TestWebClientRoutingErrors(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t,
		entry("shop", "prod", deployment(t, "shop", "d1", b.Addr()), nil),
		entry("shop2", "prod", deployment(t, "shop2", "d1", b.Addr()), nil),
	)
	for _, wc := range webClients[:5] {
		for _, tc := range []struct {
			name, base string
			opts       []connect.ClientOption
			want       connect.Code
		}{
			{"unknown stage", "/nope", nil, connect.CodeUnimplemented},
			{"unknown stage in header", "", []connect.ClientOption{connect.WithInterceptors(stageHeader("nope"))}, connect.CodeUnimplemented},
			{"ambiguous", "", nil, connect.CodeFailedPrecondition},
		} {
			t.Run(wc.name+"/"+tc.name, func(t *testing.T) {
				c := newEchoClients(wc.http(t), tg.url(tc.base), append(wc.opts[:len(wc.opts):len(wc.opts)], tc.opts...)...)
				_, err := c.unary.CallUnary(ctx(t), connect.NewRequest(&examplev1.EchoRequest{Message: "x"}))
				if connect.CodeOf(err) != tc.want {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
	}
	// A method the stage's schema lacks.
	c := connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](http1(t), tg.url("/prod/tollgate.example.v1.EchoService/Nope"))
	if _, err := c.CallUnary(ctx(t), connect.NewRequest(&examplev1.EchoRequest{})); connect.CodeOf(err) != connect.CodeUnimplemented {
		t.Errorf("unknown method: got %v, want unimplemented", err)
	}
	if n := tg.calls.Load(); n != 0 {
		t.Errorf("the chain ran %d times for refused calls", n)
	}
}

// connectProtocolClient is protocolClient for a connect-go client of the
// given protocol (gRPC-Web, Connect with GET for side-effect-free methods),
// with the stage in the path.
func connectProtocolClient(name string, hc func(t *testing.T) *http.Client, opts ...connect.ClientOption) protocolClient {
	const books = "/tollgate.example.v1.BookstoreService/"
	outcomeOf := func(err error, hdr http.Header, title string) outcome {
		o := outcome{ok: err == nil, title: title, cache: hdr.Get(cache.StatusHeader)}
		var ce *connect.Error
		if errors.As(err, &ce) {
			o.code = codes.Code(ce.Code())
			o.cache = ce.Meta().Get(cache.StatusHeader)
		}
		return o
	}
	call := func(t *testing.T, e *cacheEnv, method string, req connect.AnyRequest, headers map[string]string, resp proto.Message) (http.Header, error) {
		for k, v := range headers {
			req.Header().Set(k, v)
		}
		var hdr http.Header
		var err error
		// What generated clients know from the descriptors.
		readOpts := append(opts[:len(opts):len(opts)], connect.WithIdempotency(connect.IdempotencyNoSideEffects))
		switch resp := resp.(type) {
		case *examplev1.Book:
			c := connect.NewClient[examplev1.GetBookRequest, examplev1.Book](hc(t), e.tg.url("/prod"+books+method), readOpts...)
			if method == "CreateBook" {
				cc := connect.NewClient[examplev1.CreateBookRequest, examplev1.Book](hc(t), e.tg.url("/prod"+books+method), opts...)
				var r *connect.Response[examplev1.Book]
				if r, err = cc.CallUnary(ctx(t), req.(*connect.Request[examplev1.CreateBookRequest])); err == nil {
					proto.Merge(resp, r.Msg)
					hdr = r.Header()
				}
				break
			}
			var r *connect.Response[examplev1.Book]
			if r, err = c.CallUnary(ctx(t), req.(*connect.Request[examplev1.GetBookRequest])); err == nil {
				proto.Merge(resp, r.Msg)
				hdr = r.Header()
			}
		case *examplev1.ListBooksResponse:
			c := connect.NewClient[examplev1.ListBooksRequest, examplev1.ListBooksResponse](hc(t), e.tg.url("/prod"+books+method), readOpts...)
			var r *connect.Response[examplev1.ListBooksResponse]
			if r, err = c.CallUnary(ctx(t), req.(*connect.Request[examplev1.ListBooksRequest])); err == nil {
				proto.Merge(resp, r.Msg)
				hdr = r.Header()
			}
		}
		if hdr == nil {
			hdr = http.Header{}
		}
		return hdr, err
	}
	return protocolClient{
		name: name,
		getBook: func(t *testing.T, e *cacheEnv, book string, headers map[string]string) outcome {
			var b examplev1.Book
			hdr, err := call(t, e, "GetBook", connect.NewRequest(&examplev1.GetBookRequest{Name: "shelves/1/books/" + book}), headers, &b)
			return outcomeOf(err, hdr, b.GetTitle())
		},
		listBooks: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
			var r examplev1.ListBooksResponse
			hdr, err := call(t, e, "ListBooks", connect.NewRequest(&examplev1.ListBooksRequest{Parent: "shelves/1"}), headers, &r)
			title := ""
			if len(r.GetBooks()) > 0 {
				title = r.GetBooks()[0].GetTitle()
			}
			return outcomeOf(err, hdr, title)
		},
		createBook: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
			var b examplev1.Book
			hdr, err := call(t, e, "CreateBook", connect.NewRequest(&examplev1.CreateBookRequest{Parent: "shelves/1", Book: &examplev1.Book{Title: "t"}}), headers, &b)
			return outcomeOf(err, hdr, b.GetTitle())
		},
	}
}

// getOnly is an HTTP/1.1 client that fails the test on a POST of a
// side-effect-free method, so that the Connect GET client proves it used GET.
func getOnly(t *testing.T) *http.Client {
	c := http1(t)
	next := c.Transport
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/CreateBook") {
			t.Errorf("%s %s, want GET", r.Method, r.URL.Path)
		}
		return next.RoundTrip(r)
	})
	return c
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// webProtocolClients are the web client protocols the response cache
// tests run besides gRPC and REST.
var webProtocolClients = []protocolClient{
	connectProtocolClient("grpc-web", http1, connect.WithGRPCWeb()),
	connectProtocolClient("connect-get", getOnly, connect.WithHTTPGet(), connect.WithProtoJSON()),
	connectProtocolClient("connect-proto", h2c),
}

// TestWebClientsShareTheCache: a side-effect-free method's response cached
// for a gRPC call answers the same call over gRPC-Web and Connect GET (the
// policies see one gRPC call, whatever the client's protocol), and a
// Connect GET of a method with side effects is refused.
func TestWebClientsShareTheCache(t *testing.T) {
	be := &countingBookstore{}
	e := newCacheEnv(t, be)
	alice := map[string]string{"X-Token": "alice"}
	if got := grpcClient.getBook(t, e, "1", alice); !got.ok || got.title != "call 1" || got.cache != "miss" {
		t.Fatalf("gRPC: %+v", got)
	}
	for _, pc := range webProtocolClients {
		if got := pc.getBook(t, e, "1", alice); !got.ok || got.title != "call 1" || got.cache != "hit" {
			t.Errorf("%s: %+v, want the gRPC call's cached answer", pc.name, got)
		}
	}
	// connect-go falls back to POST for methods with side effects; a raw
	// GET is refused with 405 before the chain.
	req, err := http.NewRequest(http.MethodGet, e.tg.url("/prod/tollgate.example.v1.BookstoreService/CreateBook?connect=v1&encoding=json&message=%7B%7D"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http1(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("Connect GET of CreateBook: %d, want 405", resp.StatusCode)
	}
}

// TestWebClientStageSelection: the stage of a web client call is chosen by
// domain mapping, path prefix or x-tollgate-stage, and the chain sees the
// call as the gRPC call of that stage.
func TestWebClientStageSelection(t *testing.T) {
	b := backend(t)
	seen := make(chan *callinfo.Call, 1)
	policy := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c := *callinfo.FromContext(ss.Context())
		seen <- &c
		return handler(srv, ss)
	}
	gw, err := gateway.New(gateway.WithInterceptors(policy))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	errs := gw.Load(routing.Config{
		Stages: []routing.Entry{
			entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil),
			entry("shop", "beta", deployment(t, "shop", "v1", b.Addr()), nil),
		},
		DomainMappings: []*adminv1.DomainMapping{
			{Name: "domainMappings/shop", Domain: "shop.example.com", Stage: "apis/shop/stages/beta"},
			{Name: "domainMappings/books", Domain: "api.example.com", BasePath: "/books", Stage: "apis/shop/stages/prod"},
		},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		name, host, base, header string
		want                     string // the stage, or "" for UNIMPLEMENTED
	}{
		{"prefix", "", "/beta", "", "apis/shop/stages/beta"},
		{"prefix wins over the header", "", "/beta", "prod", "apis/shop/stages/beta"},
		{"header", "", "", "apis/shop/stages/prod", "apis/shop/stages/prod"},
		{"domain", "shop.example.com", "", "prod", "apis/shop/stages/beta"},
		{"domain and base path", "api.example.com:8080", "/books", "", "apis/shop/stages/prod"},
		{"mapped domain, other path", "api.example.com", "/beta", "", ""},
	} {
		for _, wc := range webClients[:4] {
			t.Run(tc.name+"/"+wc.name, func(t *testing.T) {
				hc := wc.http(t)
				if tc.host != "" {
					next := hc.Transport
					hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
						r.Host = tc.host
						return next.RoundTrip(r)
					})
				}
				opts := wc.opts
				if tc.header != "" {
					opts = append(opts[:len(opts):len(opts)], connect.WithInterceptors(stageHeader(tc.header)))
				}
				c := newEchoClients(hc, tg.url(tc.base), opts...)
				_, err := c.unary.CallUnary(ctx(t), connect.NewRequest(&examplev1.EchoRequest{Message: "x"}))
				if tc.want == "" {
					if err == nil {
						t.Fatal("served")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				call := <-seen
				if call.Stage != tc.want || call.Protocol != callinfo.GRPC || call.FullMethod != echoService+"Echo" || call.SourceIP != "127.0.0.1" {
					t.Errorf("chain saw stage %s, protocol %v, method %s, source %s", call.Stage, call.Protocol, call.FullMethod, call.SourceIP)
				}
			})
		}
	}
}

// TestWebClientLimits: the client's deadline reaches the backend call
// (Connect-Timeout-Ms, grpc-timeout), and a request message over the data
// plane's limit is refused with RESOURCE_EXHAUSTED, over every protocol.
func TestWebClientLimits(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "d1", b.Addr()), nil))
	for _, wc := range webClients {
		t.Run(wc.name, func(t *testing.T) {
			base := tg.url("/prod")
			opts := wc.opts
			if wc.headerOnly {
				base = tg.url("")
				opts = append(opts[:len(opts):len(opts)], connect.WithInterceptors(stageHeader("prod")))
			}
			c := newEchoClients(wc.http(t), base, opts...)
			short, cancel := context.WithTimeout(ctx(t), 200*time.Millisecond)
			defer cancel()
			// The backend would answer after 5 s, with no error.
			_, err := c.unary.CallUnary(short, connect.NewRequest(&examplev1.EchoRequest{Message: "sleep:5s"}))
			if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
				t.Errorf("deadline: got %v, want deadline_exceeded", err)
			}
			big := bytes.Repeat([]byte{1}, gateway.DefaultMaxRecvMsgSize+1)
			_, err = c.unary.CallUnary(ctx(t), connect.NewRequest(&examplev1.EchoRequest{Payload: big}))
			if connect.CodeOf(err) != connect.CodeResourceExhausted {
				t.Errorf("oversized request: got %v, want resource_exhausted", err)
			}
		})
	}
}

// TestWebClientUndecodableRequests: a JSON request message the gateway
// cannot translate is INVALID_ARGUMENT for the client (HTTP 400 over
// Connect) and for the chain, not a broken call. (Binary messages pass
// through undecoded, as from gRPC clients: the backend judges them.)
func TestWebClientUndecodableRequests(t *testing.T) {
	b := backend(t)
	e := newWSEnv(t, b.Addr())
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"wrong type", "application/json", `{"message": 5}`, http.StatusBadRequest},
		{"truncated JSON", "application/json", `{"message": "x"`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.tg.url("/prod"+echoService+"Echo"), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Connect-Protocol-Version", "1")
			resp, err := http1(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(body), `"code":"invalid_argument"`) {
				t.Errorf("got %d %s, want %d invalid_argument", resp.StatusCode, body, tc.want)
			}
			select {
			case err := <-e.ended:
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("the chain ended with %v, want INVALID_ARGUMENT", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("the chain did not run")
			}
		})
	}
}
