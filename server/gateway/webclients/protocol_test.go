package webclients_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		target string
		header map[string]string
		want   webclients.Protocol
	}{
		{"gRPC", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc"}, webclients.None},
		{"gRPC+proto", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc+proto"}, webclients.None},
		{"gRPC-Web", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc-web"}, webclients.GRPCWeb},
		{"gRPC-Web+proto", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc-web+proto"}, webclients.GRPCWeb},
		{"gRPC-Web text", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc-web-text"}, webclients.GRPCWeb},
		{"gRPC-Web text+proto", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc-web-text+proto"}, webclients.GRPCWeb},
		{"not gRPC-Web", "POST", "/a.B/C", map[string]string{"Content-Type": "application/grpc-webby"}, webclients.None},
		{"Connect stream", "POST", "/a.B/C", map[string]string{"Content-Type": "application/connect+json"}, webclients.Connect},
		{"Connect unary", "POST", "/a.B/C", map[string]string{"Content-Type": "application/json", "Connect-Protocol-Version": "1"}, webclients.Connect},
		{"Connect unary proto", "POST", "/a.B/C", map[string]string{"Content-Type": "application/proto", "Connect-Protocol-Version": "1"}, webclients.Connect},
		{"REST JSON", "POST", "/prod/v1/echo", map[string]string{"Content-Type": "application/json"}, webclients.None},
		{"REST text", "POST", "/prod/v1/echo", map[string]string{"Content-Type": "text/plain", "Connect-Protocol-Version": "1"}, webclients.None},
		{"Connect GET", "GET", "/a.B/C?connect=v1&encoding=json&message=%7B%7D", nil, webclients.Connect},
		{"REST GET", "GET", "/prod/v1/books?connect=v2", nil, webclients.None},
		{"Connect POST with the GET query", "PUT", "/a.B/C?connect=v1", nil, webclients.None},
		{"WebSocket gRPC", "GET", "/prod/a.B/C", map[string]string{"Upgrade": "websocket", "Sec-WebSocket-Protocol": "x, tollgate.grpc.v1"}, webclients.WebSocket},
		{"WebSocket API", "GET", "/prod", map[string]string{"Upgrade": "websocket", "Sec-WebSocket-Protocol": "chat"}, webclients.None},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, http.NoBody)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if got := webclients.Classify(r); got != tc.want {
				t.Errorf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
}
