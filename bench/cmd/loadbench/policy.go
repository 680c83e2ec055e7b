package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
)

// kindTollgatePolicy is Tollgate with the whole policy chain on: an API key
// in a usage plan (plan throttle + quota), a custom authorizer whose
// decision is cached, account + stage + route throttles, metrics, and
// tracing sampled at 1% exported over OTLP.
const kindTollgatePolicy = "tollgate-policy"

// Credentials the policy target's clients send.
const (
	benchAuthToken   = "bench-caller"
	benchAPIKeyValue = "bench-api-key-0123456789abcdefghij"
)

// policyMetadata is what a client of the policy target sends on each call.
func policyMetadata() metadata.MD {
	return metadata.Pairs("authorization", benchAuthToken, "x-api-key", benchAPIKeyValue)
}

// allowAll is the bench's custom authorizer: it allows every call of the
// bench stage. Its decision is cached by Tollgate for 300 s, so it is
// called once per run.
type allowAll struct {
	datav1.UnimplementedAuthorizerServiceServer
}

func (allowAll) Authorize(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	return &datav1.AuthorizeResponse{
		PrincipalId: "bench",
		Policy:      []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{benchAPIID + "/" + benchStageID + "/*"}}},
	}, nil
}

// startPolicySidecars starts the custom authorizer and an OTLP/HTTP trace
// sink in the proxy child (both nearly idle: the authorizer is cached and 1%
// of calls are traced), and points Tollgate's tracing at the sink.
func startPolicySidecars() (authAddr string, stop func(), err error) {
	authLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	gs := grpc.NewServer()
	datav1.RegisterAuthorizerServiceServer(gs, allowAll{})
	go gs.Serve(authLn)

	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gs.Stop()
		return "", nil, err
	}
	sink := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An empty ExportTraceServiceResponse: every span accepted.
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go sink.Serve(sinkLn)
	for k, v := range map[string]string{
		"OTEL_TRACES_EXPORTER":               "otlp",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://" + sinkLn.Addr().String() + "/v1/traces",
		"OTEL_TRACES_SAMPLER":                "traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":            "0.01",
	} {
		os.Setenv(k, v)
	}
	return authLn.Addr().String(), func() { gs.Stop(); sink.Close() }, nil
}

// enablePolicies turns the whole policy chain on for the bench stage.
func enablePolicies(ctx context.Context, admin adminv1.AdminServiceClient, api, authAddr string) error {
	high := &adminv1.ThrottleSettings{RateLimit: 1e6, BurstLimit: 1e6}
	auth, err := admin.CreateAuthorizer(ctx, &adminv1.CreateAuthorizerRequest{Parent: api, AuthorizerId: "bench", Authorizer: &adminv1.Authorizer{
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
			IdentitySources:  []string{"$request.header.Authorization"},
			Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: authAddr}},
			ResultTtlSeconds: ptr(int32(300)),
			Timeout:          durationpb.New(5 * time.Second),
		}},
	}})
	if err != nil {
		return fmt.Errorf("create authorizer: %w", err)
	}
	route, err := admin.CreateRoute(ctx, &adminv1.CreateRouteRequest{Parent: api, RouteId: "echo", Route: &adminv1.Route{
		Match:          &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/*"},
		Authorization:  &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: auth.GetName()},
		ApiKeyRequired: true,
	}})
	if err != nil {
		return fmt.Errorf("create route: %w", err)
	}
	dep, err := admin.CreateDeployment(ctx, &adminv1.CreateDeploymentRequest{Parent: api})
	if err != nil {
		return fmt.Errorf("create deployment: %w", err)
	}
	stageName := api + "/stages/" + benchStageID
	routeID := route.GetName()[len(api+"/routes/"):]
	if _, err := admin.UpdateStage(ctx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{
		Name:            stageName,
		Deployment:      dep.GetName(),
		DefaultThrottle: high,
		RouteSettings:   map[string]*adminv1.RouteSettings{routeID: {Throttle: high}},
		Tracing:         &adminv1.TracingSettings{Enabled: true},
	}}); err != nil {
		return fmt.Errorf("update stage: %w", err)
	}
	key, err := admin.CreateApiKey(ctx, &adminv1.CreateApiKeyRequest{ApiKeyId: "bench", ApiKey: &adminv1.ApiKey{Value: benchAPIKeyValue}})
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	if _, err := admin.CreateUsagePlan(ctx, &adminv1.CreateUsagePlanRequest{UsagePlanId: "bench", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: stageName}},
		Throttle:  high,
		Quota:     &adminv1.QuotaSettings{Limit: 1e12, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}); err != nil {
		return fmt.Errorf("create usage plan: %w", err)
	}
	if _, err := admin.CreateUsagePlanKey(ctx, &adminv1.CreateUsagePlanKeyRequest{Parent: "usagePlans/bench", UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}); err != nil {
		return fmt.Errorf("add key to plan: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
