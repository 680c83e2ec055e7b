package h2relay_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// TestStalledClientDoesNotHoldUpBackendConnection: a client that
// advertises huge windows and then stops reading its socket gets the
// backend connection's reader to relay its stream's DATA towards it (into
// its connection's outbox) until the socket is full; the reader must
// then leave that stream's frames to its relay (which waits for the
// client) and go on serving the other calls on the same backend
// connection.
func TestStalledClientDoesNotHoldUpBackendConnection(t *testing.T) {
	addr := interopBackend(t)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := h2relay.NewServer(frameHandler(pool, addr))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Close)

	// The stalled client: windows of 2 GiB, a small receive buffer, a
	// stream asking for 24 MiB, and no reads after that.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	fr := http2.NewFramer(c, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/grpc.testing.TestService/StreamingOutputCall"}, {Name: ":authority", Value: "x"},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	} {
		_ = enc.WriteField(f)
	}
	params := make([]*testpb.ResponseParameters, 768)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 32 << 10}
	}
	msg, err := proto.Marshal(&testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		t.Fatal(err)
	}
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	body = append(body, msg...)
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	for _, write := range []func() error{
		func() error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
		},
		func() error { return fr.WriteWindowUpdate(0, 1<<31-1-65535) },
		func() error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
		},
		func() error { return fr.WriteData(1, true, body) },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	// Let the backend push until the stalled socket and the relay's
	// buffers are full.
	time.Sleep(500 * time.Millisecond)

	// Another client's calls share the backend connection.
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := testgrpc.NewTestServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	small := make([]*testpb.ResponseParameters, 200)
	for i := range small {
		small[i] = &testpb.ResponseParameters{Size: 1024}
	}
	for i := range 5 {
		s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: small})
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
		n := 0
		for {
			if _, err := s.Recv(); err != nil {
				if n != len(small) {
					t.Fatalf("stream %d: %d of %d messages, then %v", i, n, len(small), err)
				}
				break
			}
			n++
		}
	}
}
