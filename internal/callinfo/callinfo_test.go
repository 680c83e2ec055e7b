package callinfo_test

import (
	"context"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

func TestResource(t *testing.T) {
	tests := []struct {
		name string
		call callinfo.Call
		want string
	}{
		{"gRPC", callinfo.Call{RouteFacts: &callinfo.RouteFacts{API: "apis/shop", Stage: "apis/shop/stages/prod"}, Request: callinfo.Request{Protocol: callinfo.GRPC, FullMethod: "/shop.v1.Pets/Get"}}, "shop/prod/GRPC/shop.v1.Pets/Get"},
		{"REST keeps the escaped path", callinfo.Call{RouteFacts: &callinfo.RouteFacts{API: "apis/shop", Stage: "apis/shop/stages/prod"}, Request: callinfo.Request{Protocol: callinfo.REST, HTTPMethod: "GET", HTTPPath: "/v1/pets/a%2Fb"}}, "shop/prod/GET/v1/pets/a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.call.Resource(); got != tt.want {
				t.Fatalf("Resource() = %q, want %q", got, tt.want)
			}
		})
	}
	if callinfo.FromContext(context.Background()) != nil {
		t.Fatal("a call outside the data plane")
	}
	c := &callinfo.Call{RouteFacts: &callinfo.RouteFacts{}}
	if callinfo.FromContext(callinfo.NewContext(context.Background(), c)) != c {
		t.Fatal("NewContext/FromContext round trip")
	}
	var nilCall *callinfo.Call
	if nilCall.GetRouteAuthorization() != nil {
		t.Fatal("nil call has an authorization")
	}
}
