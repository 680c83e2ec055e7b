package adminauth_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/adminauth"
)

// lookupFunc adapts a function to adminauth.TokenLookup.
type lookupFunc func(ctx context.Context, hash string) (*adminv1.AdminToken, error)

func (f lookupFunc) LookupAdminToken(ctx context.Context, hash string) (*adminv1.AdminToken, error) {
	return f(ctx, hash)
}

// TestNamedTokens: named tokens authenticate by their hash until they
// expire, and their role decides which methods they may call.
func TestNamedTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const viewerValue, expiredValue = adminauth.TokenPrefix + "viewer-token-value", adminauth.TokenPrefix + "expired-token-value"
	tokens := map[string]*adminv1.AdminToken{
		adminauth.HashToken(viewerValue):  {Name: "adminTokens/v", Role: adminv1.AdminToken_ROLE_VIEWER, ExpireTime: timestamppb.New(now.Add(time.Hour))},
		adminauth.HashToken(expiredValue): {Name: "adminTokens/old", Role: adminv1.AdminToken_ROLE_ADMIN, ExpireTime: timestamppb.New(now)},
	}
	auth, err := adminauth.New(testToken, adminauth.WithClock(func() time.Time { return now }),
		adminauth.WithTokens(lookupFunc(func(_ context.Context, hash string) (*adminv1.AdminToken, error) { return tokens[hash], nil })))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, method string
		want                codes.Code
		principal           string
	}{
		{"bootstrap is admin", testToken, "/tollgate.admin.v1.AdminService/CreateAdminToken", codes.OK, adminauth.Bootstrap},
		{"viewer reads", viewerValue, "/tollgate.admin.v1.AdminService/ListApis", codes.OK, "adminTokens/v"},
		{"viewer may not write", viewerValue, "/tollgate.admin.v1.AdminService/UpdateStage", codes.PermissionDenied, ""},
		{"viewer may not read tokens", viewerValue, "/tollgate.admin.v1.AdminService/ListAdminTokens", codes.PermissionDenied, ""},
		{"viewer may reflect", viewerValue, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", codes.OK, "adminTokens/v"},
		{"unlisted method is admin only", viewerValue, "/tollgate.admin.v1.AdminService/SomethingNew", codes.PermissionDenied, ""},
		{"expired", expiredValue, "/tollgate.admin.v1.AdminService/ListApis", codes.Unauthenticated, ""},
		{"unknown", adminauth.TokenPrefix + "unknown-token-value", "/tollgate.admin.v1.AdminService/ListApis", codes.Unauthenticated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tc.token))
			var got *adminauth.Principal
			_, err := auth.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tc.method}, func(ctx context.Context, _ any) (any, error) {
				got = adminauth.FromContext(ctx)
				return nil, nil
			})
			if status.Code(err) != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == codes.OK && (got == nil || got.Name != tc.principal) {
				t.Fatalf("principal = %+v, want %s", got, tc.principal)
			}
		})
	}
}
