package adminauth_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/server/adminauth"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

const testToken = "tga_0123456789abcdefghijklmnop"

const (
	adminMethod  = "/tollgate.admin.v1.AdminService/ListApis"
	healthMethod = "/grpc.health.v1.Health/Check"
	reflMethod   = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
)

type authCase struct {
	name     string
	method   string
	md       metadata.MD // nil: no incoming metadata at all
	wantCode codes.Code
	wantMsg  string
}

func authCases() []authCase {
	const (
		missing = `missing admin token: send "authorization: Bearer <token>"`
		invalid = "invalid admin token"
	)
	return []authCase{
		{name: "right token", method: adminMethod, md: metadata.Pairs("authorization", "Bearer "+testToken), wantCode: codes.OK},
		{name: "scheme is case-insensitive", method: adminMethod, md: metadata.Pairs("authorization", "bEaReR "+testToken), wantCode: codes.OK},
		{name: "extra spaces tolerated", method: adminMethod, md: metadata.Pairs("authorization", "  Bearer   "+testToken+" "), wantCode: codes.OK},
		{name: "first value counts", method: adminMethod, md: metadata.Pairs("authorization", "Bearer "+testToken, "authorization", "Bearer nope"), wantCode: codes.OK},
		{name: "no metadata", method: adminMethod, md: nil, wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "no authorization key", method: adminMethod, md: metadata.Pairs("x-api-key", testToken), wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "empty value", method: adminMethod, md: metadata.Pairs("authorization", ""), wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "scheme without token", method: adminMethod, md: metadata.Pairs("authorization", "Bearer "), wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "token without scheme", method: adminMethod, md: metadata.Pairs("authorization", testToken), wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "basic scheme", method: adminMethod, md: metadata.Pairs("authorization", "Basic "+testToken), wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "wrong token", method: adminMethod, md: metadata.Pairs("authorization", "Bearer tga_wrongwrongwrongwrong"), wantCode: codes.Unauthenticated, wantMsg: invalid},
		{name: "token prefix only", method: adminMethod, md: metadata.Pairs("authorization", "Bearer "+testToken[:20]), wantCode: codes.Unauthenticated, wantMsg: invalid},
		{name: "token with suffix", method: adminMethod, md: metadata.Pairs("authorization", "Bearer "+testToken+"x"), wantCode: codes.Unauthenticated, wantMsg: invalid},
		{name: "first value wrong", method: adminMethod, md: metadata.Pairs("authorization", "Bearer nope-nope-nope-nope", "authorization", "Bearer "+testToken), wantCode: codes.Unauthenticated, wantMsg: invalid},
		{name: "health exempt without token", method: healthMethod, md: nil, wantCode: codes.OK},
		{name: "health watch exempt", method: "/grpc.health.v1.Health/Watch", md: metadata.Pairs("authorization", "Bearer wrong"), wantCode: codes.OK},
		{name: "reflection needs token", method: reflMethod, md: nil, wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "reflection with token", method: reflMethod, md: metadata.Pairs("authorization", "Bearer "+testToken), wantCode: codes.OK},
		{name: "look-alike health service is not exempt", method: "/grpc.health.v1.HealthX/Check", md: nil, wantCode: codes.Unauthenticated, wantMsg: missing},
		{name: "other package health is not exempt", method: "/evil.grpc.health.v1.Health/Check", md: nil, wantCode: codes.Unauthenticated, wantMsg: missing},
	}
}

func incoming(md metadata.MD) context.Context {
	if md == nil {
		return context.Background()
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

func checkStatus(t *testing.T, err error, called bool, tc authCase) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != tc.wantCode {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tc.wantCode)
	}
	if tc.wantCode == codes.OK {
		if !called {
			t.Fatal("handler was not called for an authorized call")
		}
		return
	}
	if called {
		t.Fatal("handler was called for an unauthorized call")
	}
	if st.Message() != tc.wantMsg {
		t.Errorf("message = %q, want %q", st.Message(), tc.wantMsg)
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	a, err := adminauth.New(testToken)
	if err != nil {
		t.Fatal(err)
	}
	intercept := a.UnaryServerInterceptor()
	for _, tc := range authCases() {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			handler := func(ctx context.Context, req any) (any, error) {
				called = true
				return "ok", nil
			}
			resp, err := intercept(incoming(tc.md), "req", &grpc.UnaryServerInfo{FullMethod: tc.method}, handler)
			checkStatus(t, err, called, tc)
			if tc.wantCode == codes.OK && resp != "ok" {
				t.Errorf("resp = %v, want the handler's", resp)
			}
		})
	}
}

func TestStreamServerInterceptor(t *testing.T) {
	a, err := adminauth.New(testToken)
	if err != nil {
		t.Fatal(err)
	}
	intercept := a.StreamServerInterceptor()
	for _, tc := range authCases() {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			handler := func(srv any, ss grpc.ServerStream) error {
				called = true
				return nil
			}
			err := intercept(nil, testkit.NewServerStream(incoming(tc.md)), &grpc.StreamServerInfo{FullMethod: tc.method, IsServerStream: true}, handler)
			checkStatus(t, err, called, tc)
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		wantErr bool
	}{
		{name: "generated style", token: testToken},
		{name: "exactly minimum length", token: "0123456789abcdef"},
		{name: "empty", token: "", wantErr: true},
		{name: "too short", token: "changeme", wantErr: true},
		{name: "contains space", token: "0123456789 abcdef", wantErr: true},
		{name: "contains newline", token: "0123456789abcdef\n", wantErr: true},
		{name: "non-ASCII", token: "0123456789abcdefé", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := adminauth.New(tc.token)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New() error = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && tc.token != "" && len(tc.token) > 3 && strings.Contains(err.Error(), tc.token) {
				t.Errorf("error %q leaks the token", err)
			}
			if err == nil && a == nil {
				t.Fatal("New() returned nil without an error")
			}
		})
	}
}
