package audit

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

func TestResourceOf(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req, resp any
		want      string
	}{
		{"created resource", &adminv1.CreateApiKeyRequest{ApiKeyId: "k"}, &adminv1.ApiKey{Name: "apiKeys/k", Value: "secret-value"}, "apiKeys/k"},
		{"delete", &adminv1.DeleteApiRequest{Name: "apis/a"}, &emptypb.Empty{}, "apis/a"},
		{"update, failed", &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/a/stages/s"}}, nil, "apis/a/stages/s"},
		{"create, failed", &adminv1.CreateRouteRequest{Parent: "apis/a", RouteId: "r"}, nil, "apis/a/r"},
		{"create without parent, failed", &adminv1.CreateApiRequest{ApiId: "a"}, nil, "a"},
		{"custom method", &adminv1.FlushStageCacheRequest{Name: "apis/a/stages/s"}, &emptypb.Empty{}, "apis/a/stages/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resourceOf(tc.req, tc.resp); got != tc.want {
				t.Fatalf("resourceOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUpdateMask(t *testing.T) {
	if m := updateMask(&adminv1.UpdateApiKeyRequest{UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description", "enabled"}}}); len(m.GetPaths()) != 2 {
		t.Fatalf("updateMask = %v", m)
	}
	if m := updateMask(&adminv1.DeleteApiRequest{Name: "apis/a"}); m != nil {
		t.Fatalf("updateMask of a delete = %v", m)
	}
}

// bufAddr stands for bufconn's address, the in-memory REST connection.
type bufAddr struct{}

func (bufAddr) Network() string { return "bufconn" }
func (bufAddr) String() string  { return "bufconn" }

func TestClientIP(t *testing.T) {
	tcp := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5000}})
	if got := clientIP(tcp); got != "192.0.2.1" {
		t.Errorf("gRPC peer: %q", got)
	}
	// REST: grpc-gateway appends the HTTP client to what the client sent.
	rest := metadata.NewIncomingContext(peer.NewContext(context.Background(), &peer.Peer{Addr: bufAddr{}}),
		metadata.Pairs("x-forwarded-for", "203.0.113.66, 198.51.100.2"))
	if got := clientIP(rest); got != "198.51.100.2" {
		t.Errorf("REST via bufconn: %q, want the right-most entry", got)
	}
}
