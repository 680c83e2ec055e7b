package transcode_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/internal/serviceconfig"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// serviceConfigPath is the service config buf.gen.yaml hands
// protoc-gen-grpc-gateway (grpc_api_configuration) for the test service.
const serviceConfigPath = "../../../proto/tollgate/testing/v1/transcoding_api_config.yaml"

// TestDifferentialServiceConfig compares grpc-gateway's handlers, generated
// with HTTP rules from a google.api.Service YAML, with a Transcoder over
// descriptors into which internal/serviceconfig merged the same file: the
// file's rules on a method without an annotation, beside a method's own
// annotation, several for one method, response_body, PATCH with a body
// field, and a custom verb with a colon (issue 18).
func TestDifferentialServiceConfig(t *testing.T) {
	src, err := os.ReadFile(serviceConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	conn := startTestBackend(t)
	ref := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithIncomingHeaderMatcher(transcode.IncomingHeaderMatcher),
	)
	if err := testingv1.RegisterTranscodingTestServiceHandler(context.Background(), ref, conn); err != nil {
		t.Fatal(err)
	}

	set, err := proto.Marshal(descriptorSet(testingv1.File_tollgate_testing_v1_transcoding_proto))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := serviceconfig.ApplySet(set, string(src))
	if err != nil {
		t.Fatal(err)
	}
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(merged, &fds); err != nil {
		t.Fatal(err)
	}
	files := filesFrom(t, &fds)
	ours, err := transcode.New(files, services(t, files, testServiceName), conn)
	if err != nil {
		t.Fatal(err)
	}

	patch := func(name, path, body string, status int) diffCase {
		return diffCase{name: name, req: request{method: http.MethodPatch, path: path, body: body}, status: status}
	}
	runDiffCases(t, &http.Client{Timeout: testTimeout}, serveHTTP(t, ref), serveHTTP(t, ours), []diffCase{
		// A method without an annotation gets the file's rules only.
		get("/v2/yaml/unbound/hello?number=4", 200),
		post("unbound body *", "/v2/yaml/unbound", `{"text":"a","number":"3"}`, 200),
		post("unbound body field and verb with colons", "/v2/yaml/unbound/7:run:now", `"hi"`, 200),
		post("unbound default binding is gone", "/tollgate.testing.v1.TranscodingTestService/Unbound", `{}`, 404),
		// Rules from the file beside the method's annotation.
		get("/v2/yaml/query/5/COLOR_RED?text=x", 200),
		get("/v2/yaml/query/x/COLOR_RED", 400),
		get("/v1/query?text=still", 200),
		post("annotation binding still served", "/v1/query:search", `{"text":"s"}`, 200),
		// Two rules for one method, and the annotation's.
		get("/v2/yaml/projects/p/resources/r", 200),
		get("/v2/yaml/projects/p/resources/r:peek", 200),
		get("/v1/projects/p/resources/r", 200),
		get("/v2/yaml/projects/p/resources", 404),
		// response_body.
		get("/v2/yaml/views/projects/p/resources/r", 200),
		// PATCH with a body field (and the update mask it fills).
		patch("patch from the file", "/v2/yaml/projects/p/resources/r", `{"displayName":"d"}`, 200),
		get("/v2/yaml/nothing", 404),
	})
}
