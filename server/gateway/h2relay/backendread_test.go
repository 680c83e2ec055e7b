package h2relay_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/testkit"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// responseFrames builds a gRPC response to a's request: headers, msg in
// DATA frames of at most 16 KiB, trailers; with cont, both header blocks
// are split into HEADERS and CONTINUATION frames.
func responseFrames(a *testkit.HTTP2Answer, msg []byte, cont bool) []byte {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	block := func(end bool, fields ...hpack.HeaderField) {
		frag := a.Encode(fields...)
		if !cont || len(frag) < 3 {
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: a.StreamID, BlockFragment: frag, EndStream: end, EndHeaders: true})
			return
		}
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: a.StreamID, BlockFragment: frag[:1], EndStream: end})
		_ = fr.WriteContinuation(a.StreamID, false, frag[1:2])
		_ = fr.WriteContinuation(a.StreamID, true, frag[2:])
	}
	block(false, hf(":status", "200"), hf("content-type", "application/grpc"), hf("x-pad", strings.Repeat("p", 300)))
	n := len(msg)
	body := append([]byte{0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
	for len(body) > 0 {
		k := min(len(body), 16384)
		_ = fr.WriteData(a.StreamID, false, body[:k])
		body = body[k:]
	}
	block(true, hf("grpc-status", "0"), hf("x-trailer", "t"))
	return b.Bytes()
}

// TestBackendResponseInPieces: responses arrive whole however the
// backend's bytes are cut (one write, one byte at a time, pieces that
// split frame headers and payloads), in frames of the largest size and
// in header blocks continued in CONTINUATION frames, over one pooled
// connection call after call (its reader reads them inside the socket's
// RawConn.Read, and leaves it for CONTINUATION).
func TestBackendResponseInPieces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int // of the response message
		piece int // bytes per write; 0: all in one
		cont  bool
	}{
		{name: "whole", size: 1024},
		{name: "byte at a time", size: 1024, piece: 1},
		{name: "byte at a time, continuation", size: 200, piece: 1, cont: true},
		{name: "odd pieces", size: 60000, piece: 4099},
		{name: "small pieces", size: 60000, piece: 7},
		{name: "largest frames whole", size: 60000},
		{name: "continuation, pieces", size: 60000, piece: 997, cont: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			addr := testkit.HTTP2Backend(t, func(a *testkit.HTTP2Answer) {
				b := responseFrames(a, msg, tc.cont)
				piece := tc.piece
				if piece == 0 {
					piece = len(b)
				}
				for len(b) > 0 {
					k := min(piece, len(b))
					if _, err := a.Conn.Write(b[:k]); err != nil {
						return
					}
					b = b[k:]
				}
			})
			pool := newPool(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for i := range 3 {
				res, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, nil, []byte{8, 1})
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if !bytes.Equal(res.Response, msg) {
					t.Fatalf("call %d: response of %d bytes, want the %d sent", i, len(res.Response), len(msg))
				}
				if got := res.Trailer.Get("x-trailer"); len(got) != 1 || got[0] != "t" {
					t.Fatalf("call %d: trailer %v", i, res.Trailer)
				}
			}
		})
	}
}

// TestBackendStallAndClose: a backend that stops in the middle of a
// frame (or never answers) holds up only its call: the call ends at its
// context, and closing the pool while the connection's reader waits for
// the rest ends the connection (the backend sees it close) without a
// hang; so does closing it while the call waits.
func TestBackendStallAndClose(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cut        int  // bytes of the response the backend writes; -1: none
		closeFirst bool // close the pool while the call waits
	}{
		{name: "no answer", cut: -1},
		{name: "inside the headers frame's header", cut: 4},
		{name: "inside a DATA frame", cut: 400},
		{name: "no answer, closed under the call", cut: -1, closeFirst: true},
		{name: "inside a DATA frame, closed under the call", cut: 400, closeFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wrote := make(chan struct{})
			closed := make(chan error, 1)
			addr := testkit.HTTP2Backend(t, func(a *testkit.HTTP2Answer) {
				if tc.cut >= 0 {
					b := responseFrames(a, make([]byte, 1000), false)
					_, _ = a.Conn.Write(b[:tc.cut])
				}
				close(wrote)
				// Stalled: read on until the gateway closes the connection.
				buf := make([]byte, 1024)
				for {
					if _, err := a.Conn.Read(buf); err != nil {
						closed <- err
						return
					}
				}
			})
			pool := h2relay.NewPool(nil, 64<<10)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, nil, []byte{8, 1})
				errc <- err
			}()
			<-wrote
			if tc.closeFirst {
				pool.Close()
				if err := <-errc; !errors.Is(err, h2relay.ErrBackendBroke) {
					t.Fatalf("the call on the closed connection ended with %v, want %v", err, h2relay.ErrBackendBroke)
				}
				cancel()
			} else {
				cancel()
				if err := <-errc; status.Code(err) != codes.Canceled {
					t.Fatalf("the stalled call ended with %v, want CANCELED", err)
				}
				pool.Close()
			}
			<-closed
		})
	}
}

// TestBackendPingAcks: a backend's PINGs are acknowledged with their
// payloads, also when they arrive in one read with the response they
// wake the relay for (the reader defers its answers until it woke it).
func TestBackendPingAcks(t *testing.T) {
	acks := make(chan [8]byte, 4)
	addr := testkit.HTTP2Backend(t, func(a *testkit.HTTP2Answer) {
		var b bytes.Buffer
		_ = http2.NewFramer(&b, nil).WritePing(false, [8]byte{'p', 1})
		b.Write(responseFrames(a, []byte("resp"), false))
		_ = http2.NewFramer(&b, nil).WritePing(false, [8]byte{'p', 2})
		if _, err := a.Conn.Write(b.Bytes()); err != nil {
			return
		}
		// Read on (the gateway's frames) until both acks came.
		fr := http2.NewFramer(nil, a.Conn)
		for n := 0; n < 2; {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
				acks <- p.Data
				n++
			}
		}
	})
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := pool.Unary(ctx, h2relay.Call{Addr: addr}, unaryMethod, nil, []byte{8, 1})
	if err != nil || string(res.Response) != "resp" {
		t.Fatalf("got %q, %v", res.Response, err)
	}
	for _, want := range [][8]byte{{'p', 1}, {'p', 2}} {
		if got := <-acks; got != want {
			t.Fatalf("ack of %v, want %v", got, want)
		}
	}
}
