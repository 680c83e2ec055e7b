package callinfo_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc/metadata"

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

// TestContext checks that a Context answers for the call record and its
// own key, passes every other key, the deadline and the cancellation to
// its parent, and that a context derived from it is cancelled with the
// parent.
func TestContext(t *testing.T) {
	type key struct{}
	type other struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), other{}, "parent's"))
	outer := &callinfo.Call{}
	parent = callinfo.NewContext(parent, outer)
	call := &callinfo.Call{}
	var c callinfo.Context
	ctx := c.Init(parent, call, key{}, "route")
	for _, tt := range []struct {
		name string
		key  any
		want any
	}{
		{"call record", nil, call},
		{"own key", key{}, "route"},
		{"parent's key", other{}, "parent's"},
		{"unknown key", "missing", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			if tt.key == nil {
				got = callinfo.FromContext(ctx)
			} else {
				got = ctx.Value(tt.key)
			}
			if got != tt.want {
				t.Fatalf("value = %v, want %v", got, tt.want)
			}
		})
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	cancel()
	<-child.Done()
	if ctx.Err() != context.Canceled || child.Err() != context.Canceled {
		t.Fatalf("after the parent's cancel: Err = %v, child's %v", ctx.Err(), child.Err())
	}
}

// TestBackendMetadata checks what a backend call carries: the principal,
// the authorizer's context (keys that cannot be metadata keys left out),
// the trace and forwarding entries, and extra pairs whose value is not
// empty; nil when there is nothing; and that appending to one entry does
// not change another (single values share one backing array).
func TestBackendMetadata(t *testing.T) {
	for _, tt := range []struct {
		name  string
		call  callinfo.Call
		extra []string
		want  metadata.MD
	}{
		{"nothing", callinfo.Call{}, nil, nil},
		{"empty extra value", callinfo.Call{}, []string{"x-request-id", ""}, nil},
		{"extra only", callinfo.Call{}, []string{"x-request-id", "r1"}, metadata.MD{"x-request-id": {"r1"}}},
		{"all", callinfo.Call{
			AuthResult:    callinfo.AuthResult{Principal: "alice", AuthorizerContext: map[string]string{"Tier": "gold", "bad key": "x", "b-bin": "y"}},
			TraceMetadata: []callinfo.MetadataEntry{{Key: "traceparent", Values: []string{"00-a-b-01"}}, {Key: "tracestate"}},
			Request:       callinfo.Request{Forwarded: metadata.MD{"x-real-ip": {"10.0.0.1"}}},
		}, []string{"x-request-id", "r1", "x-other", ""}, metadata.MD{
			"x-tollgate-principal": {"alice"}, "x-tollgate-ctx-tier": {"gold"},
			"traceparent": {"00-a-b-01"}, "tracestate": nil, "x-real-ip": {"10.0.0.1"}, "x-request-id": {"r1"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.call.BackendMetadata(tt.extra...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("BackendMetadata (-want +got):\n%s", diff)
			}
			for k := range got {
				got[k] = append(got[k], "appended")
			}
			for k, vs := range tt.want {
				if g := got[k]; len(g) != len(vs)+1 || (len(vs) > 0 && g[0] != vs[0]) {
					t.Fatalf("after appends, %s = %q, want %q and the appended value", k, g, vs)
				}
			}
		})
	}
}

// TestBackendParts checks that BackendParts holds BackendMetadata's
// entries, merged as the frame relay merges them (maps, then pairs, each
// replacing the earlier ones' keys; a key repeated in pairs keeps every
// value), and that its pairs are appended to what the caller passes.
func TestBackendParts(t *testing.T) {
	cert := &callinfo.ClientCert{Subject: "CN=a", Issuer: "CN=ca", SANs: []string{"a", "b"}, Serial: "1f", Fingerprint: "ab"}
	for _, tt := range []struct {
		name  string
		call  callinfo.Call
		extra []string
	}{
		{"nothing", callinfo.Call{}, nil},
		{"empty extra value", callinfo.Call{}, []string{"x-request-id", ""}},
		{"extra only", callinfo.Call{}, []string{"x-request-id", "r1"}},
		{"forwarded and request ID", callinfo.Call{Request: callinfo.Request{Forwarded: metadata.MD{
			"x-forwarded-for": {"10.0.0.1"}, "x-forwarded-host": {"h"}, "x-forwarded-proto": {"http"}, "forwarded": {"for=10.0.0.1"}, "x-real-ip": {"10.0.0.1"},
		}}}, []string{"x-request-id", "r1"}},
		{"trace context without a removal", callinfo.Call{
			TraceMetadata: []callinfo.MetadataEntry{{Key: "traceparent", Values: []string{"00-a-b-00"}}, {Key: "baggage", Values: []string{"k=v"}}},
		}, []string{"x-request-id", "r1"}},
		{"all", callinfo.Call{
			AuthResult:    callinfo.AuthResult{Principal: "alice", AuthorizerContext: map[string]string{"Tier": "gold", "tier": "silver", "bad key": "x", "b-bin": "y"}},
			TraceMetadata: []callinfo.MetadataEntry{{Key: "traceparent", Values: []string{"00-a-b-01"}}, {Key: "tracestate"}},
			Request:       callinfo.Request{Forwarded: metadata.MD{"x-real-ip": {"10.0.0.1"}}, ClientCert: cert},
		}, []string{"x-request-id", "r1", "x-other", ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.call.BackendMetadata(tt.extra...)
			maps, pairs := tt.call.BackendParts([]string{"before", "kept"}, tt.extra...)
			if len(pairs) < 2 || pairs[0] != "before" || pairs[1] != "kept" {
				t.Fatalf("pairs = %q, want them appended to the caller's", pairs)
			}
			got := metadata.MD{}
			for _, m := range maps {
				for k, vs := range m {
					got[k] = vs
				}
			}
			seen := map[string]bool{}
			for i := 2; i+1 < len(pairs); i += 2 {
				k := pairs[i]
				if !seen[k] {
					seen[k], got[k] = true, nil
				}
				got[k] = append(got[k], pairs[i+1])
			}
			if len(got) == 0 {
				got = nil
			}
			sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
			if diff := cmp.Diff(want, got, sorted); diff != "" {
				t.Fatalf("BackendParts merged (-BackendMetadata +parts):\n%s", diff)
			}
		})
	}
}
