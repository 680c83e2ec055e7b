package gateway_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway"
)

// TestInteropThroughGateway runs grpc-go's interoperability test cases
// (large messages, all four kinds of call, cancellation, deadlines,
// metadata echo, status codes and messages) against grpc-go's interop
// server behind the gateway, on both gRPC relays.
func TestInteropThroughGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backendSrv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(backendSrv, interop.NewTestServer())
	go func() { _ = backendSrv.Serve(ln) }()
	t.Cleanup(backendSrv.Stop)
	fds, err := proto.Marshal(examplebackend.DescriptorSetOf(testgrpc.File_grpc_testing_test_proto))
	if err != nil {
		t.Fatal(err)
	}
	d := &adminv1.Deployment{
		Name: "apis/interop/deployments/v1",
		Snapshot: &adminv1.ApiSnapshot{Api: &adminv1.Api{
			Name:               "apis/interop",
			Protocol:           adminv1.Api_PROTOCOL_GRPC_REST,
			DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
			DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: ln.Addr().String()}}},
		}},
	}
	stage := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, gateway.StageMetadataKey, "prod")
	}
	for _, relay := range []gateway.GRPCRelay{gateway.RelayGRPC, gateway.RelayFrames} {
		t.Run(string(relay), func(t *testing.T) {
			gw, err := gateway.New(gateway.WithGRPCRelay(relay))
			if err != nil {
				t.Fatal(err)
			}
			tg := serveGateway(t, gw)
			tg.load(t, entry("interop", "prod", d, nil))
			conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
					return invoker(stage(ctx), method, req, reply, cc, opts...)
				}),
				grpc.WithStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
					return streamer(stage(ctx), desc, cc, method, opts...)
				}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			client := testgrpc.NewTestServiceClient(conn)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// Each case fails the test binary itself (grpclog.Fatal) on a
			// mismatch, as in grpc-go's own interop runs.
			interop.DoEmptyUnaryCall(ctx, client)
			interop.DoLargeUnaryCall(ctx, client)
			interop.DoClientStreaming(ctx, client)
			interop.DoServerStreaming(ctx, client)
			interop.DoPingPong(ctx, client)
			interop.DoEmptyStream(ctx, client)
			interop.DoTimeoutOnSleepingServer(ctx, client)
			interop.DoCancelAfterBegin(ctx, client)
			interop.DoCancelAfterFirstResponse(ctx, client)
			interop.DoCustomMetadata(ctx, client)
			interop.DoStatusCodeAndMessage(ctx, client)
			interop.DoSpecialStatusMessage(ctx, client)
			interop.DoUnimplementedMethod(ctx, conn)
		})
	}
}
