package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/apikey"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/admin"
	"github.com/tollgate-gw/tollgate/server/store"
)

func TestPagination(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	var want []string
	for i := range 7 {
		a := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: fmt.Sprintf("api-%d", i), Api: &adminv1.Api{}}))
		want = append(want, a.GetName())
	}
	var got []string
	token := ""
	pages := 0
	for {
		resp := must[*adminv1.ListApisResponse](t)(e.client.ListApis(c, &adminv1.ListApisRequest{PageSize: 3, PageToken: token}))
		pages++
		for _, a := range resp.GetApis() {
			got = append(got, a.GetName())
		}
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("pages = %d, names = %v, want 3 pages of %v", pages, got, want)
	}

	tests := []struct {
		name string
		req  *adminv1.ListApisRequest
		want codes.Code
	}{
		{"negative size", &adminv1.ListApisRequest{PageSize: -1}, codes.InvalidArgument},
		{"garbage token", &adminv1.ListApisRequest{PageToken: "not-a-token"}, codes.InvalidArgument},
		{"huge size is coerced", &adminv1.ListApisRequest{PageSize: 1 << 30}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ListApis(c, tt.req)
			wantCode(t, err, tt.want)
		})
	}
	t.Run("token of another listing", func(t *testing.T) {
		must[*adminv1.Route](t)(e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: "apis/api-0", Route: &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/a.B/C"}, Integration: grpcIntegration("h:1")}}))
		must[*adminv1.Route](t)(e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: "apis/api-0", Route: &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/a.B/D"}, Integration: grpcIntegration("h:1")}}))
		resp := must[*adminv1.ListRoutesResponse](t)(e.client.ListRoutes(c, &adminv1.ListRoutesRequest{Parent: "apis/api-0", PageSize: 1}))
		_, err := e.client.ListRoutes(c, &adminv1.ListRoutesRequest{Parent: "apis/api-1", PageToken: resp.GetNextPageToken()})
		wantCode(t, err, codes.InvalidArgument)
		_, err = e.client.ListRoutes(c, &adminv1.ListRoutesRequest{Parent: "apis/missing"})
		wantCode(t, err, codes.NotFound)
	})
}

func TestUpdateMask(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{
		DisplayName: "Shop", Description: "old", DefaultIntegration: grpcIntegration("a:1"),
	}}))
	t.Run("only masked fields change", func(t *testing.T) {
		u := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{
			Api:        &adminv1.Api{Name: api.GetName(), Description: "new", DisplayName: "ignored"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
		}))
		if u.GetDescription() != "new" || u.GetDisplayName() != "Shop" || u.GetDefaultIntegration() == nil {
			t.Fatalf("after update: %v", u)
		}
		if !u.GetUpdateTime().AsTime().After(api.GetUpdateTime().AsTime()) && u.GetEtag() == api.GetEtag() {
			t.Fatal("update_time and etag did not change")
		}
		if u.GetCreateTime().AsTime() != api.GetCreateTime().AsTime() || u.GetUid() != api.GetUid() {
			t.Fatal("output-only fields changed")
		}
	})
	t.Run("nested path", func(t *testing.T) {
		u := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{
			Api:        &adminv1.Api{Name: api.GetName(), DefaultIntegration: grpcIntegration("b:2")},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_integration.grpc.target"}},
		}))
		if u.GetDefaultIntegration().GetGrpc().GetTarget() != "b:2" {
			t.Fatalf("after update: %v", u)
		}
	})
	t.Run("empty mask updates set fields", func(t *testing.T) {
		u := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), DisplayName: "Shop 2"}}))
		if u.GetDisplayName() != "Shop 2" || u.GetDescription() != "new" {
			t.Fatalf("after update: %v", u)
		}
	})
	t.Run("star replaces", func(t *testing.T) {
		u := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{
			Api:        &adminv1.Api{Name: api.GetName(), DisplayName: "Only", Protocol: adminv1.Api_PROTOCOL_GRPC_REST},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}},
		}))
		if u.GetDisplayName() != "Only" || u.GetDescription() != "" || u.GetDefaultIntegration() != nil || u.GetProtocol() != adminv1.Api_PROTOCOL_GRPC_REST {
			t.Fatalf("after replace: %v", u)
		}
	})
	tests := []struct {
		name  string
		api   *adminv1.Api
		paths []string
		field string
	}{
		{"unknown path", &adminv1.Api{Name: api.GetName()}, []string{"colour"}, "update_mask"},
		{"immutable field", &adminv1.Api{Name: api.GetName(), Protocol: adminv1.Api_PROTOCOL_WEBSOCKET}, []string{"protocol"}, "api.protocol"},
		{"star with others", &adminv1.Api{Name: api.GetName()}, []string{"*", "description"}, "update_mask"},
		{"invalid result", &adminv1.Api{Name: api.GetName(), DisplayName: strings.Repeat("x", 200)}, []string{"display_name"}, "api.display_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: tt.api, UpdateMask: &fieldmaskpb.FieldMask{Paths: tt.paths}})
			wantCode(t, err, codes.InvalidArgument)
			if f := violationFields(err); !slices.Contains(f, tt.field) {
				t.Fatalf("violations name %v, want %q", f, tt.field)
			}
		})
	}
	_, err := e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: "apis/nope", Description: "x"}})
	wantCode(t, err, codes.NotFound)
}

func TestEtags(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "shop", Api: &adminv1.Api{}}))
	first := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), Etag: api.GetEtag(), Description: "one"}}))
	// A second writer still holding the first etag loses.
	_, err := e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), Etag: api.GetEtag(), Description: "two"}})
	st := wantCode(t, err, codes.Aborted)
	if !strings.Contains(st.Message(), "changed") {
		t.Errorf("message %q does not say what happened", st.Message())
	}
	_, err = e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Etag: api.GetEtag()})
	wantCode(t, err, codes.Aborted)
	// A no-op update keeps the etag.
	same := must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), Description: "one"}}))
	if same.GetEtag() != first.GetEtag() {
		t.Errorf("no-op update changed the etag")
	}
	must[*struct{}](t)(nil, func() error {
		_, err := e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Etag: first.GetEtag()})
		return err
	}())
}

func TestValidation(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, _ := seedAPI(t, e)
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"bad api id", func() error {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "Bad_ID", Api: &adminv1.Api{}})
			return err
		}, []string{"api_id"}},
		{"missing api", func() error {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "x"})
			return err
		}, []string{"api"}},
		{"descriptor set that does not parse", func() error {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{Api: &adminv1.Api{DescriptorSource: &adminv1.Api_FileDescriptorSet{FileDescriptorSet: []byte("garbage")}}})
			return err
		}, []string{"api.file_descriptor_set"}},
		{"websocket api without selection expression", func() error {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{Api: &adminv1.Api{Protocol: adminv1.Api_PROTOCOL_WEBSOCKET}})
			return err
		}, []string{"api.route_selection_expression"}},
		{"websocket allowed origins that are no origins", func() error {
			_, err := e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "origins", Stage: &adminv1.Stage{
				Deployment: dep.GetName(),
				Websocket:  &adminv1.WebSocketSettings{AllowedOrigins: []string{"https://ok.example.com", "ftp://x.example", "https://a.*.example", "https://x.example/path"}},
			}})
			return err
		}, []string{"stage.websocket.allowed_origins[1]", "stage.websocket.allowed_origins[2]", "stage.websocket.allowed_origins[3]"}},
		{"bad integration target and uri", func() error {
			_, err := e.client.CreateApi(c, &adminv1.CreateApiRequest{Api: &adminv1.Api{DefaultIntegration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: "ftp://x"}}}}})
			return err
		}, []string{"api.default_integration.http.uri"}},
		{"route without match, bad timeout", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{Timeout: durationpb.New(time.Hour)}})
			return err
		}, []string{"route", "route.timeout"}},
		{"integration connect timeouts out of range", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
				Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{
					Target: "localhost:9", ConnectTimeout: durationpb.New(time.Hour),
				}}},
			}})
			return err
		}, []string{"route.integration.grpc.connect_timeout"}},
		{"health check and outlier detection without targets", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/x"}},
				Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{
					Uri:              "http://backend.internal",
					HealthCheck:      &adminv1.HealthCheck{Interval: durationpb.New(time.Millisecond), GrpcService: "x"},
					OutlierDetection: &adminv1.OutlierDetection{MaxEjectionPercent: 101},
				}}},
			}})
			return err
		}, []string{
			"route.integration.http.health_check", "route.integration.http.health_check.interval", "route.integration.http.health_check.http_path",
			"route.integration.http.outlier_detection", "route.integration.http.outlier_detection.max_ejection_percent",
		}},
		{"bad retry policy", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
				RetryPolicy: &adminv1.RetryPolicy{
					Attempts: 9, RetryableCodes: []string{"UNAVAILABLE", "nope"}, RetryableStatuses: []int32{404},
					MaxBackoff: durationpb.New(time.Minute), BudgetPercent: 101,
				},
			}})
			return err
		}, []string{
			"route.retry_policy.attempts", "route.retry_policy.retryable_codes[1]", "route.retry_policy.retryable_statuses[0]",
			"route.retry_policy.max_backoff", "route.retry_policy.budget_percent",
		}},
		{"route with stream timeouts out of range", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match:             &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
				StreamIdleTimeout: durationpb.New(time.Millisecond), MaxStreamDuration: durationpb.New(30 * 24 * time.Hour),
			}})
			return err
		}, []string{"route.stream_idle_timeout", "route.max_stream_duration"}},
		{"route to a method the schema lacks", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/Nope"}}})
			return err
		}, []string{"route.grpc_method"}},
		{"bad path template", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "FETCH", Path: "/v1/{a=**}/**"}}}})
			return err
		}, []string{"route.http.method", "route.http.path"}},
		{"encoded slashes allowed on a gRPC route", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"}, AllowEncodedSlashes: true,
			}})
			return err
		}, []string{"route.allow_encoded_slashes"}},
		{"path template that matches nothing", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/v1/../x"}}}})
			return err
		}, []string{"route.http.path"}},
		{"route with a missing authorizer", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
				Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: api.GetName() + "/authorizers/none"},
			}})
			return err
		}, []string{"route.authorization.authorizer"}},
		{"jwt authorizer without issuer or keys", func() error {
			_, err := e.client.CreateAuthorizer(c, &adminv1.CreateAuthorizerRequest{Parent: api.GetName(), Authorizer: &adminv1.Authorizer{Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Keys: &adminv1.JwtAuthorizer_JwksUri{JwksUri: "http://evil.example/jwks"}}}}})
			return err
		}, []string{"authorizer.jwt.issuer", "authorizer.jwt.audiences", "authorizer.jwt.jwks_uri"}},
		{"custom authorizer ttl out of range", func() error {
			ttl := int32(4000)
			_, err := e.client.CreateAuthorizer(c, &adminv1.CreateAuthorizerRequest{Parent: api.GetName(), Authorizer: &adminv1.Authorizer{Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
				Type: adminv1.CustomAuthorizer_TYPE_TOKEN, IdentitySources: []string{"$request.header.Authorization"}, ResultTtlSeconds: &ttl,
				Callout: &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "auth:1"}},
			}}}})
			return err
		}, []string{"authorizer.custom.result_ttl_seconds"}},
		{"stage with a deployment of another API and bad throttle", func() error {
			_, err := e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), Stage: &adminv1.Stage{Deployment: "apis/other/deployments/v1", DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 10}}})
			return err
		}, []string{"stage.deployment", "stage.default_throttle.burst_limit"}},
		{"stage with an unknown redis failure mode", func() error {
			_, err := e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), Stage: &adminv1.Stage{Deployment: dep.GetName(), RedisFailureMode: 7}})
			return err
		}, []string{"stage.redis_failure_mode"}},
		{"stage with a missing deployment", func() error {
			_, err := e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), Stage: &adminv1.Stage{Deployment: api.GetName() + "/deployments/nope"}})
			return err
		}, []string{"stage.deployment"}},
		{"stage variables and canary", func() error {
			_, err := e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), Stage: &adminv1.Stage{Deployment: dep.GetName(), Variables: map[string]string{"bad name": "x"}, Canary: &adminv1.CanarySettings{Deployment: dep.GetName(), Percent: 150}}})
			return err
		}, []string{"stage.variables", "stage.canary.percent"}},
		{"short api key value", func() error {
			_, err := e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKey: &adminv1.ApiKey{Value: "short"}})
			return err
		}, []string{"api_key.value"}},
		{"plan with missing stage and bad quota", func() error {
			_, err := e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/nope"}}, Quota: &adminv1.QuotaSettings{Limit: 0, Period: adminv1.QuotaSettings_PERIOD_WEEK, Offset: 9}}})
			return err
		}, []string{"usage_plan.quota.limit", "usage_plan.quota.offset"}},
		{"plan with a missing stage", func() error {
			_, err := e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: "apis/shop/stages/nope"}}}})
			return err
		}, []string{"usage_plan.api_stages[0].stage"}},
		{"domain mapping with a bad domain, base path and stage", func() error {
			_, err := e.client.CreateDomainMapping(c, &adminv1.CreateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{Domain: "Bad Domain:80", BasePath: "/x/", Stage: "apis/shop/stages/nope"}})
			return err
		}, []string{"domain_mapping.domain", "domain_mapping.base_path", "domain_mapping.stage"}},
		{"cache options a route cannot have", func() error {
			_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{
				Match:           &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/files/{path=**}"}},
				CacheAllMethods: true, CacheSharedByCallers: true,
			}})
			return err
		}, []string{"route.cache_all_methods", "route.cache_shared_by_callers"}},
		{"flush the cache of a bad stage name", func() error {
			_, err := e.client.FlushStageCache(c, &adminv1.FlushStageCacheRequest{Name: "apis/shop"})
			return err
		}, []string{"name"}},
		{"bad names", func() error {
			_, err := e.client.GetStage(c, &adminv1.GetStageRequest{Name: "apis/shop/stage/prod"})
			return err
		}, []string{"name"}},
		{"usage with bad dates", func() error {
			_, err := e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: "usagePlans/p", StartDate: "2026-13-01", EndDate: "yesterday"})
			return err
		}, []string{"start_date", "end_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			st := wantCode(t, err, codes.InvalidArgument)
			got := violationFields(err)
			for _, f := range tt.fields {
				if !slices.Contains(got, f) {
					t.Errorf("violations name %v, want %q (message %q)", got, f, st.Message())
				}
			}
		})
	}
}

func TestReferentialIntegrity(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, stage := seedAPI(t, e)
	authz := must[*adminv1.Authorizer](t)(e.client.CreateAuthorizer(c, &adminv1.CreateAuthorizerRequest{Parent: api.GetName(), AuthorizerId: "jwt", Authorizer: &adminv1.Authorizer{
		Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Issuer: "https://i", Audiences: []string{"a"}, Keys: &adminv1.JwtAuthorizer_InlineJwks{InlineJwks: `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`}}},
	}}))
	must[*adminv1.Route](t)(e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "books", Route: &adminv1.Route{
		Match:         &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"},
		Authorization: &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: authz.GetName(), Scopes: []string{"books.read"}},
	}}))
	_, err := e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), Route: &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/*"}}})
	wantCode(t, err, codes.AlreadyExists)

	plan := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: stage.GetName()}}}}))
	other := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "silver", UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: stage.GetName()}}}}))
	key := must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}))
	must[*adminv1.UsagePlanKey](t)(e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: plan.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))

	precondition := func(name string, err error, wantType string) {
		t.Helper()
		st := wantCode(t, err, codes.FailedPrecondition)
		for _, d := range st.Details() {
			if pf, ok := d.(*errdetails.PreconditionFailure); ok && pf.GetViolations()[0].GetType() == wantType {
				return
			}
		}
		t.Errorf("%s: no PreconditionFailure %s in %v", name, wantType, st.Details())
	}
	_, err = e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: other.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}})
	precondition("key in two plans", err, "KEY_IN_TWO_PLANS")
	_, err = e.client.DeleteDeployment(c, &adminv1.DeleteDeploymentRequest{Name: dep.GetName()})
	precondition("deployment in use", err, "STAGE_USES_DEPLOYMENT")
	_, err = e.client.DeleteAuthorizer(c, &adminv1.DeleteAuthorizerRequest{Name: authz.GetName()})
	precondition("authorizer in use", err, "AUTHORIZER_IN_USE")
	_, err = e.client.DeleteStage(c, &adminv1.DeleteStageRequest{Name: stage.GetName()})
	precondition("stage in a plan", err, "USAGE_PLAN_COVERS_STAGE")
	_, err = e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Force: true})
	precondition("api with a stage in a plan", err, "USAGE_PLAN_COVERS_STAGE")
	dm := must[*adminv1.DomainMapping](t)(e.client.CreateDomainMapping(c, &adminv1.CreateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{Domain: "shop.example.com", Stage: stage.GetName()}}))
	_, err = e.client.CreateDomainMapping(c, &adminv1.CreateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{Domain: "shop.example.com", Stage: stage.GetName()}})
	wantCode(t, err, codes.AlreadyExists)
	must[*adminv1.UsagePlan](t)(e.client.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: plan.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}}))
	must[*adminv1.UsagePlan](t)(e.client.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: other.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}}))
	_, err = e.client.DeleteStage(c, &adminv1.DeleteStageRequest{Name: stage.GetName()})
	precondition("stage under a domain", err, "DOMAIN_MAPPING_USES_STAGE")
	must[*struct{}](t)(nil, func() error {
		_, err := e.client.DeleteDomainMapping(c, &adminv1.DeleteDomainMappingRequest{Name: dm.GetName()})
		return err
	}())

	// Deleting the key removes its membership.
	must[*struct{}](t)(nil, func() error {
		_, err := e.client.DeleteApiKey(c, &adminv1.DeleteApiKeyRequest{Name: key.GetName()})
		return err
	}())
	keys := must[*adminv1.ListUsagePlanKeysResponse](t)(e.client.ListUsagePlanKeys(c, &adminv1.ListUsagePlanKeysRequest{Parent: plan.GetName()}))
	if len(keys.GetUsagePlanKeys()) != 0 {
		t.Fatalf("memberships of a deleted key remain: %v", keys)
	}
	for _, p := range []string{plan.GetName(), other.GetName()} {
		must[*struct{}](t)(nil, func() error {
			_, err := e.client.DeleteUsagePlan(c, &adminv1.DeleteUsagePlanRequest{Name: p})
			return err
		}())
	}
	_, err = e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName()})
	precondition("api with children", err, "API_HAS_CHILDREN")
	must[*struct{}](t)(nil, func() error {
		_, err := e.client.DeleteApi(c, &adminv1.DeleteApiRequest{Name: api.GetName(), Force: true})
		return err
	}())
	_, err = e.client.GetStage(c, &adminv1.GetStageRequest{Name: stage.GetName()})
	wantCode(t, err, codes.NotFound)
}

func TestDeploymentIsASnapshot(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, _ := seedAPI(t, e)
	must[*adminv1.Route](t)(e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "r", Route: &adminv1.Route{Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"}}}))
	must[*adminv1.Api](t)(e.client.UpdateApi(c, &adminv1.UpdateApiRequest{Api: &adminv1.Api{Name: api.GetName(), Description: "changed"}}))
	old := must[*adminv1.Deployment](t)(e.client.GetDeployment(c, &adminv1.GetDeploymentRequest{Name: dep.GetName()}))
	if old.GetSnapshot().GetApi().GetDescription() != "" || len(old.GetSnapshot().GetRoutes()) != 0 {
		t.Fatalf("an old deployment changed with the live API: %v", old.GetSnapshot())
	}
	d2 := must[*adminv1.Deployment](t)(e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName()}))
	if d2.GetSnapshot().GetApi().GetDescription() != "changed" || len(d2.GetSnapshot().GetRoutes()) != 1 {
		t.Fatalf("new deployment does not hold the live API: %v", d2.GetSnapshot())
	}
	// An API whose routes have nowhere to go cannot be deployed.
	bare := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "bare", Api: &adminv1.Api{}}))
	_, err := e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: bare.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestAPIKeyValueIsNeverStored(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	k := must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "gen"}))
	if !strings.HasPrefix(k.GetValue(), "tgk_") || len(k.GetValue()) < 40 || !k.GetEnabled() {
		t.Fatalf("generated key = %v", k)
	}
	supplied := "my-own-secret-value-0123456789"
	must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "own", ApiKey: &adminv1.ApiKey{Value: supplied}}))
	_, err := e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "dup", ApiKey: &adminv1.ApiKey{Value: supplied}})
	st := wantCode(t, err, codes.AlreadyExists)
	if strings.Contains(st.Message(), "own") {
		t.Errorf("duplicate-value error reveals the other key: %q", st.Message())
	}
	_, err = e.client.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: "apiKeys/own", Value: "another-secret-value-0123456789"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"value"}}})
	wantCode(t, err, codes.InvalidArgument)
	list := must[*adminv1.ListApiKeysResponse](t)(e.client.ListApiKeys(c, &adminv1.ListApiKeysRequest{}))
	for _, lk := range list.GetApiKeys() {
		if lk.GetValue() != "" {
			t.Errorf("List returned the value of %s", lk.GetName())
		}
	}
	// No record of any kind holds a secret in clear.
	e.stop()
	defer e.start()
	err = func() error {
		e.start()
		defer e.stop()
		return e.st.View(context.Background(), func(tx store.Tx) error {
			for _, kind := range []store.Kind{"apiKeys", "apiKeyHashes", "apiKeyHashOf", "usagePlanKeys"} {
				recs, err := tx.List(kind, "", "", 0)
				if err != nil {
					return err
				}
				for _, r := range recs {
					for _, secret := range []string{k.GetValue(), supplied} {
						if strings.Contains(r.Key, secret) || strings.Contains(string(r.Value), secret) {
							return fmt.Errorf("%s %s stores a key value in clear", kind, r.Key)
						}
					}
				}
			}
			if _, err := tx.Get("apiKeyHashes", apikey.Hash(supplied)); err != nil {
				return fmt.Errorf("hash index lacks the supplied key: %w", err)
			}
			return nil
		})
	}()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, stage := seedAPI(t, e)
	e.restart()
	for name, get := range map[string]func() error{
		api.GetName(): func() error { _, err := e.client.GetApi(c, &adminv1.GetApiRequest{Name: api.GetName()}); return err },
		dep.GetName(): func() error {
			_, err := e.client.GetDeployment(c, &adminv1.GetDeploymentRequest{Name: dep.GetName()})
			return err
		},
		stage.GetName(): func() error {
			_, err := e.client.GetStage(c, &adminv1.GetStageRequest{Name: stage.GetName()})
			return err
		},
	} {
		if err := get(); err != nil {
			t.Errorf("%s after restart: %v", name, err)
		}
	}
	got := must[*adminv1.Api](t)(e.client.GetApi(c, &adminv1.GetApiRequest{Name: api.GetName()}))
	if got.GetEtag() != api.GetEtag() {
		t.Errorf("etag changed across restart")
	}
}

func TestGetUsage(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	_, _, stage := seedAPI(t, e)
	plan := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: stage.GetName()}},
		Quota:     &adminv1.QuotaSettings{Limit: 100, Period: adminv1.QuotaSettings_PERIOD_DAY},
	}}))
	key := must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}))
	must[*adminv1.UsagePlanKey](t)(e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: plan.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))
	today := time.Now().UTC()
	err := e.st.Update(c, func(tx store.Tx) error {
		return tx.Put("usage", admin.UsageKey(plan.GetName(), "k", today), []byte("7"))
	})
	if err != nil {
		t.Fatal(err)
	}
	day := today.Format("2006-01-02")
	start := today.AddDate(0, 0, -2).Format("2006-01-02")
	u := must[*adminv1.GetUsageResponse](t)(e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: plan.GetName(), StartDate: start, EndDate: day}))
	if len(u.GetItems()) != 1 || len(u.GetItems()[0].GetDays()) != 3 || u.GetItems()[0].GetDays()[2].GetCalls() != 7 || u.GetItems()[0].GetRemainingQuota() != 93 {
		t.Fatalf("usage = %v", u)
	}
	// Without dates: the plan's current (daily) quota period, today.
	u = must[*adminv1.GetUsageResponse](t)(e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: plan.GetName()}))
	if u.GetStartDate() != day || u.GetEndDate() != day || len(u.GetItems()) != 1 || len(u.GetItems()[0].GetDays()) != 1 || u.GetItems()[0].GetDays()[0].GetCalls() != 7 {
		t.Fatalf("usage without dates = %v", u)
	}
	// Only a start date: up to today.
	u = must[*adminv1.GetUsageResponse](t)(e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: plan.GetName(), StartDate: start}))
	if u.GetStartDate() != start || u.GetEndDate() != day || len(u.GetItems()[0].GetDays()) != 3 {
		t.Fatalf("usage from %s = %v", start, u)
	}
	_, err = e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: plan.GetName(), StartDate: day, EndDate: start})
	wantCode(t, err, codes.InvalidArgument)
	// A start date after today without an end date: the end defaults to today.
	_, err = e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: plan.GetName(), StartDate: today.AddDate(0, 0, 3).Format("2006-01-02")})
	wantCode(t, err, codes.InvalidArgument)
	_, err = e.client.GetUsage(c, &adminv1.GetUsageRequest{UsagePlan: "usagePlans/none", StartDate: day, EndDate: day})
	wantCode(t, err, codes.NotFound)
}

func TestQuotaPeriod(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		q        *adminv1.QuotaSettings
		now      string
		from, to string
	}{
		{"day", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_DAY}, "2026-11-25T15:00:00Z", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"},
		{"week from monday", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_WEEK}, "2026-11-25T15:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"},
		{"week with offset ahead", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_WEEK, Offset: 4}, "2026-11-25T15:00:00Z", "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z"},
		{"month", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_MONTH}, "2026-11-25T15:00:00Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
		{"month with offset ahead", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_MONTH, Offset: 27}, "2026-11-25T15:00:00Z", "2026-10-28T00:00:00Z", "2026-11-28T00:00:00Z"},
		{"month across a year", &adminv1.QuotaSettings{Period: adminv1.QuotaSettings_PERIOD_MONTH, Offset: 9}, "2027-01-03T00:00:00Z", "2026-12-10T00:00:00Z", "2027-01-10T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := admin.QuotaPeriod(tt.q, at(tt.now))
			if !from.Equal(at(tt.from)) || !to.Equal(at(tt.to)) {
				t.Fatalf("period = [%v, %v), want [%s, %s)", from, to, tt.from, tt.to)
			}
		})
	}
}

func TestDeploymentReadsSchemaByReflection(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	b, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	api := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "refl", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_Reflection{Reflection: &adminv1.ReflectionSource{Target: b.Addr()}},
		DefaultIntegration: grpcIntegration(b.Addr()),
	}}))
	d := must[*adminv1.Deployment](t)(e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName()}))
	if len(d.GetSnapshot().GetApi().GetFileDescriptorSet()) == 0 {
		t.Fatalf("snapshot has no descriptors: %v", d.GetSnapshot().GetApi())
	}
	down := must[*adminv1.Api](t)(e.client.CreateApi(c, &adminv1.CreateApiRequest{ApiId: "down", Api: &adminv1.Api{
		DescriptorSource:   &adminv1.Api_Reflection{Reflection: &adminv1.ReflectionSource{Target: "127.0.0.1:1"}},
		DefaultIntegration: grpcIntegration("127.0.0.1:1"),
	}}))
	_, err = e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: down.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}

// TestFlushStageCache: a missing stage is NOT_FOUND; without a data plane
// there is no cache to flush. (server's tests flush a real one.)
func TestFlushStageCache(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, _, stage := seedAPI(t, e)
	_, err := e.client.FlushStageCache(c, &adminv1.FlushStageCacheRequest{Name: api.GetName() + "/stages/nope"})
	wantCode(t, err, codes.NotFound)
	_, err = e.client.FlushStageCache(c, &adminv1.FlushStageCacheRequest{Name: stage.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}

// ListApis leaves descriptor sets out unless asked (AIP-157 views); GetApi
// returns them unless asked not to.
func TestApiViews(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	seedAPI(t, e)
	fds := descriptorSet(t)
	for _, tt := range []struct {
		name string
		get  func() (*adminv1.Api, error)
		full bool
	}{
		{"list", func() (*adminv1.Api, error) {
			r, err := e.client.ListApis(c, &adminv1.ListApisRequest{})
			return r.GetApis()[0], err
		}, false},
		{"list full", func() (*adminv1.Api, error) {
			r, err := e.client.ListApis(c, &adminv1.ListApisRequest{View: adminv1.ApiView_API_VIEW_FULL})
			return r.GetApis()[0], err
		}, true},
		{"get", func() (*adminv1.Api, error) {
			return e.client.GetApi(c, &adminv1.GetApiRequest{Name: "apis/shop"})
		}, true},
		{"get basic", func() (*adminv1.Api, error) {
			return e.client.GetApi(c, &adminv1.GetApiRequest{Name: "apis/shop", View: adminv1.ApiView_API_VIEW_BASIC})
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := must[*adminv1.Api](t)(tt.get())
			if got := len(a.GetFileDescriptorSet()) == len(fds); got != tt.full {
				t.Errorf("descriptor set of %d bytes returned, want full = %v", len(a.GetFileDescriptorSet()), tt.full)
			}
			if a.GetDisplayName() != "Shop" || a.GetDefaultIntegration() == nil {
				t.Errorf("api = %v, want every other field", a)
			}
		})
	}
}

// Usage plan memberships are indexed by key: a key's plans are found, kept
// and removed with the memberships, and a plan update checks only the
// stages it newly covers.
func TestUsagePlanKeyIndex(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, prod := seedAPI(t, e)
	beta := must[*adminv1.Stage](t)(e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "beta", Stage: &adminv1.Stage{Deployment: dep.GetName()}}))
	gold := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: prod.GetName()}}}}))
	silver := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "silver", UsagePlan: &adminv1.UsagePlan{ApiStages: []*adminv1.ApiStage{{Stage: beta.GetName()}}}}))
	key := must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}))
	for _, p := range []*adminv1.UsagePlan{gold, silver} {
		must[*adminv1.UsagePlanKey](t)(e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: p.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))
	}
	covers := func(stages ...*adminv1.Stage) *adminv1.UpdateUsagePlanRequest {
		p := &adminv1.UsagePlan{Name: silver.GetName()}
		for _, s := range stages {
			p.ApiStages = append(p.ApiStages, &adminv1.ApiStage{Stage: s.GetName()})
		}
		return &adminv1.UpdateUsagePlanRequest{UsagePlan: p, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_stages"}}}
	}
	// silver may not cover prod too while k is in both plans...
	_, err := e.client.UpdateUsagePlan(c, covers(beta, prod))
	if st := wantCode(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), key.GetName()) {
		t.Errorf("refusal %q does not name the key", st.Message())
	}
	// ...an update that adds no stage needs no check...
	must[*adminv1.UsagePlan](t)(e.client.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{
		UsagePlan: &adminv1.UsagePlan{Name: silver.GetName(), Description: "renamed"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}}))
	// ...and once k leaves gold, silver may.
	must[*emptypb.Empty](t)(e.client.DeleteUsagePlanKey(c, &adminv1.DeleteUsagePlanKeyRequest{Name: gold.GetName() + "/keys/k"}))
	must[*adminv1.UsagePlan](t)(e.client.UpdateUsagePlan(c, covers(beta, prod)))

	// The index follows the memberships: k is in silver only, then nowhere.
	plansOf := func() []string {
		t.Helper()
		var out []string
		err := e.st.View(c, func(tx store.Tx) error {
			recs, err := tx.List(store.APIKeyPlansKind, "", "", 0)
			for _, r := range recs {
				out = append(out, r.Key)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := plansOf(); !slices.Equal(got, []string{"apiKeys/k|usagePlans/silver"}) {
		t.Errorf("index = %v, want k in silver only", got)
	}
	must[*emptypb.Empty](t)(e.client.DeleteApiKey(c, &adminv1.DeleteApiKeyRequest{Name: key.GetName()}))
	if got := plansOf(); len(got) != 0 {
		t.Errorf("index after deleting the key = %v, want empty", got)
	}
	// A new key of the same ID starts in no plan, and deleting a plan drops
	// its memberships' index entries.
	key = must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}))
	must[*adminv1.UsagePlanKey](t)(e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: gold.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}}))
	must[*emptypb.Empty](t)(e.client.DeleteUsagePlan(c, &adminv1.DeleteUsagePlanRequest{Name: gold.GetName()}))
	if got := plansOf(); len(got) != 0 {
		t.Errorf("index after deleting the plan = %v, want empty", got)
	}
}

// TestFlushStageAuthorizersCache: a missing stage is NOT_FOUND; without a
// data plane there are no authorizer caches to flush. (server's tests
// flush real ones.)
func TestFlushStageAuthorizersCache(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, _, stage := seedAPI(t, e)
	_, err := e.client.FlushStageAuthorizersCache(c, &adminv1.FlushStageAuthorizersCacheRequest{Name: api.GetName() + "/stages/nope"})
	wantCode(t, err, codes.NotFound)
	_, err = e.client.FlushStageAuthorizersCache(c, &adminv1.FlushStageAuthorizersCacheRequest{Name: stage.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}
