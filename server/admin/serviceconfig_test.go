package admin_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

// TestServiceConfigWrites: service_config_yaml needs a gRPC/REST API with
// a schema; with uploaded descriptors its selectors are checked on write;
// with reflected ones on deploy; and each deployment's descriptors carry
// the merged rules.
func TestServiceConfigWrites(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	const rule = "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.EchoClientStream\n    post: /v2/collect\n    body: '*'\n"
	const unknown = "http:\n  rules:\n  - selector: tollgate.example.v1.EchoService.Nope\n    post: /v2/nope\n"
	for _, tt := range []struct {
		name string
		api  *adminv1.Api
		want string
	}{
		{"no schema", &adminv1.Api{ServiceConfigYaml: rule}, "needs the API's schema"},
		{"websocket", &adminv1.Api{Protocol: adminv1.Api_PROTOCOL_WEBSOCKET, RouteSelectionExpression: "$request.body.action", ServiceConfigYaml: rule}, "only for gRPC/REST APIs"},
		{"unknown selector", &adminv1.Api{DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)}, ServiceConfigYaml: unknown}, `http.rules[0].selector: "tollgate.example.v1.EchoService.Nope" names no method`},
		{"too large", &adminv1.Api{DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: descriptorSet(t)}, ServiceConfigYaml: strings.Repeat("#", 1<<20+1)}, "more than the 1048576 allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "bad", Api: tt.api})
			if st := wantCode(t, err, codes.InvalidArgument); !strings.Contains(st.String(), tt.want) {
				t.Errorf("%v, want %q in it", st, tt.want)
			}
		})
	}

	// Reflected descriptors: the selectors are checked when deploying.
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	api := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "refl", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_Reflection{Reflection: &adminv1.ReflectionSource{Target: b.Addr()}},
		DefaultIntegration: grpcIntegration(b.Addr()),
		ServiceConfigYaml:  unknown,
	}}))
	_, err = e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName()})
	if st := wantCode(t, err, codes.InvalidArgument); !strings.Contains(st.String(), "names no method") {
		t.Errorf("deploying an unknown selector: %v", st)
	}
	api.ServiceConfigYaml = rule
	api = must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: api}))
	d := must[*adminv1.Deployment](t)(e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName()}))
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(d.GetSnapshot().GetApi().GetFileDescriptorSet(), &set); err != nil {
		t.Fatal(err)
	}
	var got *annotations.HttpRule
	for _, f := range set.GetFile() {
		for _, s := range f.GetService() {
			for _, m := range s.GetMethod() {
				if m.GetName() == "EchoClientStream" {
					got, _ = proto.GetExtension(m.GetOptions(), annotations.E_Http).(*annotations.HttpRule)
				}
			}
		}
	}
	if got.GetPost() != "/v2/collect" || got.GetBody() != "*" {
		t.Errorf("the deployment's EchoClientStream rule = %v, want the file's", got)
	}
	if d.GetSnapshot().GetApi().GetServiceConfigYaml() != rule {
		t.Errorf("the snapshot lost the service config")
	}
}
