package ippolicy_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/interceptors/ippolicy"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
)

func TestUnaryServerInterceptor(t *testing.T) {
	office, err := ipacl.Compile([]string{"192.0.2.0/24", "2001:db8::/32"}, []string{"192.0.2.66"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		call   *callinfo.Call
		denied bool
	}{
		{"outside the data plane", nil, false},
		{"no policy", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{}, Request: callinfo.Request{SourceIP: "198.51.100.1"}}, false},
		{"admitted v4", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{IPPolicy: ipacl.Policy{office}}, Request: callinfo.Request{SourceIP: "192.0.2.10"}}, false},
		{"admitted v6", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{IPPolicy: ipacl.Policy{office}}, Request: callinfo.Request{SourceIP: "2001:db8::1"}}, false},
		{"denied entry", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{IPPolicy: ipacl.Policy{office}}, Request: callinfo.Request{SourceIP: "192.0.2.66"}}, true},
		{"not in allow list", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{IPPolicy: ipacl.Policy{office}}, Request: callinfo.Request{SourceIP: "198.51.100.1"}}, true},
		{"no address", &callinfo.Call{RouteFacts: &callinfo.RouteFacts{IPPolicy: ipacl.Policy{office}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.call != nil {
				ctx = callinfo.NewContext(ctx, tc.call)
			}
			called := false
			_, err := ippolicy.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{}, func(context.Context, any) (any, error) {
				called = true
				return nil, nil
			})
			if !tc.denied {
				if err != nil || !called {
					t.Fatalf("err = %v, handler called = %v; want the call through", err, called)
				}
				return
			}
			if called || status.Code(err) != codes.PermissionDenied || gatewayerr.Reason(err) != gatewayerr.ReasonIPDenied {
				t.Fatalf("err = %v, handler called = %v; want PERMISSION_DENIED IP_DENIED", err, called)
			}
		})
	}
}
