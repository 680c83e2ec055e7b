package server_test

import (
	"sort"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestDataPlaneReflection: a stage with grpc_reflection_enabled answers
// gRPC server reflection from its deployment's descriptors, as grpcurl
// asks it, for the stage a client selects (issue 18).
func TestDataPlaneReflection(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	client := reflectionpb.NewServerReflectionClient(dial(t, ts.DataAddr()))

	list := func(t *testing.T, stage string) ([]string, error) {
		t.Helper()
		ctx := t.Context()
		if stage != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "x-tollgate-stage", stage)
		}
		stream, err := client.ServerReflectionInfo(ctx)
		if err != nil {
			return nil, err
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
			// io.EOF: the server ended the stream; Recv has its status.
			_, err = stream.Recv()
			return nil, err
		}
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		sort.Strings(names)
		// The file of a service, with its imports resolvable.
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{
			FileContainingSymbol: "tollgate.example.v1.BookstoreService"}}); err != nil {
			return nil, err
		}
		resp, err = stream.Recv()
		if err != nil {
			return nil, err
		}
		if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
			t.Errorf("no file for BookstoreService: %v", resp)
		}
		_ = stream.CloseSend()
		return names, nil
	}

	if _, err := list(t, ""); status.Code(err) != codes.Unimplemented {
		t.Fatalf("before enabling: %v, want UNIMPLEMENTED", err)
	}
	if _, err := admin.UpdateStage(withToken(t, ts.AdminToken()), &adminv1.UpdateStageRequest{
		Stage:      &adminv1.Stage{Name: "apis/bookstore/stages/demo", GrpcReflectionEnabled: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"grpc_reflection_enabled"}},
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"tollgate.example.v1.BookstoreService", "tollgate.example.v1.EchoService"}
	for _, stage := range []string{"", "demo", "bookstore/demo", "apis/bookstore/stages/demo"} {
		names, err := list(t, stage)
		if err != nil {
			t.Fatalf("stage %q: %v", stage, err)
		}
		if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
			t.Errorf("stage %q: services %v, want %v", stage, names, want)
		}
	}
	if _, err := list(t, "nope"); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown stage: %v, want UNIMPLEMENTED", err)
	}
}
