package gateway_test

// Robustness tests of the data plane over real loopback sockets: client
// cancellation reaching the backend, streamed REST responses, hostile or
// broken REST input, and HTTP integrations that stream both ways.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// robustWait bounds every wait for an event in these tests: long enough for
// a loaded -race run, short enough to keep each test under 5 s when the
// event happens.
const robustWait = 4 * time.Second

// cancelEcho is an EchoService whose Echo blocks (up to 10 s) and reports
// when a call starts and when it sees its context end.
type cancelEcho struct {
	examplev1.UnimplementedEchoServiceServer
	started   chan string // the message of each call that started
	cancelled chan error  // the context error of each call that saw ctx.Done()
}

func (e *cancelEcho) Echo(ctx context.Context, req *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	select {
	case e.started <- req.GetMessage():
	default:
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		select {
		case e.cancelled <- ctx.Err():
		default:
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.C:
		return &examplev1.EchoResponse{Message: req.GetMessage()}, nil
	}
}

// startCancelEcho serves a cancelEcho on a loopback port.
func startCancelEcho(t *testing.T) (*cancelEcho, string) {
	t.Helper()
	e := &cancelEcho{started: make(chan string, 16), cancelled: make(chan error, 16)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	examplev1.RegisterEchoServiceServer(s, e)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return e, ln.Addr().String()
}

// h2cTransport returns a transport speaking HTTP/2 with prior knowledge.
func h2cTransport(t *testing.T) *http.Transport {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// http1Transport returns a plain HTTP/1.1 transport.
func http1Transport(t *testing.T) *http.Transport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// TestClientCancelReachesBackend cancels a call while the backend works on
// it, over REST (HTTP/1.1 and h2c, through the transcoder) and gRPC: the
// backend's context must end.
func TestClientCancelReachesBackend(t *testing.T) {
	tests := []struct {
		name string
		call func(t *testing.T, tg *testGateway, c context.Context) error
	}{
		{"REST over HTTP/1.1", func(t *testing.T, tg *testGateway, c context.Context) error {
			return restSleep(c, http1Transport(t), tg)
		}},
		{"REST over h2c", func(t *testing.T, tg *testGateway, c context.Context) error {
			return restSleep(c, h2cTransport(t), tg)
		}},
		{"gRPC", func(t *testing.T, tg *testGateway, c context.Context) error {
			_, err := examplev1.NewEchoServiceClient(tg.grpcConn(t)).Echo(c, &examplev1.EchoRequest{Message: "sleep:10s"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, addr := startCancelEcho(t)
			tg := startGateway(t)
			tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", addr), nil))

			c, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tt.call(t, tg, c) }()

			select {
			case msg := <-e.started:
				if msg != "sleep:10s" {
					t.Fatalf("backend got message %q", msg)
				}
			case err := <-done:
				t.Fatalf("call ended before reaching the backend: %v", err)
			case <-time.After(robustWait):
				t.Fatal("the call did not reach the backend")
			}
			cancel()
			select {
			case err := <-e.cancelled:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("backend context ended with %v, want context.Canceled", err)
				}
			case <-time.After(robustWait):
				t.Fatal("the backend call was not cancelled after the client cancelled")
			}
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("the cancelled call succeeded")
				}
				if !errors.Is(err, context.Canceled) && status.Code(err) != codes.Canceled {
					t.Errorf("client got %v, want a cancellation", err)
				}
			case <-time.After(robustWait):
				t.Fatal("the client call did not return after cancelling")
			}
		})
	}
}

// restSleep posts {"message":"sleep:10s"} to /prod/v1/echo.
func restSleep(c context.Context, tr http.RoundTripper, tg *testGateway) error {
	req, err := http.NewRequestWithContext(c, http.MethodPost, tg.url("/prod/v1/echo"), strings.NewReader(`{"message":"sleep:10s"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Errorf("got a response: %d %s", resp.StatusCode, body)
}

// TestRESTServerStreaming calls a server-streaming method over REST through
// the gateway, as newline-delimited JSON and as Server-Sent Events.
func TestRESTServerStreaming(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))

	type echoJSON struct {
		Message *string `json:"message"`
		Index   *int32  `json:"index"`
	}
	check := func(t *testing.T, i int, m echoJSON) {
		t.Helper()
		if m.Message == nil || *m.Message != "m" || m.Index == nil || *m.Index != int32(i) {
			t.Errorf("message %d = message %v index %v, want \"m\" and %d", i, deref(m.Message), deref(m.Index), i)
		}
	}
	tests := []struct {
		name   string
		accept string
		wantCT string
		parse  func(t *testing.T, body string) []echoJSON
	}{
		{"newline-delimited JSON", "", "application/json", func(t *testing.T, body string) []echoJSON {
			var out []echoJSON
			for line := range strings.SplitSeq(strings.TrimRight(body, "\n"), "\n") {
				var v struct {
					Result *echoJSON       `json:"result"`
					Error  json.RawMessage `json:"error"`
				}
				if err := json.Unmarshal([]byte(line), &v); err != nil || v.Result == nil || v.Error != nil {
					t.Fatalf("line %q: want {\"result\": ...} (%v)", line, err)
				}
				out = append(out, *v.Result)
			}
			return out
		}},
		{"server-sent events", "text/event-stream", "text/event-stream", func(t *testing.T, body string) []echoJSON {
			if !strings.HasSuffix(body, "\n\n") {
				t.Fatalf("SSE body does not end with a blank line: %q", body)
			}
			var out []echoJSON
			for ev := range strings.SplitSeq(strings.TrimSuffix(body, "\n\n"), "\n\n") {
				data, ok := strings.CutPrefix(ev, "data: ")
				if !ok || strings.Contains(data, "\n") {
					t.Fatalf("event %q: want a single data line", ev)
				}
				var m echoJSON
				if err := json.Unmarshal([]byte(data), &m); err != nil {
					t.Fatalf("event data %q: %v", data, err)
				}
				out = append(out, m)
			}
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, tg.url("/prod/v1/echo:stream"), strings.NewReader(`{"message":"m","repeat":5}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := (&http.Client{Timeout: robustWait}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantCT) {
				t.Errorf("Content-Type = %q, want %s", ct, tt.wantCT)
			}
			msgs := tt.parse(t, string(body))
			if len(msgs) != 5 {
				t.Fatalf("%d messages, want 5: %s", len(msgs), body)
			}
			for i, m := range msgs {
				check(t, i, m)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// rpcStatusJSON is a google.rpc.Status JSON body.
type rpcStatusJSON struct {
	Code    *int32          `json:"code"`
	Message *string         `json:"message"`
	Details json.RawMessage `json:"details"`
}

// checkStatusJSON checks that body is a google.rpc.Status JSON with code
// and a message containing msg.
func checkStatusJSON(t *testing.T, header http.Header, body []byte, code codes.Code, msg string) {
	t.Helper()
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var st rpcStatusJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("error body %q is not google.rpc.Status JSON: %v", body, err)
	}
	if st.Code == nil || st.Message == nil {
		t.Fatalf("error body %q lacks code or message", body)
	}
	if codes.Code(*st.Code) != code {
		t.Errorf("code = %v (%s), want %v", codes.Code(*st.Code), *st.Message, code)
	}
	if strings.TrimSpace(*st.Message) == "" || !strings.Contains(*st.Message, msg) {
		t.Errorf("message = %q, want a non-empty message containing %q", *st.Message, msg)
	}
}

// TestRESTBadInput sends broken and hostile REST requests through the
// gateway: each must fail with the right status and a google.rpc.Status
// JSON body, and the backend must not see any.
func TestRESTBadInput(t *testing.T) {
	b := backend(t)
	tg := startGateway(t)
	tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", b.Addr()), nil))

	deep := 10000
	nested := `{"message":` + strings.Repeat("[", deep) + strings.Repeat("]", deep) + `}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantCode    codes.Code
		wantMsg     string // in the status message
	}{
		{"malformed JSON", "POST", "/prod/v1/echo", "application/json", `{"message":`, 400, codes.InvalidArgument, "unexpected EOF"},
		{"not JSON at all", "POST", "/prod/v1/echo", "application/json", `message=hi`, 400, codes.InvalidArgument, "invalid character"},
		{"wrong field type", "POST", "/prod/v1/echo", "application/json", `{"message":5}`, 400, codes.InvalidArgument, "invalid value for string field message"},
		{"wrong field type int", "POST", "/prod/v1/echo:stream", "application/json", `{"repeat":"many"}`, 400, codes.InvalidArgument, "invalid value for int32 field repeat"},
		{"unknown field", "POST", "/prod/v1/echo", "application/json", `{"message":"hi","nope":1}`, 400, codes.InvalidArgument, `unknown field "nope"`},
		{"trailing data", "POST", "/prod/v1/echo", "application/json", `{"message":"hi"} {}`, 400, codes.InvalidArgument, "exactly one JSON value"},
		{"unsupported content type", "POST", "/prod/v1/echo", "text/plain", `{"message":"hi"}`, 415, codes.InvalidArgument, "unsupported Content-Type"},
		{"10,000 levels of nesting", "POST", "/prod/v1/echo", "application/json", nested, 400, codes.InvalidArgument, "max depth"},
		{"duplicate keys", "POST", "/prod/v1/echo", "application/json", `{"message":"a","message":"b"}`, 400, codes.InvalidArgument, `duplicate field "message"`},
		{"invalid UTF-8 in a string", "POST", "/prod/v1/echo", "application/json", "{\"message\":\"a\xff\xfeb\"}", 400, codes.InvalidArgument, "invalid UTF-8"},
		{"unknown path under a deployed stage", "POST", "/prod/v1/nope", "application/json", `{}`, 404, codes.NotFound, "Not Found"},
		{"known path, wrong method", "GET", "/prod/v1/echo", "", "", 405, codes.Unimplemented, "Method Not Allowed"},
		{"unknown stage", "POST", "/nostage/v1/echo", "application/json", `{"message":"hi"}`, 404, codes.NotFound, "no stage nostage"},
	}
	client := &http.Client{Timeout: robustWait}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(ctx(t), tt.method, tg.url(tt.path), body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, got, tt.wantStatus)
			}
			checkStatusJSON(t, resp.Header, got, tt.wantCode, tt.wantMsg)
			if tt.name == "unknown stage" {
				if !bytes.HasPrefix(got, []byte(`{"code":5,`)) {
					t.Errorf("body = %s, want it to start with {\"code\":5,", got)
				}
			}
		})
	}

	// Bodies over the 10 MiB limit, sent on a raw connection so that the
	// test controls how much of the body goes out.
	const limit = 10 << 20
	t.Run("Content-Length over the limit is refused without reading the body", func(t *testing.T) {
		conn := rawConn(t, tg.addr)
		head := "POST /prod/v1/echo HTTP/1.1\r\nHost: " + tg.addr + "\r\nContent-Type: application/json\r\n" +
			"Content-Length: " + strconv.Itoa(11<<20) + "\r\n\r\n"
		chunk := `{"message":"` + strings.Repeat("a", 1024-len(`{"message":"`))
		if _, err := io.WriteString(conn, head+chunk); err != nil {
			t.Fatal(err)
		}
		// Only 1 KiB of 11 MiB is sent: an answer proves the gateway did
		// not wait for the rest.
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no response to an 11 MiB Content-Length after 1 KiB: %v", err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d (%s), want 413", resp.StatusCode, got)
		}
		checkStatusJSON(t, resp.Header, got, codes.ResourceExhausted, "larger than the limit of 10485760 bytes")
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		conn := rawConn(t, tg.addr)
		// Up to 11 MiB cross a -race gateway before it answers: on a
		// loaded machine that alone can take longer than robustWait.
		_ = conn.SetDeadline(time.Now().Add(4 * robustWait))
		head := "POST /prod/v1/echo HTTP/1.1\r\nHost: " + tg.addr + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		writeErr := make(chan error, 1)
		go func() {
			// Whitespace before the value: cheap for the decoder to skip.
			// Writes fail once the gateway answers and closes.
			w := bufio.NewWriterSize(conn, 64<<10)
			_, _ = io.WriteString(w, head)
			piece := strings.Repeat(" ", 64<<10)
			for sent := 0; sent < limit+(1<<20); sent += len(piece) {
				if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(piece), piece); err != nil {
					writeErr <- err
					return
				}
			}
			_, err := io.WriteString(w, "0\r\n\r\n")
			if err == nil {
				err = w.Flush()
			}
			writeErr <- err
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no response to an 11 MiB chunked body: %v", err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status = %d (%s), want 413", resp.StatusCode, got)
		}
		checkStatusJSON(t, resp.Header, got, codes.ResourceExhausted, "larger than the limit of 10485760 bytes")
		_ = conn.Close()
		<-writeErr
	})
	if n := tg.calls.Load(); n != 0 {
		t.Errorf("%d bad requests reached the gRPC chain; every one must be refused before", n)
	}
}

// rawConn dials addr with a deadline for the whole exchange.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, robustWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(robustWait))
	return conn
}

// TestHTTPIntegrationStreams checks that an HTTP route streams: over h2c a
// request body and its echo flow both ways at once, chunk by chunk; over
// both protocols a response chunk reaches the client while the backend is
// still working.
//
// Full duplex needs HTTP/2 between the client and the gateway: on HTTP/1.1
// the response headers do not come back until the request body ends, since
// Go's HTTP/1 server consumes the request body before it writes response
// headers unless the handler enables full duplex
// (http.ResponseController.EnableFullDuplex), which the gateway's
// httputil.ReverseProxy does not.
func TestHTTPIntegrationStreams(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "application/octet-stream")
		switch r.URL.Path {
		case "/duplex":
			// Echo the body as it arrives.
			if err := rc.EnableFullDuplex(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
			_ = rc.Flush()
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Body.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return
					}
					_ = rc.Flush()
				}
				if err != nil {
					return
				}
			}
		case "/push":
			_, _ = io.WriteString(w, "first\n")
			_ = rc.Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			_, _ = io.WriteString(w, "second\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(upstream.Close)

	tg := startGateway(t)
	httpRoute := func(name, method, path string) *adminv1.Route {
		return &adminv1.Route{
			Name:        "apis/files/routes/" + name,
			Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: method, Path: path}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: upstream.URL}}},
		}
	}
	d := deployment(t, "files", "v1", "127.0.0.1:1", httpRoute("duplex", "POST", "/duplex"), httpRoute("push", "GET", "/push"))
	d.Snapshot.Api.DescriptorSource = nil
	tg.load(t, entry("files", "prod", d, nil))

	t.Run("full duplex over h2c", func(t *testing.T) {
		c, cancel := context.WithTimeout(context.Background(), robustWait)
		defer cancel()
		pr, pw := io.Pipe()
		defer pw.Close()
		// Unblock the transport's body writer if the test times out.
		defer context.AfterFunc(c, func() { _ = pw.CloseWithError(c.Err()) })()
		req, err := http.NewRequestWithContext(c, http.MethodPost, tg.url("/prod/duplex"), pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := h2cTransport(t).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("status %d over HTTP/%d, want 200 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
		}
		for i := range 5 {
			chunk := fmt.Sprintf("chunk %d of a body still being written\n", i)
			if _, err := io.WriteString(pw, chunk); err != nil {
				t.Fatalf("writing chunk %d: %v", i, err)
			}
			// The echo of this chunk must arrive while the request body
			// is still open.
			got := make([]byte, len(chunk))
			if _, err := io.ReadFull(resp.Body, got); err != nil {
				t.Fatalf("reading the echo of chunk %d before the body ended: %v", i, err)
			}
			if string(got) != chunk {
				t.Fatalf("echo of chunk %d = %q, want %q", i, got, chunk)
			}
		}
		_ = pw.Close()
		rest, err := io.ReadAll(resp.Body)
		if err != nil || len(rest) != 0 {
			t.Fatalf("after the body ended: %q, %v; want EOF", rest, err)
		}
	})

	for _, proto := range []struct {
		name string
		tr   func(*testing.T) *http.Transport
	}{{"HTTP/1.1", http1Transport}, {"h2c", h2cTransport}} {
		t.Run("response streaming over "+proto.name, func(t *testing.T) {
			c, cancel := context.WithTimeout(context.Background(), robustWait)
			defer cancel()
			req, err := http.NewRequestWithContext(c, http.MethodGet, tg.url("/prod/push"), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := proto.tr(t).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			br := bufio.NewReader(resp.Body)
			first, err := br.ReadString('\n')
			if err != nil || first != "first\n" {
				t.Fatalf("first chunk = %q, %v; want it before the backend finishes", first, err)
			}
			select { // the backend is still waiting: it finishes now
			case release <- struct{}{}:
			case <-c.Done():
				t.Fatal("the backend stopped waiting before it was released")
			}
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "second\n" {
				t.Fatalf("rest = %q, %v; want \"second\\n\"", rest, err)
			}
		})
	}
}
