package transcode_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

const (
	clientStreamPath = "/tollgate.example.v1.EchoService/EchoClientStream"
	bidiPath         = "/tollgate.example.v1.EchoService/EchoBidiStream"
)

// echoJSON is an EchoResponse as the transcoder writes it.
func echoJSON(msg string, index int) map[string]any {
	return map[string]any{"message": msg, "payload": "", "index": float64(index)}
}

// resultLines decodes a newline-delimited JSON stream.
func resultLines(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n"), "\n") {
		if l == "" {
			continue
		}
		out = append(out, decodeJSON(t, []byte(l)))
	}
	return out
}

func TestClientStreaming(t *testing.T) {
	g := startExample(t, transcode.WithMaxBodyBytes(64))
	tests := []struct {
		name   string
		body   string
		header map[string]string
		status int
		want   map[string]any // the response, for status 200
		code   int            // the google.rpc.Status code otherwise
	}{
		{name: "newline-delimited", body: "{\"message\":\"a\"}\n{\"message\":\"b\"}\n{\"message\":\"c\"}\n", status: 200, want: echoJSON("abc", 3)},
		{name: "spread over lines, then truncated", body: "{\"message\":\"a\"}{\"message\":\n\"b\"}\r\n\t [\n", status: 400, code: 3},
		{name: "concatenated", body: `{"message":"a"}{"message":"b"}`, status: 200, want: echoJSON("ab", 2)},
		{name: "no messages", body: "", status: 200, want: echoJSON("", 0)},
		{name: "white space only", body: " \n\n ", status: 200, want: echoJSON("", 0)},
		{name: "empty messages", body: "{}\n{}", status: 200, want: echoJSON("", 2)},
		{name: "x-ndjson request", body: `{"message":"a"}`, header: map[string]string{"Content-Type": "application/x-ndjson"}, status: 200, want: echoJSON("a", 1)},
		{name: "total over the limit, each message under it", body: strings.Repeat(`{"message":"0123456789012345678901234567890123456789"}`+"\n", 20), status: 200,
			want: echoJSON(strings.Repeat("0123456789012345678901234567890123456789", 20), 20)},
		{name: "one message over the limit", body: `{"message":"a"}` + "\n" + `{"message":"` + strings.Repeat("x", 100) + `"}`, status: 413, code: 8},
		{name: "malformed second message", body: "{\"message\":\"a\"}\n{\"message\" \"b\"}", status: 400, code: 3},
		{name: "unknown field", body: `{"nope":1}`, status: 400, code: 3},
		{name: "not an object", body: `{"message":"a"} 7`, status: 400, code: 3},
		{name: "stray closing bracket", body: `{"message":"a"} }`, status: 400, code: 3},
		{name: "truncated", body: `{"message":"a`, status: 400, code: 3},
		{name: "wrong Content-Type", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}, status: 415, code: 3},
		{name: "backend error", body: `{"message":"fail:NOT_FOUND"}`, status: 404, code: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, request{method: "POST", path: clientStreamPath, body: tt.body, header: tt.header})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.status != 200 {
				if st := decodeStatus(t, r); st.Code != tt.code {
					t.Errorf("status %+v, want code %d", st, tt.code)
				}
				return
			}
			if diff := cmp.Diff(tt.want, decodeJSON(t, r.body)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if got := r.header.Get("Grpc-Metadata-Content-Type"); got != "" {
				t.Errorf("Grpc-Metadata-Content-Type %q", got)
			}
		})
	}
	t.Run("trailers", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: clientStreamPath, body: `{"message":"a"}`, header: map[string]string{"TE": "trailers"}})
		if r.status != 200 || r.trailer.Get("Grpc-Trailer-X-Echo-Trailer") != "done" {
			t.Errorf("status %d, trailers %v", r.status, r.trailer)
		}
	})
}

func TestBidiStreaming(t *testing.T) {
	g := startExample(t, transcode.WithMaxBodyBytes(64))
	tests := []struct {
		name   string
		body   string
		accept string
		status int
		ct     string
		lines  []map[string]any
	}{
		{name: "newline-delimited", body: "{\"message\":\"a\"}\n{\"message\":\"b\"}\n", status: 200, ct: "application/json",
			lines: []map[string]any{{"result": echoJSON("a", 0)}, {"result": echoJSON("b", 1)}}},
		{name: "x-ndjson on request", body: `{"message":"a"}`, accept: "application/x-ndjson", status: 200, ct: "application/x-ndjson",
			lines: []map[string]any{{"result": echoJSON("a", 0)}}},
		{name: "no messages", body: "", status: 200},
		{name: "first message malformed", body: `{"message":1}`, status: 400, ct: "application/json",
			lines: []map[string]any{{"error": map[string]any{"code": float64(3)}}}},
		{name: "first message over the limit", body: `{"message":"` + strings.Repeat("x", 100) + `"}`, status: 413, ct: "application/json",
			lines: []map[string]any{{"error": map[string]any{"code": float64(8)}}}},
		{name: "backend error after a message", body: "{\"message\":\"a\"}\n{\"message\":\"fail:ABORTED\"}\n{\"message\":\"c\"}", status: 200, ct: "application/json",
			lines: []map[string]any{{"result": echoJSON("a", 0)}, {"error": map[string]any{"code": float64(10)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(t, request{method: "POST", path: bidiPath, body: tt.body, header: map[string]string{"Accept": tt.accept}})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); tt.ct != "" && ct != tt.ct {
				t.Errorf("Content-Type %q, want %q", ct, tt.ct)
			}
			got := resultLines(t, r.body)
			// Only the error's code is compared.
			for _, l := range got {
				if e, ok := l["error"].(map[string]any); ok {
					l["error"] = map[string]any{"code": e["code"]}
				}
			}
			if diff := cmp.Diff(tt.lines, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("server-sent events", func(t *testing.T) {
		r := g.do(t, request{method: "POST", path: bidiPath, body: "{\"message\":\"a\"}\n{\"message\":\"b\"}", header: map[string]string{"Accept": "text/event-stream"}})
		if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
		}
		events := strings.Split(strings.TrimSuffix(string(r.body), "\n\n"), "\n\n")
		if len(events) != 2 {
			t.Fatalf("events %q", r.body)
		}
		for i, ev := range events {
			data, ok := strings.CutPrefix(ev, "data: ")
			if !ok {
				t.Fatalf("event %q", ev)
			}
			if diff := cmp.Diff(echoJSON(string(rune('a'+i)), i), decodeJSON(t, []byte(data))); diff != "" {
				t.Errorf("event %d (-want +got):\n%s", i, diff)
			}
		}
	})
}

// TestBidiFullDuplex sends each message only after the response to the
// previous one arrived, over HTTP/1.1 and HTTP/2: the request body and the
// response stream interleave.
func TestBidiFullDuplex(t *testing.T) {
	g := startExample(t)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			client := g.client
			if proto == "HTTP/2.0" {
				client = h2cClient()
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			pr, pw := io.Pipe()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+bidiPath, pr)
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				resp *http.Response
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := client.Do(req)
				got <- result{resp, err}
			}()
			if _, err := io.WriteString(pw, `{"message":"m0"}`+"\n"); err != nil {
				t.Fatal(err)
			}
			res := <-got
			if res.err != nil {
				t.Fatal(res.err)
			}
			defer func() { _ = res.resp.Body.Close() }()
			if res.resp.Proto != proto {
				t.Fatalf("response over %s", res.resp.Proto)
			}
			lines := bufio.NewScanner(res.resp.Body)
			for i := range 3 {
				if !lines.Scan() {
					t.Fatalf("line %d: %v", i, lines.Err())
				}
				var line map[string]any
				if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"result": echoJSON("m"+string(rune('0'+i)), i)}
				if diff := cmp.Diff(want, line); diff != "" {
					t.Fatalf("line %d (-want +got):\n%s", i, diff)
				}
				if i < 2 {
					if _, err := io.WriteString(pw, `{"message":"m`+string(rune('1'+i))+`"}`+"\n"); err != nil {
						t.Fatal(err)
					}
				}
			}
			_ = pw.Close()
			if lines.Scan() {
				t.Errorf("unexpected line %q", lines.Text())
			}
		})
	}
}

// TestBidiBadMessageLater: a request message that cannot be decoded, sent
// after a response arrived, ends the stream with an {"error": ...} line of
// code INVALID_ARGUMENT.
func TestBidiBadMessageLater(t *testing.T) {
	g := startExample(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	defer func() { _ = pw.Close() }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+bidiPath, pr)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(pw, `{"message":"a"}`+"\n") }()
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), `{"result":`) {
		t.Fatalf("first line %q (%v)", lines.Text(), lines.Err())
	}
	go func() { _, _ = io.WriteString(pw, `{"message":`+"\n"+`"b" "c"}`+"\n") }()
	if !lines.Scan() {
		t.Fatalf("no error line: %v", lines.Err())
	}
	var line struct {
		Error *statusJSON `json:"error"`
	}
	if err := json.Unmarshal(lines.Bytes(), &line); err != nil || line.Error == nil || line.Error.Code != 3 {
		t.Errorf("line %q, want an INVALID_ARGUMENT error", lines.Text())
	}
	if lines.Scan() {
		t.Errorf("unexpected line %q", lines.Text())
	}
}

// TestBidiEndsWhileClientSends: the backend ends the call while the client
// still holds its request body open; the response ends all the same (the
// handler stops reading the body).
func TestBidiEndsWhileClientSends(t *testing.T) {
	g := startExample(t)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			client := g.client
			if proto == "HTTP/2.0" {
				client = h2cClient()
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			pr, pw := io.Pipe()
			defer func() { _ = pw.Close() }()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+bidiPath, pr)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.WriteString(pw, "{\"message\":\"a\"}\n{\"message\":\"fail:UNAVAILABLE\"}\n") }()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the response: %v (%q)", err, b)
			}
			lines := resultLines(t, b)
			if len(lines) != 2 || lines[1]["error"] == nil {
				t.Errorf("lines %q", b)
			}
			if proto == "HTTP/1.1" && !resp.Close {
				t.Errorf("HTTP/1.1 connection kept open with its request body unread")
			}
		})
	}
}

// h2cClient returns a client speaking HTTP/2 without TLS.
func h2cClient() *http.Client {
	tr := &http.Transport{}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	tr.DialContext = (&net.Dialer{}).DialContext
	return &http.Client{Transport: tr, Timeout: testTimeout}
}

// TestBidiClientGone: a client whose connection goes away in the middle
// of a bidirectional call, its request body still open, ends the handler
// (no goroutine is left reading the body or waiting for the backend).
func TestBidiClientGone(t *testing.T) {
	g := startExample(t)
	returned := make(chan struct{}, 4)
	url := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.tc.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			conns := make(chan net.Conn, 1)
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					conns <- c
				}
				return c, err
			}}
			if proto == "HTTP/2.0" {
				tr.Protocols = new(http.Protocols)
				tr.Protocols.SetUnencryptedHTTP2(true)
			}
			client := &http.Client{Transport: tr, Timeout: testTimeout}
			pr, pw := io.Pipe()
			defer func() { _ = pw.Close() }()
			req, err := http.NewRequest(http.MethodPost, url+bidiPath, pr)
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.WriteString(pw, `{"message":"a"}`+"\n") }()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, `{"result":`) {
				t.Fatalf("first line %q: %v", line, err)
			}
			_ = (<-conns).Close()
			select {
			case <-returned:
			case <-time.After(testTimeout):
				t.Fatal("the handler did not return after the client went away")
			}
		})
	}
}
