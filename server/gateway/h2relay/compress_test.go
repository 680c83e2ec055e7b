package h2relay_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// TestCompressedRequestMessages: on the message path, gzip request
// messages are inflated as grpc-go's server inflates them (the backend
// gets them plain), within the size limit; one that inflates beyond it is
// RESOURCE_EXHAUSTED.
func TestCompressedRequestMessages(t *testing.T) {
	addr := interopBackend(t)
	conn := relayServer(t, messageHandler(t, addr), h2relay.WithMaxMsgSize(1<<20))
	client := testgrpc.NewTestServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gz := grpc.UseCompressor(gzip.Name)

	resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseSize: 10, Payload: &testpb.Payload{Body: make([]byte, 100_000)}}, gz)
	if err != nil || len(resp.GetPayload().GetBody()) != 10 {
		t.Fatalf("gzip unary call: %v, %d bytes", err, len(resp.GetPayload().GetBody()))
	}
	stream, err := client.StreamingInputCall(ctx, gz)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{27182, 8, 1828, 45904} {
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := stream.CloseAndRecv()
	if err != nil || sum.GetAggregatedPayloadSize() != 74922 {
		t.Fatalf("gzip client stream: %v, %d bytes", err, sum.GetAggregatedPayloadSize())
	}

	// 16 MiB of zeros: about 16 KiB compressed, under the limit on the
	// wire, 16 times over it inflated.
	_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 16<<20)}}, gz)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "after decompression") {
		t.Fatalf("gzip bomb: %v, want RESOURCE_EXHAUSTED after decompression", err)
	}
	// The connection still serves.
	if _, err := client.EmptyCall(ctx, &testpb.Empty{}); err != nil {
		t.Fatalf("after the gzip bomb: %v", err)
	}
}

// TestUnknownRequestEncoding: a request in an encoding no compressor is
// registered for is UNIMPLEMENTED naming it, with grpc-accept-encoding
// listing those that are, as the gRPC compression spec asks.
func TestUnknownRequestEncoding(t *testing.T) {
	h := func(st *h2relay.Stream) {
		var f grpcproxy.Frame
		st.Finish(st.RecvMsg(&f))
	}
	rc := dialRaw(t, h)
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/a.B/C"}, {Name: ":authority", Value: "x"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-encoding", Value: "br"}} {
		_ = enc.WriteField(f)
	}
	if err := rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if err := rc.fr.WriteData(1, true, []byte{1, 0, 0, 0, 2, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	rc.until("the status", func(f http2.Frame) bool {
		mh, ok := f.(*http2.MetaHeadersFrame)
		if !ok || mh.StreamID != 1 || !mh.StreamEnded() {
			return false
		}
		get := func(k string) string {
			for _, hf := range mh.Fields {
				if hf.Name == k {
					return hf.Value
				}
			}
			return ""
		}
		msg, _ := url.PathUnescape(get("grpc-message"))
		if get("grpc-status") != "12" || !strings.Contains(msg, `"br"`) || !strings.Contains(get("grpc-accept-encoding"), "gzip") {
			t.Fatalf("status %s %q, grpc-accept-encoding %q: want 12 naming \"br\" and gzip accepted", get("grpc-status"), msg, get("grpc-accept-encoding"))
		}
		return true
	})
}
