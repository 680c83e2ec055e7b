package server_test

// Regression tests of the data port's edge limits (issue 13): connection
// caps, slow request bodies and slow readers, HTTP/2 rapid reset, and
// ambiguous framing, each sent over a real socket.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tollgate-gw/tollgate/server"
)

// closedAtOnce reports whether the server closed c without sending
// anything within a short wait (a read that times out means still open).
func closedAtOnce(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// dialFrom connects to addr from the loopback address src ("127.0.0.2"…).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// metricValue returns the value of the first /metrics sample whose line
// starts with prefix (a metric name, optionally with labels).
func metricValue(t *testing.T, ts *testServer, prefix string) (float64, bool) {
	t.Helper()
	res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `(?:\{[^}]*\})? (\S+)$`)
	m := re.FindStringSubmatch(res.body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

// TestIssue13ConnectionLimits: connections over the global or per-IP cap
// are closed right after accept, those within keep being served, and the
// refusals and open connections show on /metrics.
func TestIssue13ConnectionLimits(t *testing.T) {
	tests := []struct {
		name         string
		total, perIP int
		from         []string // the clients, in order
		refused      []bool
	}{
		{"global cap", 3, -1, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}, []bool{false, false, false, true}},
		{"per-IP cap", 100, 2, []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"}, []bool{false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.MaxConnections, cfg.MaxConnectionsPerIP = tt.total, tt.perIP
			ts := startServer(t, cfg)
			addr := ts.DataAddr() // 127.0.0.1, which 127.0.0.2 and co reach on Linux
			var kept []net.Conn
			refusals := 0
			for i, src := range tt.from {
				c := dialFrom(t, src, addr)
				if got := closedAtOnce(t, c); got != tt.refused[i] {
					t.Fatalf("connection %d from %s closed at once = %v, want %v", i, src, got, tt.refused[i])
				}
				if tt.refused[i] {
					refusals++
				} else {
					kept = append(kept, c)
				}
			}
			// A connection within the limits is served.
			if _, err := io.WriteString(kept[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(kept[0]), nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("request on an admitted connection: %v, %v", resp, err)
			}
			resp.Body.Close()
			if v, ok := metricValue(t, ts, "tollgate_connections_refused_total"); !ok || v != float64(refusals) {
				t.Errorf("tollgate_connections_refused_total = %v (found %v), want %d", v, ok, refusals)
			}
			if v, ok := metricValue(t, ts, "tollgate_connections_open"); !ok || v != float64(len(kept)) {
				t.Errorf("tollgate_connections_open = %v (found %v), want %d", v, ok, len(kept))
			}
			// A closed connection frees its place.
			kept[0].Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				c := dialFrom(t, tt.from[0], addr)
				if !closedAtOnce(t, c) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a connection closed by its client never freed its place")
				}
			}
		})
	}
}

// TestIssue13RuntimeMetrics: goroutines and open streams are on /metrics.
func TestIssue13RuntimeMetrics(t *testing.T) {
	ts := startServer(t, testConfig(t))
	doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/healthz", "", "")
	for _, name := range []string{"tollgate_goroutines", `tollgate_streams_open{`, "tollgate_connections_open"} {
		if _, ok := metricValue(t, ts, strings.TrimSuffix(name, "{")); !ok {
			res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
			t.Fatalf("%s not on /metrics:\n%s", name, res.body)
		}
	}
	if v, _ := metricValue(t, ts, "tollgate_goroutines"); v < 10 {
		t.Errorf("tollgate_goroutines = %v, want the process's goroutines", v)
	}
}

// deployHTTPRoutes creates the API "files" with the given routes (route ID
// → JSON body of the route), deploys it and serves it on the stage "prod".
func deployHTTPRoutes(t *testing.T, ts *testServer, routes map[string]string) {
	t.Helper()
	admin := http1Client(t)
	auth := "Bearer " + ts.AdminToken()
	steps := []struct{ path, body string }{{"/v1/apis?apiId=files", `{"displayName":"Files"}`}}
	for id, body := range routes {
		steps = append(steps, struct{ path, body string }{"/v1/apis/files/routes?routeId=" + id, body})
	}
	steps = append(steps,
		struct{ path, body string }{"/v1/apis/files/deployments?deploymentId=v1", `{}`},
		struct{ path, body string }{"/v1/apis/files/stages?stageId=prod", `{"deployment":"apis/files/deployments/v1"}`})
	for _, step := range steps {
		res := doHTTP(t, admin, http.MethodPost, "http://"+ts.AdminAddr()+step.path, auth, step.body)
		if res.status != http.StatusOK {
			t.Fatalf("POST %s: status %d: %s", step.path, res.status, res.body)
		}
	}
}

// trickle writes n bytes of body to w, one every interval, until a write
// fails or stop is closed.
func trickle(w io.Writer, n int, interval time.Duration, stop <-chan struct{}) {
	for range n {
		if _, err := w.Write([]byte{'x'}); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
	}
}

// TestIssue13SlowRequestBody: a request body sent a byte at a time is
// answered 408 once it falls below the minimum rate, or once the whole-body
// timeout passes, on a transcoded REST route and a plain HTTP route, over
// HTTP/1.1 (then the connection is closed) and h2c.
func TestIssue13SlowRequestBody(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "stored")
	}))
	t.Cleanup(upstream.Close)
	limits := map[string]func(*server.Config){
		// 20 B/s against a minimum of 1000 B/s after 300 ms.
		"min rate": func(c *server.Config) {
			c.BodyReadTimeout, c.MinBodyReadRate, c.MinRateGrace = time.Minute, 1000, 300*time.Millisecond
		},
		// 20 B/s with no minimum rate, against a 600 ms body timeout.
		"body timeout": func(c *server.Config) {
			c.BodyReadTimeout, c.MinBodyReadRate, c.MinRateGrace = 600*time.Millisecond, -1, time.Minute
		},
	}
	paths := map[string]string{"transcoded": "/demo/v1/shelves/fiction/books", "HTTP route": "/prod/upload"}
	for limit, set := range limits {
		cfg := testConfig(t)
		cfg.Demo = true
		set(&cfg)
		ts := startServer(t, cfg)
		deployHTTPRoutes(t, ts, map[string]string{"upload": `{"http":{"method":"POST","path":"/upload"},"integration":{"http":{"uri":"` + upstream.URL + `"}}}`})
		for kind, path := range paths {
			t.Run(limit+"/"+kind+"/HTTP/1.1", func(t *testing.T) {
				c, err := net.Dial("tcp", ts.DataAddr())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", path)
				stop := make(chan struct{})
				defer close(stop)
				go trickle(c, 1000, 50*time.Millisecond, stop)
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no response to a slow body: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusRequestTimeout || !resp.Close || !strings.Contains(string(body), `"code":4`) {
					t.Fatalf("response %d (close %v): %s; want 408 with Connection: close", resp.StatusCode, resp.Close, body)
				}
				if _, err := br.ReadByte(); err == nil {
					t.Fatal("the connection stayed open after the 408")
				}
			})
			t.Run(limit+"/"+kind+"/h2c", func(t *testing.T) {
				pr, pw := io.Pipe()
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					trickle(pw, 1000, 50*time.Millisecond, stop)
					pw.Close()
				}()
				req, _ := http.NewRequest(http.MethodPost, "http://"+ts.DataAddr()+path, pr)
				req.Header.Set("Content-Type", "application/json")
				resp, err := h2cClient(t).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestTimeout {
					t.Fatalf("response %d: %s; want 408", resp.StatusCode, body)
				}
			})
		}
		t.Run(limit+"/a prompt body passes", func(t *testing.T) {
			res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.DataAddr()+"/prod/upload", "", `{"x":1}`)
			if res.status != http.StatusOK || res.body != "stored" {
				t.Fatalf("prompt body: %d %s", res.status, res.body)
			}
		})
		if l := ts.logs.String(); strings.Contains(l, "panic") {
			t.Fatalf("the server logged a panic:\n%s", l)
		}
	}
}

// TestIssue13SlowReader: a client that reads a large response at about
// 100 B/s is cut off once a write to it takes longer than the minimum
// write rate allows, over HTTP/1.1 and h2c; without the limit it would
// hold the connection and the backend call for days.
func TestIssue13SlowReader(t *testing.T) {
	const size = 16 << 20 // far more than socket buffers and HTTP/2 windows hold
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := make([]byte, 32<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(upstream.Close)
	cfg := testConfig(t)
	cfg.MinBodyWriteRate, cfg.MinRateGrace = 64<<10, 300*time.Millisecond
	ts := startServer(t, cfg)
	deployHTTPRoutes(t, ts, map[string]string{"big": `{"http":{"method":"GET","path":"/big"},"integration":{"http":{"uri":"` + upstream.URL + `"}}}`})

	clients := map[string]*http.Client{"HTTP/1.1": http1Client(t), "h2c": h2cClient(t)}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			client.Timeout = 20 * time.Second
			resp, err := client.Get("http://" + ts.DataAddr() + "/prod/big")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// Read 100 B/s for 1.5 s, then as fast as possible: only a
			// response that was cut off ends short.
			got := 0
			buf := make([]byte, 10)
			for range 15 {
				n, err := resp.Body.Read(buf)
				got += n
				if err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			got += int(n)
			if err == nil || got >= size {
				t.Fatalf("a slow reader got %d of %d bytes (error %v); want the response cut off", got, size, err)
			}
			t.Logf("the slow reader was cut off after %d of %d bytes: %v", got, size, err)
		})
	}
}

// TestIssue13HTTP2HostMismatch: an h2c request whose host header differs
// from :authority is refused with 400; routing and a backend would
// otherwise disagree on the host of the request.
func TestIssue13HTTP2HostMismatch(t *testing.T) {
	ts := startServer(t, testConfig(t))
	tests := []struct {
		name  string
		extra []hpack.HeaderField
		want  string
	}{
		{"differing host", []hpack.HeaderField{{Name: "host", Value: "evil.example"}}, "400"},
		{"two host headers", []hpack.HeaderField{{Name: "host", Value: "gw.example"}, {Name: "host", Value: "evil.example"}}, "400"},
		{"same host", []hpack.HeaderField{{Name: "host", Value: "gw.example"}}, "404"},
		{"no host", nil, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := dialRawH2(t, ts.DataAddr())
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			for _, f := range append([]hpack.HeaderField{
				{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
				{Name: ":path", Value: "/nostage/x"}, {Name: ":authority", Value: "gw.example"},
			}, tt.extra...) {
				_ = enc.WriteField(f)
			}
			if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true}); err != nil {
				t.Fatal(err)
			}
			if err := h.bw.Flush(); err != nil {
				t.Fatal(err)
			}
			h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
			for {
				f, err := h.fr.ReadFrame()
				if err != nil {
					t.Fatalf("no response: %v", err)
				}
				if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh.StreamID == 1 {
					if got := mh.PseudoValue("status"); got != tt.want {
						t.Fatalf(":status %s, want %s", got, tt.want)
					}
					return
				}
			}
		})
	}
}

// TestIssue13AmbiguousFraming: an HTTP/1.1 request with both
// Content-Length and Transfer-Encoding is refused with 400 and its
// connection closed (net/http alone would serve it by Transfer-Encoding),
// also when it follows other requests on a keep-alive connection, whose
// bodies the check must skip correctly.
func TestIssue13AmbiguousFraming(t *testing.T) {
	ts := startServer(t, testConfig(t))
	const headInBody = "X: y\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	const smuggle = "POST /nostage/x HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /nostage/y HTTP/1.1\r\nHost: x\r\n\r\n"
	tests := []struct {
		name   string
		before string // requests sent first, each answered 404
		last   string
		want   int
	}{
		{"both headers", "", smuggle, http.StatusBadRequest},
		{"after a chunked request", "POST /nostage/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab\r\n\r\n0\r\nT: v\r\n\r\n", smuggle, http.StatusBadRequest},
		{"after a body holding a head", fmt.Sprintf("POST /nostage/a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(headInBody), headInBody), smuggle, http.StatusBadRequest},
		{"a body holding a head", "", fmt.Sprintf("POST /nostage/a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(headInBody), headInBody), http.StatusNotFound},
		{"Transfer-Encoding only", "", "POST /nostage/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", http.StatusNotFound},
		{"Content-Length only", "", "POST /nostage/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.DataAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			if tt.before != "" {
				if _, err := io.WriteString(c, tt.before); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != http.StatusNotFound {
					t.Fatalf("first request: %v, %v", resp, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			if _, err := io.WriteString(c, tt.last); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusBadRequest {
				if _, err := http.ReadResponse(br, nil); err == nil {
					t.Fatal("the connection stayed open after the 400: the smuggled request was answered")
				}
			}
		})
	}
}
