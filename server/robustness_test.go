package server_test

// Robustness tests of the full server's data port at the HTTP/2 frame
// level (rapid reset, ping flood, advertised limits) and against a
// panicking backend. The frames are written with x/net/http2's Framer on a
// raw TCP connection, as an attacker would, not through a well-behaved
// client.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// h2Wait bounds every wait in these tests.
const h2Wait = 4 * time.Second

// rawH2 is a hand-driven HTTP/2 (h2c, prior knowledge) client connection.
type rawH2 struct {
	conn net.Conn
	bw   *bufio.Writer
	fr   *http2.Framer
}

// dialRawH2 connects to addr and sends the client preface and an empty
// SETTINGS frame. The connection has a deadline of h2Wait.
func dialRawH2(t *testing.T, addr string) *rawH2 {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, h2Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(h2Wait))
	bw := bufio.NewWriterSize(conn, 64<<10)
	h := &rawH2{conn: conn, bw: bw, fr: http2.NewFramer(bw, bufio.NewReader(conn))}
	if _, err := io.WriteString(bw, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return h
}

// serverSettings reads the server's first frame, which must be its
// SETTINGS, acknowledges it and returns its values.
func (h *rawH2) serverSettings(t *testing.T) map[http2.SettingID]uint32 {
	t.Helper()
	f, err := h.fr.ReadFrame()
	if err != nil {
		t.Fatalf("reading the server preface: %v", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("the server's first frame is %v, want SETTINGS", f)
	}
	got := map[http2.SettingID]uint32{}
	_ = sf.ForeachSetting(func(s http2.Setting) error {
		got[s.ID] = s.Val
		return nil
	})
	if err := h.fr.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	if err := h.bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return got
}

// connEnd is how a raw connection's read side ended.
type connEnd struct {
	goAway     bool
	goAwayCode http2.ErrCode
	err        error // io.EOF, a reset, or a timeout if the server did not close
}

func (e connEnd) String() string {
	s := "read error " + e.err.Error()
	if errors.Is(e.err, io.EOF) {
		s = "EOF"
	}
	if e.goAway {
		s = "GOAWAY " + e.goAwayCode.String() + " then " + s
	}
	return s
}

// closedByServer reports whether the server ended the connection (and the
// read did not just time out).
func (e connEnd) closedByServer() bool {
	var ne net.Error
	return e.goAway || !(errors.As(e.err, &ne) && ne.Timeout())
}

// checkDataPortHealthy checks, on fresh connections, that the data port
// answers /healthz over HTTP/1.1 and h2c and gRPC calls, quickly.
func checkDataPortHealthy(t *testing.T, ts *testServer) {
	t.Helper()
	for name, client := range map[string]*http.Client{"HTTP/1.1": http1Client(t), "h2c": h2cClient(t)} {
		client.Timeout = 2 * time.Second
		start := time.Now()
		res := doHTTP(t, client, http.MethodGet, "http://"+ts.DataAddr()+"/healthz", "", "")
		if res.status != http.StatusOK {
			t.Errorf("/healthz over %s after the attack: status %d", name, res.status)
		}
		t.Logf("/healthz over %s on a fresh connection: %d in %v", name, res.status, time.Since(start).Round(time.Millisecond))
	}
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := dial(t, ts.DataAddr()).Invoke(c, "/x.Y/Z", &examplev1.EchoRequest{}, &examplev1.EchoResponse{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("gRPC call on a fresh connection after the attack: %v, want Unimplemented", err)
	}
}

// TestDataPortAdvertisesMaxConcurrentStreams reads the server's SETTINGS.
func TestDataPortAdvertisesMaxConcurrentStreams(t *testing.T) {
	ts := startServer(t, testConfig(t))
	got := dialRawH2(t, ts.DataAddr()).serverSettings(t)
	v, ok := got[http2.SettingMaxConcurrentStreams]
	if !ok || v != 1000 {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want 1000; all settings: %v", v, ok, got)
	}
}

// TestDataPortSurvivesRapidReset opens and at once resets 5,000 gRPC
// streams on one connection (CVE-2023-44487). The server may drop that
// connection or keep serving it, but it must not crash or hang, and fresh
// connections must be served.
func TestDataPortSurvivesRapidReset(t *testing.T) {
	ts := startServer(t, testConfig(t))
	addr := ts.DataAddr()
	h := dialRawH2(t, addr)
	h.serverSettings(t)

	probe := [8]byte{'p', 'r', 'o', 'b', 'e'}
	pingAck := make(chan struct{}, 1)
	ended := make(chan connEnd, 1)
	go func() {
		var end connEnd
		for {
			f, err := h.fr.ReadFrame()
			if err != nil {
				end.err = err
				ended <- end
				return
			}
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				end.goAway, end.goAwayCode = true, f.ErrCode
			case *http2.PingFrame:
				if f.IsAck() && f.Data == probe {
					select {
					case pingAck <- struct{}{}:
					default:
					}
				}
			}
		}
	}()

	const streams = 5000
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	sent := 0
	var writeErr error
	for i := range streams {
		id := uint32(2*i + 1)
		block.Reset()
		for _, f := range []hpack.HeaderField{
			{Name: ":method", Value: "POST"},
			{Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/x.Y/Z"},
			{Name: ":authority", Value: addr},
			{Name: "content-type", Value: "application/grpc"},
			{Name: "te", Value: "trailers"},
		} {
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		if writeErr = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true}); writeErr != nil {
			break
		}
		if writeErr = h.fr.WriteRSTStream(id, http2.ErrCodeCancel); writeErr != nil {
			break
		}
		if i%100 == 99 {
			if writeErr = h.bw.Flush(); writeErr != nil {
				break
			}
		}
		sent = i + 1
	}
	if writeErr == nil {
		writeErr = h.bw.Flush()
	}
	t.Logf("sent HEADERS+RST_STREAM for %d of %d streams; write error: %v", sent, streams, writeErr)

	if writeErr == nil {
		// Is the attacking connection still usable?
		if err := h.fr.WritePing(false, probe); err == nil {
			_ = h.bw.Flush()
		}
	}
	select {
	case <-pingAck:
		t.Logf("outcome: the attacking connection stays usable (it answered a PING after %d reset streams)", sent)
	case end := <-ended:
		if !end.closedByServer() {
			t.Fatalf("the attacking connection hung: %v", end)
		}
		t.Logf("outcome: the server closed the attacking connection: %v", end)
	case <-time.After(h2Wait):
		t.Fatal("the attacking connection neither answered a PING nor was closed: the server hangs")
	}
	checkDataPortHealthy(t, ts)
}

// TestDataPortSurvivesPingFlood sends 100,000 PINGs without reading the
// acknowledgements, then keeps flooding (up to 1,000,000 PINGs, for at most
// pingFloodBudget) to find where the server draws the line. The server must
// not queue acknowledgements without bound: it closes the connection (Go's
// HTTP/2 server closes it once more than 10,000 control frames wait to be
// written), or at least keeps serving fresh connections. The kernel's
// socket buffers absorb several MB of acknowledgements before any queue on
// the server grows, so 100,000 PINGs (1.7 MB of acks) alone may not reach
// the limit.
func TestDataPortSurvivesPingFlood(t *testing.T) {
	const (
		floodPings      = 100000
		maxPings        = 1000000
		pingFloodBudget = 3 * time.Second
	)
	ts := startServer(t, testConfig(t))
	h := dialRawH2(t, ts.DataAddr())

	start := time.Now()
	_ = h.conn.SetWriteDeadline(start.Add(pingFloodBudget))
	sent := 0
	var writeErr error
	for sent < maxPings {
		var data [8]byte
		binary.BigEndian.PutUint64(data[:], uint64(sent))
		if writeErr = h.fr.WritePing(false, data); writeErr != nil {
			break
		}
		if sent%1000 == 999 {
			if writeErr = h.bw.Flush(); writeErr != nil {
				break
			}
		}
		sent++
		if sent == floodPings {
			t.Logf("%d PINGs written without reading any reply in %v", sent, time.Since(start).Round(time.Millisecond))
		}
	}
	if writeErr == nil {
		writeErr = h.bw.Flush()
	}
	t.Logf("flood ended after about %d PINGs in %v; write error: %v", sent, time.Since(start).Round(time.Millisecond), writeErr)
	if sent < floodPings {
		var ne net.Error
		if errors.As(writeErr, &ne) && ne.Timeout() {
			t.Logf("the flood of %d PINGs did not finish within %v", floodPings, pingFloodBudget)
		}
	}

	// Now read what the server sent, until it closes or every ack arrived.
	_ = h.conn.SetReadDeadline(time.Now().Add(time.Second))
	acks := 0
	var end connEnd
	for acks < sent {
		f, err := h.fr.ReadFrame()
		if err != nil {
			end.err = err
			break
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			end.goAway, end.goAwayCode = true, f.ErrCode
		case *http2.PingFrame:
			if f.IsAck() {
				acks++
			}
		}
	}
	switch {
	case end.err != nil && end.closedByServer():
		t.Logf("outcome: the server closed the flooding connection (%v) after %d PINGs; %d acks were read before the close", end, sent, acks)
	case acks == sent:
		t.Logf("outcome: the server answered all %d PINGs and kept the connection open", acks)
	default:
		t.Logf("outcome: the connection is still open after %d PINGs; %d acks read within 1 s: %v", sent, acks, end)
	}
	checkDataPortHealthy(t, ts)
}

// TestDataPortSurvivesBackendPanic deploys the example backend through the
// admin REST API and makes its Echo panic, over gRPC and REST: the call
// fails with INTERNAL and the data port keeps serving.
func TestDataPortSurvivesBackendPanic(t *testing.T) {
	ts := startServer(t, testConfig(t))
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)

	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	admin := http1Client(t)
	auth := "Bearer " + ts.AdminToken()
	for _, step := range []struct{ path, body string }{
		{"/v1/apis?apiId=shop", fmt.Sprintf(`{"displayName":"Shop","fileDescriptorSet":%q,"defaultIntegration":{"grpc":{"target":%q}}}`,
			base64.StdEncoding.EncodeToString(fds), b.Addr())},
		{"/v1/apis/shop/deployments?deploymentId=v1", `{}`},
		{"/v1/apis/shop/stages?stageId=prod", `{"deployment":"apis/shop/deployments/v1"}`},
	} {
		res := doHTTP(t, admin, http.MethodPost, "http://"+ts.AdminAddr()+step.path, auth, step.body)
		if res.status != http.StatusOK {
			t.Fatalf("POST %s: status %d: %s", step.path, res.status, res.body)
		}
	}

	echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
	rest := http1Client(t)
	restEcho := func(msg string) httpResult {
		return doHTTP(t, rest, http.MethodPost, "http://"+ts.DataAddr()+"/prod/v1/echo", "", `{"message":"`+msg+`"}`)
	}
	for i := range 3 {
		c, cancel := context.WithTimeout(context.Background(), h2Wait)
		_, err := echo.Echo(c, &examplev1.EchoRequest{Message: "panic"})
		cancel()
		if status.Code(err) != codes.Internal {
			t.Fatalf("gRPC panic %d: %v, want Internal", i, err)
		}
		c, cancel = context.WithTimeout(context.Background(), h2Wait)
		resp, err := echo.Echo(c, &examplev1.EchoRequest{Message: "after"})
		cancel()
		if err != nil || resp.GetMessage() != "after" {
			t.Fatalf("gRPC call after panic %d: %v, %v", i, resp, err)
		}
		if res := restEcho("panic"); res.status != http.StatusInternalServerError || !strings.Contains(res.body, `"code":13`) {
			t.Fatalf("REST panic %d: %d %s, want 500 with code 13", i, res.status, res.body)
		}
		if res := restEcho("after"); res.status != http.StatusOK || !strings.Contains(res.body, `"after"`) {
			t.Fatalf("REST call after panic %d: %d %s", i, res.status, res.body)
		}
	}
	checkDataPortHealthy(t, ts)
}
