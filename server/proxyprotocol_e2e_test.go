package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

// TestProxyProtocol (issue 19): with --proxy-protocol, a trusted load
// balancer's PROXY v1 or v2 header gives the client address that IP
// policies see, for HTTP and gRPC connections; a connection without a
// header keeps its peer address.
func TestProxyProtocol(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	cfg.TrustedProxies = "127.0.0.1"
	cfg.ProxyProtocol = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{
		Name: "apis/bookstore/stages/demo", IpPolicy: &adminv1.IpPolicy{Allow: []string{"192.0.2.0/24", "2001:db8::/32", "127.0.0.1"}},
	}}); err != nil {
		t.Fatal(err)
	}
	v1 := func(src string) string {
		fam := "TCP4"
		if strings.Contains(src, ":") {
			fam = "TCP6"
		}
		dst := "127.0.0.1"
		if fam == "TCP6" {
			dst = "::1"
		}
		return "PROXY " + fam + " " + src + " " + dst + " 40000 8080\r\n"
	}
	v2 := func(src [4]byte) string {
		h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
		h = append(append(h, src[:]...), 127, 0, 0, 1)
		h = binary.BigEndian.AppendUint16(h, 40000)
		h = binary.BigEndian.AppendUint16(h, 8080)
		return string(h)
	}
	httpVia := func(header string) int {
		t.Helper()
		c, err := net.Dial("tcp", ts.DataAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(header + "GET /demo/v1/shelves/fiction/books HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"v1 admitted", v1("192.0.2.7"), 200},
		{"v1 refused", v1("198.51.100.7"), 403},
		{"v1 IPv6 admitted", v1("2001:db8::7"), 200},
		{"v2 admitted", v2([4]byte{192, 0, 2, 8}), 200},
		{"v2 refused", v2([4]byte{198, 51, 100, 8}), 403},
		{"no header: the peer", "", 200},
	} {
		t.Run("http "+tc.name, func(t *testing.T) {
			if got := httpVia(tc.header); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	// gRPC: the balancer's header, then HTTP/2.
	for _, tc := range []struct {
		name, header string
		ok           bool
	}{
		{"admitted", v1("192.0.2.9"), true},
		{"refused", v2([4]byte{203, 0, 113, 9}), false},
	} {
		t.Run("grpc "+tc.name, func(t *testing.T) {
			conn, err := grpc.NewClient("passthrough:///"+ts.DataAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
					c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
					if err == nil {
						_, err = c.Write([]byte(tc.header))
					}
					return c, err
				}))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = examplev1.NewBookstoreServiceClient(conn).ListBooks(t.Context(), &examplev1.ListBooksRequest{Parent: "shelves/fiction"})
			if tc.ok && err != nil {
				t.Fatalf("ListBooks: %v", err)
			}
			if !tc.ok && (status.Code(err) != codes.PermissionDenied || gatewayerr.Reason(err) != gatewayerr.ReasonIPDenied) {
				t.Fatalf("ListBooks: %v, want IP_DENIED", err)
			}
		})
	}
}
