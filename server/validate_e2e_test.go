package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// annotatedEcho returns the demo's descriptors with buf.validate rules and
// a field_behavior REQUIRED on EchoRequest, as a user would upload them:
// message is required, 3 to 20 characters; repeat at most 10.
func annotatedEcho(t *testing.T) []byte {
	t.Helper()
	set := examplebackend.DescriptorSetOf(validatepb.File_buf_validate_validate_proto,
		examplev1.File_tollgate_example_v1_bookstore_proto, examplev1.File_tollgate_example_v1_echo_proto)
	for _, f := range set.GetFile() {
		if f.GetName() != "tollgate/example/v1/echo.proto" {
			continue
		}
		f.Dependency = append(f.Dependency, "buf/validate/validate.proto")
		for _, m := range f.GetMessageType() {
			if m.GetName() != "EchoRequest" {
				continue
			}
			for _, fd := range m.GetField() {
				opts := &descriptorpb.FieldOptions{}
				switch fd.GetName() {
				case "message":
					proto.SetExtension(opts, annotations.E_FieldBehavior, []annotations.FieldBehavior{annotations.FieldBehavior_REQUIRED})
					proto.SetExtension(opts, validatepb.E_Field, validatepb.FieldRules_builder{
						String: validatepb.StringRules_builder{MinLen: proto.Uint64(3), MaxLen: proto.Uint64(20)}.Build(),
					}.Build())
				case "repeat":
					proto.SetExtension(opts, validatepb.E_Field, validatepb.FieldRules_builder{
						Int32: validatepb.Int32Rules_builder{Lte: proto.Int32(10)}.Build(),
					}.Build())
				default:
					continue
				}
				fd.Options = opts
			}
		}
	}
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requestViolations returns the sorted fields of a status's BadRequest and
// its ErrorInfo reason.
func requestViolations(st *status.Status) (fields []string, reason string) {
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		}
	}
	sort.Strings(fields)
	return fields, reason
}

// TestRequestValidation: buf.validate rules and REQUIRED fields of the
// uploaded descriptors refuse invalid requests over gRPC and REST before
// the backend is called, listing every violation (issue 18); a route can
// turn validation off.
func TestRequestValidation(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	ctx := withToken(t, ts.AdminToken())
	deploy := func() {
		t.Helper()
		d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
		Api:        &adminv1.Api{Name: "apis/bookstore", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: annotatedEcho(t)}, ValidateRequests: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"file_descriptor_set", "validate_requests"}},
	}); err != nil {
		t.Fatal(err)
	}
	deploy()

	echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
	tests := []struct {
		name   string
		req    *examplev1.EchoRequest
		fields []string // nil: valid
	}{
		{"valid", &examplev1.EchoRequest{Message: "hello", Repeat: 2}, nil},
		{"too short", &examplev1.EchoRequest{Message: "hi"}, []string{"message"}},
		{"every violation", &examplev1.EchoRequest{Repeat: 50}, []string{"message", "message", "repeat"}}, // REQUIRED, min_len, lte
	}
	for _, tt := range tests {
		t.Run("grpc/"+tt.name, func(t *testing.T) {
			resp, err := echo.Echo(t.Context(), tt.req)
			if tt.fields == nil {
				if err != nil || resp.GetMessage() != tt.req.GetMessage() {
					t.Fatalf("Echo = %v, %v", resp, err)
				}
				return
			}
			st := status.Convert(err)
			fields, reason := requestViolations(st)
			if st.Code() != codes.InvalidArgument || reason != "REQUEST_INVALID" {
				t.Fatalf("Echo: %v, reason %q", err, reason)
			}
			if diff := cmp.Diff(tt.fields, fields); diff != "" {
				t.Errorf("violations (-want +got):\n%s\n%v", diff, st.Details())
			}
		})
		t.Run("rest/"+tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"message": tt.req.GetMessage(), "repeat": tt.req.GetRepeat()})
			res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.DataAddr()+"/demo/v1/echo", "", string(body))
			if tt.fields == nil {
				if res.status != http.StatusOK {
					t.Fatalf("REST: %d %s", res.status, res.body)
				}
				return
			}
			if res.status != http.StatusBadRequest || !strings.Contains(res.body, "REQUEST_INVALID") || !strings.Contains(res.body, "google.rpc.BadRequest") {
				t.Fatalf("REST: %d %s", res.status, res.body)
			}
		})
	}

	// Server streaming: refused before the first response.
	stream, err := echo.EchoServerStream(t.Context(), &examplev1.EchoRequest{Message: "x", Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("EchoServerStream: %v", err)
	}
	// Client streaming: each message is checked as it passes.
	cs, err := echo.EchoClientStream(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_ = cs.Send(&examplev1.EchoRequest{Message: "fine"})
	_ = cs.Send(&examplev1.EchoRequest{Message: "no"})
	if _, err := cs.CloseAndRecv(); err != io.EOF && status.Code(err) != codes.InvalidArgument {
		t.Fatalf("EchoClientStream: %v", err)
	}

	// A route turns it off for its method.
	if _, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "echo-unchecked", Route: &adminv1.Route{
		Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}, ValidateRequest: proto.Bool(false),
	}}); err != nil {
		t.Fatal(err)
	}
	deploy()
	if resp, err := echo.Echo(t.Context(), &examplev1.EchoRequest{Message: "hi"}); err != nil || resp.GetMessage() != "hi" {
		t.Fatalf("Echo on a route without validation = %v, %v", resp, err)
	}
}

// TestRequestValidationGzip: gzip-compressed requests are inflated and
// validated on both gRPC relays; one that inflates beyond the message size
// limit (a gzip bomb) is RESOURCE_EXHAUSTED.
func TestRequestValidationGzip(t *testing.T) {
	for _, relay := range []string{"grpc", "frames"} {
		t.Run(relay, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Demo = true
			cfg.GRPCRelay = relay
			ts := startServer(t, cfg)
			admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
			ctx := withToken(t, ts.AdminToken())
			if _, err := admin.UpdateApi(ctx, &adminv1.UpdateApiRequest{
				Api:        &adminv1.Api{Name: "apis/bookstore", DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: annotatedEcho(t)}, ValidateRequests: true},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"file_descriptor_set", "validate_requests"}},
			}); err != nil {
				t.Fatal(err)
			}
			d, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"deployment"}}}); err != nil {
				t.Fatal(err)
			}
			echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
			gz := grpc.UseCompressor(gzip.Name)
			if resp, err := echo.Echo(t.Context(), &examplev1.EchoRequest{Message: "hello"}, gz); err != nil || resp.GetMessage() != "hello" {
				t.Fatalf("valid gzip request: %v, %v", resp, err)
			}
			_, err = echo.Echo(t.Context(), &examplev1.EchoRequest{Message: "hi"}, gz)
			if fields, reason := requestViolations(status.Convert(err)); status.Code(err) != codes.InvalidArgument || reason != "REQUEST_INVALID" || len(fields) != 1 {
				t.Fatalf("invalid gzip request: %v", err)
			}
			// 16 MiB inflated from about 16 KiB: over the 4 MiB limit.
			_, err = echo.Echo(t.Context(), &examplev1.EchoRequest{Message: strings.Repeat("a", 16<<20)}, gz)
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("gzip bomb: %v, want RESOURCE_EXHAUSTED", err)
			}
		})
	}
}
