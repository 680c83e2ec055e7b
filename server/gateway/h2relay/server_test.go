package h2relay_test

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// rawClient speaks HTTP/2 frames to a Server.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	fr   *http2.Framer
}

func dialRaw(t *testing.T, h h2relay.Handler, opts ...h2relay.Option) *rawClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := h2relay.NewServer(h, opts...)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, conn: c, fr: http2.NewFramer(c, c)}
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := rc.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return rc
}

// headers opens stream id with the given content-type.
func (rc *rawClient) headers(id uint32, contentType string, end bool) {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/a.B/C"}, {Name: ":authority", Value: "x"}, {Name: "content-type", Value: contentType}} {
		_ = enc.WriteField(f)
	}
	if err := rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b.Bytes(), EndHeaders: true, EndStream: end}); err != nil {
		rc.t.Fatal(err)
	}
}

// until reads frames until match returns true; it fails on EOF.
func (rc *rawClient) until(what string, match func(http2.Frame) bool) {
	rc.t.Helper()
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			rc.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return
		}
	}
}

// TestServerRefusals: what a gRPC server answers to requests it cannot
// serve, frame by frame.
func TestServerRefusals(t *testing.T) {
	served := make(chan struct{}, 10)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	h := func(st *h2relay.Stream) {
		served <- struct{}{}
		<-block
	}
	t.Run("not gRPC: 415", func(t *testing.T) {
		rc := dialRaw(t, h)
		rc.headers(1, "application/json", true)
		rc.until("415", func(f http2.Frame) bool {
			mh, ok := f.(*http2.MetaHeadersFrame)
			return ok && mh.StreamID == 1 && mh.PseudoValue("status") == "415" && mh.StreamEnded()
		})
	})
	t.Run("over the stream limit: REFUSED_STREAM", func(t *testing.T) {
		rc := dialRaw(t, h, h2relay.WithMaxConcurrentStreams(1))
		rc.headers(1, "application/grpc", false)
		<-served
		rc.headers(3, "application/grpc", false)
		rc.until("REFUSED_STREAM", func(f http2.Frame) bool {
			rs, ok := f.(*http2.RSTStreamFrame)
			return ok && rs.StreamID == 3 && rs.ErrCode == http2.ErrCodeRefusedStream
		})
	})
	t.Run("idle connection: GOAWAY", func(t *testing.T) {
		rc := dialRaw(t, h, h2relay.WithIdleTimeout(50*time.Millisecond))
		rc.until("GOAWAY", func(f http2.Frame) bool {
			ga, ok := f.(*http2.GoAwayFrame)
			return ok && ga.ErrCode == http2.ErrCodeNo
		})
	})
	t.Run("ping flood without calls: GOAWAY ENHANCE_YOUR_CALM", func(t *testing.T) {
		rc := dialRaw(t, h)
		for i := range 5 {
			if err := rc.fr.WritePing(false, [8]byte{byte(i)}); err != nil && !errors.Is(err, net.ErrClosed) {
				break
			}
		}
		rc.until("GOAWAY", func(f http2.Frame) bool {
			ga, ok := f.(*http2.GoAwayFrame)
			return ok && ga.ErrCode == http2.ErrCodeEnhanceYourCalm && string(ga.DebugData()) == "too_many_pings"
		})
	})
	t.Run("DATA beyond the window: FLOW_CONTROL_ERROR", func(t *testing.T) {
		rc := dialRaw(t, h)
		rc.headers(1, "application/grpc", false)
		<-served
		chunk := make([]byte, 16384)
		for range 5 { // 80 KiB on a 64 KiB window the handler never reads
			_ = rc.fr.WriteData(1, false, chunk)
		}
		rc.until("RST_STREAM", func(f http2.Frame) bool {
			rs, ok := f.(*http2.RSTStreamFrame)
			return ok && rs.StreamID == 1 && rs.ErrCode == http2.ErrCodeFlowControl
		})
	})
}

// TestServerPingAcks: every PING is acknowledged with its payload, alone
// or arriving in one read with a request whose handler the reader starts
// (the reader defers its answers until it has started it).
func TestServerPingAcks(t *testing.T) {
	h := func(st *h2relay.Stream) { st.Finish(nil) }
	rc := dialRaw(t, h)
	acked := func(want [8]byte) func(http2.Frame) bool {
		return func(f http2.Frame) bool {
			p, ok := f.(*http2.PingFrame)
			return ok && p.IsAck() && p.Data == want
		}
	}
	if err := rc.fr.WritePing(false, [8]byte{'a'}); err != nil {
		t.Fatal(err)
	}
	rc.until("the first PING's ack", acked([8]byte{'a'}))

	// A PING, a request and another PING in one write.
	var b bytes.Buffer
	orig := rc.fr
	rc.fr = http2.NewFramer(&b, nil)
	_ = rc.fr.WritePing(false, [8]byte{'b'})
	rc.headers(1, "application/grpc", true)
	_ = rc.fr.WritePing(false, [8]byte{'c'})
	rc.fr = orig
	if _, err := rc.conn.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	var gotB, gotC, ended bool
	rc.until("both acks and the response", func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.PingFrame:
			gotB = gotB || f.IsAck() && f.Data == [8]byte{'b'}
			gotC = gotC || f.IsAck() && f.Data == [8]byte{'c'}
		case *http2.MetaHeadersFrame:
			ended = ended || f.StreamID == 1 && f.StreamEnded()
		}
		return gotB && gotC && ended
	})
}
