package cache

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// TestWithAdminToken: the admin token grants the refresh permission when
// sent once, as gRPC metadata or as a REST call's HTTP header, and only
// where the protocol keeps it.
func TestWithAdminToken(t *testing.T) {
	var o options
	WithAdminToken(func(token string) bool { return token == "admin-secret" })(&o)
	grpcCall := &callinfo.Call{Request: callinfo.Request{Protocol: callinfo.GRPC}}
	restCall := func(h http.Header) *callinfo.Call {
		return &callinfo.Call{Request: callinfo.Request{Protocol: callinfo.REST, Header: h}}
	}
	for _, tt := range []struct {
		name string
		md   metadata.MD
		call *callinfo.Call
		want bool
	}{
		{"gRPC token", metadata.Pairs(AdminTokenHeader, "admin-secret"), grpcCall, true},
		{"gRPC wrong token", metadata.Pairs(AdminTokenHeader, "guess"), grpcCall, false},
		{"gRPC token twice", metadata.Pairs(AdminTokenHeader, "admin-secret", AdminTokenHeader, "admin-secret"), grpcCall, false},
		{"gRPC none", nil, grpcCall, false},
		{"REST header", nil, restCall(http.Header{"X-Tollgate-Admin-Token": {"admin-secret"}}), true},
		{"REST ignores metadata", metadata.Pairs(AdminTokenHeader, "admin-secret"), restCall(nil), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), tt.md)
			if got := o.admin(ctx, tt.call); got != tt.want {
				t.Fatalf("permission = %v, want %v", got, tt.want)
			}
		})
	}
}
