package recovery_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/recovery"
)

// panicky panics on "boom" and echoes otherwise.
type panicky struct {
	examplev1.UnimplementedEchoServiceServer
}

func (panicky) Echo(_ context.Context, r *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	if r.GetMessage() == "boom" {
		panic("secret internal detail")
	}
	return &examplev1.EchoResponse{Message: r.GetMessage()}, nil
}

func (panicky) EchoServerStream(r *examplev1.EchoRequest, s grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	if r.GetMessage() == "boom" {
		panic("secret internal detail")
	}
	return s.Send(&examplev1.EchoResponse{Message: r.GetMessage()})
}

func TestRecovery(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(logger)),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(logger)),
	)
	examplev1.RegisterEchoServiceServer(srv, panicky{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := examplev1.NewEchoServiceClient(conn)
	tests := []struct {
		name string
		call func(msg string) error
	}{
		{"unary", func(msg string) error {
			_, err := client.Echo(t.Context(), &examplev1.EchoRequest{Message: msg})
			return err
		}},
		{"stream", func(msg string) error {
			s, err := client.EchoServerStream(t.Context(), &examplev1.EchoRequest{Message: msg})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call("boom")
			if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "secret") {
				t.Fatalf("panic became %v", err)
			}
			if err := tt.call("fine"); err != nil {
				t.Fatalf("the server stopped serving after a panic: %v", err)
			}
		})
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "stack=") {
		t.Errorf("the panic was not logged with its stack:\n%s", logs.String())
	}
}
