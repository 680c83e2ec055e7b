package admin_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// TestCRUD runs the standard methods of every resource type over gRPC.
func TestCRUD(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	api, dep, stage := seedAPI(t, e)
	key := must[*adminv1.ApiKey](t)(e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKeyId: "acme", ApiKey: &adminv1.ApiKey{DisplayName: "Acme"}}))
	plan := must[*adminv1.UsagePlan](t)(e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "gold", UsagePlan: &adminv1.UsagePlan{
		ApiStages: []*adminv1.ApiStage{{Stage: stage.GetName()}},
	}}))

	type resource interface {
		proto.Message
		GetName() string
	}
	tests := []struct {
		name   string
		create func() (resource, error)
		get    func(name string) (resource, error)
		list   func() (int, error)
		update func(r resource) (resource, error) // nil: immutable
		check  func(r resource) string            // what update changed, "" if fine
		delete func(r resource) error
	}{
		{
			name: "route",
			create: func() (resource, error) {
				return e.client.CreateRoute(c, &adminv1.CreateRouteRequest{Parent: api.GetName(), RouteId: "get-book", Route: &adminv1.Route{
					Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/GetBook"},
				}})
			},
			get: func(n string) (resource, error) { return e.client.GetRoute(c, &adminv1.GetRouteRequest{Name: n}) },
			list: func() (int, error) {
				r, err := e.client.ListRoutes(c, &adminv1.ListRoutesRequest{Parent: api.GetName()})
				return len(r.GetRoutes()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateRoute(c, &adminv1.UpdateRouteRequest{Route: &adminv1.Route{Name: r.GetName(), ApiKeyRequired: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"api_key_required"}}})
			},
			check: func(r resource) string {
				rt := r.(*adminv1.Route)
				if !rt.GetApiKeyRequired() || rt.GetGrpcMethod() == "" || rt.GetTimeout().AsDuration().Seconds() != 29 {
					return fmt.Sprintf("route after update: %v", rt)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteRoute(c, &adminv1.DeleteRouteRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "authorizer",
			create: func() (resource, error) {
				return e.client.CreateAuthorizer(c, &adminv1.CreateAuthorizerRequest{Parent: api.GetName(), AuthorizerId: "jwt", Authorizer: &adminv1.Authorizer{
					Type: &adminv1.Authorizer_Jwt{Jwt: &adminv1.JwtAuthorizer{Issuer: "https://issuer.example", Audiences: []string{"shop"}, Keys: &adminv1.JwtAuthorizer_JwksUri{JwksUri: "https://issuer.example/.well-known/jwks.json"}}},
				}})
			},
			get: func(n string) (resource, error) {
				return e.client.GetAuthorizer(c, &adminv1.GetAuthorizerRequest{Name: n})
			},
			list: func() (int, error) {
				r, err := e.client.ListAuthorizers(c, &adminv1.ListAuthorizersRequest{Parent: api.GetName()})
				return len(r.GetAuthorizers()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateAuthorizer(c, &adminv1.UpdateAuthorizerRequest{Authorizer: &adminv1.Authorizer{Name: r.GetName(), DisplayName: "JWT"}})
			},
			check: func(r resource) string {
				a := r.(*adminv1.Authorizer)
				if a.GetDisplayName() != "JWT" || a.GetJwt().GetIssuer() == "" || a.GetJwt().GetIdentitySources()[0] != "$request.header.Authorization" {
					return fmt.Sprintf("authorizer after update: %v", a)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteAuthorizer(c, &adminv1.DeleteAuthorizerRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "deployment",
			create: func() (resource, error) {
				return e.client.CreateDeployment(c, &adminv1.CreateDeploymentRequest{Parent: api.GetName(), Deployment: &adminv1.Deployment{Description: "second"}})
			},
			get: func(n string) (resource, error) {
				return e.client.GetDeployment(c, &adminv1.GetDeploymentRequest{Name: n})
			},
			list: func() (int, error) {
				r, err := e.client.ListDeployments(c, &adminv1.ListDeploymentsRequest{Parent: api.GetName()})
				return len(r.GetDeployments()), err
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteDeployment(c, &adminv1.DeleteDeploymentRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "stage",
			create: func() (resource, error) {
				return e.client.CreateStage(c, &adminv1.CreateStageRequest{Parent: api.GetName(), StageId: "beta", Stage: &adminv1.Stage{Deployment: dep.GetName(), Variables: map[string]string{"host": "a"}}})
			},
			get: func(n string) (resource, error) { return e.client.GetStage(c, &adminv1.GetStageRequest{Name: n}) },
			list: func() (int, error) {
				r, err := e.client.ListStages(c, &adminv1.ListStagesRequest{Parent: api.GetName()})
				return len(r.GetStages()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateStage(c, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: r.GetName(), DefaultThrottle: &adminv1.ThrottleSettings{RateLimit: 100, BurstLimit: 50}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"default_throttle"}}})
			},
			check: func(r resource) string {
				s := r.(*adminv1.Stage)
				if s.GetDefaultThrottle().GetBurstLimit() != 50 || s.GetVariables()["host"] != "a" {
					return fmt.Sprintf("stage after update: %v", s)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteStage(c, &adminv1.DeleteStageRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "api key",
			create: func() (resource, error) {
				return e.client.CreateApiKey(c, &adminv1.CreateApiKeyRequest{ApiKey: &adminv1.ApiKey{DisplayName: "Bob", CustomerId: "cust-7"}})
			},
			get: func(n string) (resource, error) { return e.client.GetApiKey(c, &adminv1.GetApiKeyRequest{Name: n}) },
			list: func() (int, error) {
				r, err := e.client.ListApiKeys(c, &adminv1.ListApiKeysRequest{})
				return len(r.GetApiKeys()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateApiKey(c, &adminv1.UpdateApiKeyRequest{ApiKey: &adminv1.ApiKey{Name: r.GetName(), Enabled: proto.Bool(false)}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}})
			},
			check: func(r resource) string {
				k := r.(*adminv1.ApiKey)
				if k.GetEnabled() || k.GetCustomerId() != "cust-7" || k.GetValue() != "" {
					return fmt.Sprintf("key after update: %v", k)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteApiKey(c, &adminv1.DeleteApiKeyRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "usage plan",
			create: func() (resource, error) {
				return e.client.CreateUsagePlan(c, &adminv1.CreateUsagePlanRequest{UsagePlanId: "free", UsagePlan: &adminv1.UsagePlan{
					Quota: &adminv1.QuotaSettings{Limit: 1000, Period: adminv1.QuotaSettings_PERIOD_MONTH},
				}})
			},
			get: func(n string) (resource, error) {
				return e.client.GetUsagePlan(c, &adminv1.GetUsagePlanRequest{Name: n})
			},
			list: func() (int, error) {
				r, err := e.client.ListUsagePlans(c, &adminv1.ListUsagePlansRequest{})
				return len(r.GetUsagePlans()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateUsagePlan(c, &adminv1.UpdateUsagePlanRequest{UsagePlan: &adminv1.UsagePlan{Name: r.GetName(), Quota: &adminv1.QuotaSettings{Limit: 5}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"quota.limit"}}})
			},
			check: func(r resource) string {
				p := r.(*adminv1.UsagePlan)
				if p.GetQuota().GetLimit() != 5 || p.GetQuota().GetPeriod() != adminv1.QuotaSettings_PERIOD_MONTH {
					return fmt.Sprintf("plan after update: %v", p)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteUsagePlan(c, &adminv1.DeleteUsagePlanRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "domain mapping",
			create: func() (resource, error) {
				return e.client.CreateDomainMapping(c, &adminv1.CreateDomainMappingRequest{DomainMappingId: "shop", DomainMapping: &adminv1.DomainMapping{Domain: "api.example.com", BasePath: "/shop", Stage: stage.GetName()}})
			},
			get: func(n string) (resource, error) {
				return e.client.GetDomainMapping(c, &adminv1.GetDomainMappingRequest{Name: n})
			},
			list: func() (int, error) {
				r, err := e.client.ListDomainMappings(c, &adminv1.ListDomainMappingsRequest{})
				return len(r.GetDomainMappings()), err
			},
			update: func(r resource) (resource, error) {
				return e.client.UpdateDomainMapping(c, &adminv1.UpdateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{Name: r.GetName(), BasePath: "/v2"}})
			},
			check: func(r resource) string {
				m := r.(*adminv1.DomainMapping)
				if m.GetBasePath() != "/v2" || m.GetDomain() != "api.example.com" {
					return fmt.Sprintf("mapping after update: %v", m)
				}
				return ""
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteDomainMapping(c, &adminv1.DeleteDomainMappingRequest{Name: r.GetName()})
				return err
			},
		},
		{
			name: "usage plan key",
			create: func() (resource, error) {
				return e.client.CreateUsagePlanKey(c, &adminv1.CreateUsagePlanKeyRequest{Parent: plan.GetName(), UsagePlanKey: &adminv1.UsagePlanKey{ApiKey: key.GetName()}})
			},
			get: func(n string) (resource, error) {
				return e.client.GetUsagePlanKey(c, &adminv1.GetUsagePlanKeyRequest{Name: n})
			},
			list: func() (int, error) {
				r, err := e.client.ListUsagePlanKeys(c, &adminv1.ListUsagePlanKeysRequest{Parent: plan.GetName()})
				return len(r.GetUsagePlanKeys()), err
			},
			delete: func(r resource) error {
				_, err := e.client.DeleteUsagePlanKey(c, &adminv1.DeleteUsagePlanKeyRequest{Name: r.GetName()})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created, err := tt.create()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.GetName() == "" {
				t.Fatal("create returned no name")
			}
			_, err = tt.create()
			if tt.name != "deployment" && tt.name != "api key" {
				wantCode(t, err, codes.AlreadyExists)
			}
			got, err := tt.get(created.GetName())
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if k, ok := created.(*adminv1.ApiKey); ok {
				if k.GetValue() == "" || got.(*adminv1.ApiKey).GetValue() != "" {
					t.Fatalf("the key value must appear in the create response only: create %q, get %q", k.GetValue(), got.(*adminv1.ApiKey).GetValue())
				}
				created = proto.Clone(created).(resource)
				created.(*adminv1.ApiKey).Value = ""
			}
			if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
				t.Errorf("get differs from create (-create +get):\n%s", diff)
			}
			if n, err := tt.list(); err != nil || n == 0 {
				t.Fatalf("list: %d items, %v", n, err)
			}
			if tt.update != nil {
				updated, err := tt.update(got)
				if err != nil {
					t.Fatalf("update: %v", err)
				}
				if msg := tt.check(updated); msg != "" {
					t.Error(msg)
				}
				again, err := tt.get(created.GetName())
				if err != nil {
					t.Fatalf("get after update: %v", err)
				}
				if diff := cmp.Diff(updated, again, protocmp.Transform()); diff != "" {
					t.Errorf("get differs from update response (-update +get):\n%s", diff)
				}
			}
			if err := tt.delete(got); err != nil {
				t.Fatalf("delete: %v", err)
			}
			_, err = tt.get(created.GetName())
			wantCode(t, err, codes.NotFound)
			wantCode(t, tt.delete(got), codes.NotFound)
		})
	}
}

// TestAccountSettings covers the singleton's defaults and update.
func TestAccountSettings(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	s := must[*adminv1.AccountSettings](t)(e.client.GetAccountSettings(c, &adminv1.GetAccountSettingsRequest{Name: "settings"}))
	if s.GetThrottle().GetRateLimit() != 10000 || s.GetThrottle().GetBurstLimit() != 5000 || s.GetEtag() == "" {
		t.Fatalf("defaults = %v", s)
	}
	u := must[*adminv1.AccountSettings](t)(e.client.UpdateAccountSettings(c, &adminv1.UpdateAccountSettingsRequest{
		AccountSettings: &adminv1.AccountSettings{Name: "settings", Etag: s.GetEtag(), Throttle: &adminv1.ThrottleSettings{RateLimit: 5, BurstLimit: 10}},
	}))
	if u.GetThrottle().GetRateLimit() != 5 || u.GetEtag() == s.GetEtag() || u.GetUpdateTime() == nil {
		t.Fatalf("updated = %v", u)
	}
	_, err := e.client.UpdateAccountSettings(c, &adminv1.UpdateAccountSettingsRequest{
		AccountSettings: &adminv1.AccountSettings{Name: "settings", Etag: s.GetEtag(), Throttle: &adminv1.ThrottleSettings{RateLimit: 6, BurstLimit: 10}},
	})
	wantCode(t, err, codes.Aborted)
	_, err = e.client.UpdateAccountSettings(c, &adminv1.UpdateAccountSettingsRequest{
		AccountSettings: &adminv1.AccountSettings{Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: -1}},
	})
	wantCode(t, err, codes.InvalidArgument)
	_, err = e.client.GetAccountSettings(c, &adminv1.GetAccountSettingsRequest{Name: "other"})
	wantCode(t, err, codes.InvalidArgument)
}
