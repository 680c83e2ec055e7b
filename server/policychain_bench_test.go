package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server"
)

// allowAllAuthorizer allows every call; its decision is cached by the
// gateway, so it is called once per benchmark.
type allowAllAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
}

func (allowAllAuthorizer) Authorize(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	return &datav1.AuthorizeResponse{PrincipalId: "bench", Policy: []*datav1.Statement{
		{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/prod/*"}}}}, nil
}

// BenchmarkPolicyChain measures one 1 KiB unary gRPC call through the whole
// server on each relay, bare (routing, request ID, metrics, access log and
// the account throttle) and with the policy chain of loadbench's
// tollgate-policy target: a custom authorizer whose decision is cached, an
// API key in a usage plan (plan throttle and quota), stage and route
// throttles, and tracing sampled at 1 % exported over OTLP/HTTP to a sink
// in this process. allocs/op is the figure to compare; the client and the
// backend run in this process too.
func BenchmarkPolicyChain(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(sink.Close)
	b.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	b.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	b.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", sink.URL+"/v1/traces")
	b.Setenv("OTEL_TRACES_SAMPLER", "traceidratio")
	b.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.01")

	authLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	auth := grpc.NewServer()
	datav1.RegisterAuthorizerServiceServer(auth, allowAllAuthorizer{})
	go func() { _ = auth.Serve(authLn) }()
	b.Cleanup(auth.Stop)
	be, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(be.Stop)

	payload := bytes.Repeat([]byte("x"), 1024)
	for _, relay := range []string{"grpc", "frames"} {
		for _, policies := range []bool{false, true} {
			name := relay + "/bare"
			if policies {
				name = relay + "/policy"
			}
			s := startBenchServer(b, relay)
			deployPolicyBench(b, newFleetAdmin(b, s), be.Addr(), authLn.Addr().String(), policies)
			client := examplev1.NewEchoServiceClient(dialTB(b, s.DataAddr()))
			ctx := context.Background()
			if policies {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "bench-caller", "x-api-key", "bench-api-key-0123456789abcdefghij")
			}
			req := &examplev1.EchoRequest{Payload: payload}
			// The data plane serves a deploy once it is acknowledged;
			// the first call fills the authorizer's and the key's caches.
			if _, err := client.Echo(ctx, req); err != nil {
				b.Fatalf("%s: warm-up: %v", name, err)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := client.Echo(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// startBenchServer starts a quiet server on relay, stopped when the
// benchmark ends.
func startBenchServer(b *testing.B, relay string) *server.Server {
	b.Helper()
	return startServer(b, server.Config{
		DataDir: b.TempDir(), AdminAddr: "127.0.0.1:0", ListenAddr: "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second, AdminToken: nodeToken, GRPCRelay: relay,
		Logger: slog.New(slog.DiscardHandler), Stderr: io.Discard, AccessLog: io.Discard,
	}).Server
}

// deployPolicyBench deploys the API shop (the example backend's
// descriptors) on the stage prod with the account throttle raised out of
// the way and, with policies, the whole policy chain of loadbench's
// tollgate-policy target on its EchoService methods.
func deployPolicyBench(b *testing.B, a fleetAdmin, backend, authAddr string, policies bool) {
	b.Helper()
	fds, err := proto.Marshal(examplebackend.FileDescriptorSet())
	if err != nil {
		b.Fatal(err)
	}
	api, err := a.CreateApi(a.ctx, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_FileDescriptorSet{FileDescriptorSet: fds},
		DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: backend}}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	high := &adminv1.ThrottleSettings{RateLimit: 1e6, BurstLimit: 1e6}
	if _, err := a.UpdateAccountSettings(a.ctx, &adminv1.UpdateAccountSettingsRequest{
		AccountSettings: &adminv1.AccountSettings{Name: "settings", Throttle: high},
		UpdateMask:      &fieldmaskpb.FieldMask{Paths: []string{"throttle"}},
	}); err != nil {
		b.Fatal(err)
	}
	stage := &adminv1.Stage{}
	if policies {
		authz, err := a.CreateAuthorizer(a.ctx, &adminv1.CreateAuthorizerRequest{Parent: api.GetName(), AuthorizerId: "bench", Authorizer: &adminv1.Authorizer{
			Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
				Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
				IdentitySources:  []string{"$request.header.Authorization"},
				Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
				ResultTtlSeconds: proto.Int32(300),
				Timeout:          durationpb.New(5 * time.Second),
			}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.CreateRoute(a.ctx, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "echo", Route: &adminv1.Route{
			Match:          &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
			Authorization:  &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: authz.GetName()},
			ApiKeyRequired: true,
		}}); err != nil {
			b.Fatal(err)
		}
		stage.DefaultThrottle = high
		stage.RouteSettings = map[string]*adminv1.RouteSettings{"echo": {Throttle: high}}
		stage.Tracing = &adminv1.TracingSettings{Enabled: true}
	}
	d, err := a.CreateDeployment(a.ctx, &adminv1.CreateDeploymentRequest{Parent: api.GetName()})
	if err != nil {
		b.Fatal(err)
	}
	stage.Deployment = d.GetName()
	if _, err := a.CreateStage(a.ctx, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "prod", Stage: stage}); err != nil {
		b.Fatal(err)
	}
	if !policies {
		return
	}
	key, err := a.CreateApiKey(a.ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "bench", ApiKey: &adminv1.ApiKey{Value: "bench-api-key-0123456789abcdefghij"}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.CreateUsagePlan(a.ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "bench", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: api.GetName() + "/stages/prod"}},
		Throttle:  high,
		Quota:     &adminv1.QuotaSettings{Limit: 1e12, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}); err != nil {
		b.Fatal(err)
	}
	if _, err := a.CreateUsagePlanKey(a.ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/bench",
		UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}); err != nil {
		b.Fatal(err)
	}
}
