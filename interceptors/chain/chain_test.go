package chain_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/interceptors/chain"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

func pass(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, ss)
}

func TestBuild(t *testing.T) {
	authz := chain.Step{Name: "authorizer", Interceptor: pass, Provides: []callinfo.Fact{callinfo.FactPrincipal, callinfo.FactUsageIdentifierKey}}
	key := chain.Step{Name: "API key", Interceptor: pass, Needs: []callinfo.Fact{callinfo.FactUsageIdentifierKey}, Provides: []callinfo.Fact{callinfo.FactAPIKey}}
	plan := chain.Step{Name: "plan throttle", Interceptor: pass, Needs: []callinfo.Fact{callinfo.FactAPIKey}}
	for _, tt := range []struct {
		name    string
		steps   []chain.Step
		wantErr string
	}{
		{"in order", []chain.Step{authz, key, plan}, ""},
		{"plan throttle before the key", []chain.Step{authz, plan, key}, "plan throttle needs the API key, which API key provides after it"},
		{"key before the authorizer", []chain.Step{key, authz, plan}, "API key needs the usage identifier key, which authorizer provides after it"},
		{"no provider", []chain.Step{plan}, "plan throttle needs the API key, which no step provides"},
		{"no interceptor", []chain.Step{{Name: "empty"}}, `step "empty" has no interceptor`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ics, err := chain.Build(tt.steps...)
			if tt.wantErr == "" {
				if err != nil || len(ics) != len(tt.steps) {
					t.Fatalf("Build = %d interceptors, %v", len(ics), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Build error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
