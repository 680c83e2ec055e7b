package main

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// echoServer is a minimal examplev1.EchoServiceServer: no metadata echo, no
// failure directives, just the work the benchmark needs.
type echoServer struct {
	examplev1.UnimplementedEchoServiceServer
}

func (echoServer) Echo(_ context.Context, req *examplev1.EchoRequest) (*examplev1.EchoResponse, error) {
	return &examplev1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload()}, nil
}

func (echoServer) EchoServerStream(req *examplev1.EchoRequest, stream grpc.ServerStreamingServer[examplev1.EchoResponse]) error {
	n := req.GetRepeat()
	if n == 0 {
		n = 1
	}
	if n < 0 || n > 10000 {
		return status.Errorf(codes.InvalidArgument, "repeat must be between 0 and 10000, got %d", n)
	}
	for i := range n {
		if err := stream.Send(&examplev1.EchoResponse{Message: req.GetMessage(), Payload: req.GetPayload(), Index: i}); err != nil {
			return err
		}
	}
	return nil
}

// startBackend serves the echo service and the WebSocket integration on a
// free loopback port.
func startBackend() (addr string, stop func(), err error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	s := grpc.NewServer()
	examplev1.RegisterEchoServiceServer(s, echoServer{})
	datav1.RegisterWebSocketIntegrationServiceServer(s, wsIntegration{})
	go s.Serve(lis)
	return lis.Addr().String(), s.Stop, nil
}

// echoDescriptorSet returns echo.proto and everything it imports, each file
// after its imports, as `buf build --as-file-descriptor-set` would.
func echoDescriptorSet() (*descriptorpb.FileDescriptorSet, error) {
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor) error
	visit = func(fd protoreflect.FileDescriptor) error {
		if seen[fd.Path()] {
			return nil
		}
		seen[fd.Path()] = true
		if fd.IsPlaceholder() {
			resolved, err := protoregistry.GlobalFiles.FindFileByPath(fd.Path())
			if err != nil {
				return fmt.Errorf("descriptor %s is not linked in: %w", fd.Path(), err)
			}
			fd = resolved
		}
		imports := fd.Imports()
		for i := range imports.Len() {
			if err := visit(imports.Get(i).FileDescriptor); err != nil {
				return err
			}
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
		return nil
	}
	if err := visit(examplev1.File_tollgate_example_v1_echo_proto); err != nil {
		return nil, err
	}
	return set, nil
}
