package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// forwardingBookstore answers GetBook with the forwarding metadata it
// received as the title, so a test sees what reached the backend (and what
// a cached answer holds).
type forwardingBookstore struct {
	examplev1.UnimplementedBookstoreServiceServer
}

func (forwardingBookstore) GetBook(ctx context.Context, req *examplev1.GetBookRequest) (*examplev1.Book, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var parts []string
	for _, k := range []string{"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "x-real-ip", "grpcgateway-forwarded"} {
		parts = append(parts, k+"="+strings.Join(md.Get(k), ";"))
	}
	return &examplev1.Book{Name: req.GetName(), Title: strings.Join(parts, " ")}, nil
}

// clientForwarding is what an attacker sends: forged forwarding headers.
var clientForwarding = map[string]string{
	"X-Forwarded-For":   "6.6.6.6",
	"X-Forwarded-Host":  "evil.example",
	"X-Forwarded-Proto": "https",
	"Forwarded":         "for=6.6.6.6;host=evil.example",
	"X-Real-IP":         "6.6.6.6",
}

// TestIssue13ForwardingHeadersComeFromTheConnection sends forged forwarding
// headers over a socket, on every route kind: no backend sees them, and a
// cached response made for such a request never carries them.
func TestIssue13ForwardingHeadersComeFromTheConnection(t *testing.T) {
	be := startServer(t, func(s *grpc.Server) { examplev1.RegisterBookstoreServiceServer(s, forwardingBookstore{}) })
	c := cache.New(cache.WithCodec(grpcproxy.Messages{}))
	t.Cleanup(c.Close)
	gw, err := gateway.New(gateway.WithInterceptors(c.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	tg := serveGateway(t, gw)
	d := deployment(t, "shop", "v1", be)
	st := cacheStage()
	st.Deployment = d.GetName()
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{{Stage: st, Deployment: d}}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	c.Retain(map[string][]string{st.GetName(): {d.GetName()}})

	restGet := func(forged bool) (string, string) {
		req, _ := http.NewRequest(http.MethodGet, tg.url("/prod/v1/shelves/fiction/books/1"), nil)
		if forged {
			for k, v := range clientForwarding {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return string(b), resp.Header.Get(cache.StatusHeader)
	}
	// The forged request fills the cache; the clean one is served from it.
	for _, forged := range []bool{true, false} {
		body, cacheStatus := restGet(forged)
		if strings.Contains(body, "evil") || strings.Contains(body, "6.6.6.6") {
			t.Errorf("REST (forged %v, cache %s): the backend or cache served the client's forwarding headers: %s", forged, cacheStatus, body)
		}
		for _, want := range []string{"x-forwarded-for=127.0.0.1 ", "x-real-ip=127.0.0.1 ", "x-forwarded-proto=http ", "x-forwarded-host=" + tg.addr + " "} {
			if !strings.Contains(body, want) {
				t.Errorf("REST (forged %v): want %q in what the backend saw: %s", forged, want, body)
			}
		}
	}

	// gRPC: forged metadata is replaced before the backend.
	cctx := ctx(t)
	for k, v := range clientForwarding {
		cctx = metadata.AppendToOutgoingContext(cctx, strings.ToLower(k), v)
	}
	book, err := examplev1.NewBookstoreServiceClient(tg.grpcConn(t)).GetBook(cctx, &examplev1.GetBookRequest{Name: "shelves/science/books/2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(book.GetTitle(), "evil") || strings.Contains(book.GetTitle(), "6.6.6.6") || !strings.Contains(book.GetTitle(), "x-forwarded-for=127.0.0.1 ") {
		t.Errorf("gRPC: the backend saw %s", book.GetTitle())
	}

	// Plain HTTP route.
	env := newHardeningEnv(t)
	var extra strings.Builder
	for k, v := range clientForwarding {
		extra.WriteString(k + ": " + v + "\r\n")
	}
	// Naming a header in Connection makes a proxy drop it: the gateway's
	// own must still be sent.
	extra.WriteString("Connection: X-Real-Ip, Forwarded\r\n")
	status, body := rawRequest(t, env.tg.addr, "GET", "/prod/public/x", extra.String())
	if status != 200 {
		t.Fatalf("HTTP route: status %d (%s)", status, body)
	}
	got, _ := env.backendCall()
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": env.tg.addr, "X-Forwarded-Proto": "http", "X-Real-Ip": "127.0.0.1"}
	for k, v := range want {
		if g := got.headers.Values(k); len(g) != 1 || g[0] != v {
			t.Errorf("HTTP route: backend got %s %q, want %q", k, g, v)
		}
	}
	if f := got.headers.Get("Forwarded"); f == "" || strings.Contains(f, "evil") || strings.Contains(f, "6.6.6.6") {
		t.Errorf("HTTP route: backend got Forwarded %q", f)
	}
}

// TestTrustedProxyForwardingHeaders checks that behind a trusted proxy the
// received chain is appended to and its host kept.
func TestTrustedProxyForwardingHeaders(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix
		wantXFF string
		wantIP  string
		wantXFH string
	}{
		{"peer trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9, 127.0.0.1", "203.0.113.9", "api.example"},
		{"peer not trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "127.0.0.1", "127.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newHardeningEnv(t, gateway.WithTrustedProxies(tt.trusted))
			status, body := rawRequest(t, env.tg.addr, "GET", "/prod/public/x", "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Host: api.example\r\n")
			if status != 200 {
				t.Fatalf("status %d (%s)", status, body)
			}
			got, _ := env.backendCall()
			wantXFH := tt.wantXFH
			if wantXFH == "" {
				wantXFH = env.tg.addr
			}
			if got.headers.Get("X-Forwarded-For") != tt.wantXFF || got.headers.Get("X-Real-Ip") != tt.wantIP || got.headers.Get("X-Forwarded-Host") != wantXFH {
				t.Errorf("backend got X-Forwarded-For %q X-Real-Ip %q X-Forwarded-Host %q; want %q %q %q", got.headers.Get("X-Forwarded-For"),
					got.headers.Get("X-Real-Ip"), got.headers.Get("X-Forwarded-Host"), tt.wantXFF, tt.wantIP, wantXFH)
			}
		})
	}
}

// TestIssue13WebSocketConnectGetsTheGatewaysHeaders upgrades a WebSocket
// connection with forged forwarding and identity headers: the $connect
// integration gets the gateway's forwarding headers and no x-tollgate-*
// header from the client; an odd path is refused before the upgrade.
func TestIssue13WebSocketConnectGetsTheGatewaysHeaders(t *testing.T) {
	g := startWSGateway(t, nil, nil)
	h := http.Header{}
	for k, v := range clientForwarding {
		h.Set(k, v)
	}
	h.Set("X-Tollgate-Principal", "admin")
	if _, _, err := g.dial(t, "/prod", h); err != nil {
		t.Fatal(err)
	}
	ev := g.backend.lastConnect(t)
	want := map[string]string{"x-forwarded-for": "127.0.0.1", "x-forwarded-host": g.addr, "x-forwarded-proto": "http", "x-real-ip": "127.0.0.1"}
	for k, v := range want {
		if ev.Headers[k] != v {
			t.Errorf("$connect header %s = %q, want %q", k, ev.Headers[k], v)
		}
	}
	for k, v := range ev.Headers {
		if strings.HasPrefix(k, "x-tollgate-") || strings.Contains(v, "evil") || strings.Contains(v, "6.6.6.6") {
			t.Errorf("$connect got the client's header %s: %q", k, v)
		}
	}
	if ev.Principal != "" {
		t.Errorf("principal %q without an authorizer", ev.Principal)
	}
	status, body := rawRequest(t, g.addr, "GET", "/prod/%2e%2e/prod", "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	if status != http.StatusBadRequest || !strings.Contains(body, "INVALID_PATH") {
		t.Errorf("upgrade with a dot-segment: %d %s, want 400 INVALID_PATH", status, body)
	}
}

// TestForwardingPerCallOnOneConnection makes gRPC calls on one connection,
// on both relays: clean ones with two :authority values, and forged ones
// between them. The gateway computes a connection's forwarding entries
// once, so this pins that a forged call is never served a clean one's
// (or the other way round), and that each :authority gets its own.
func TestForwardingPerCallOnOneConnection(t *testing.T) {
	bothRelays(t, func(t *testing.T, relay gateway.Option) {
		be := startServer(t, func(s *grpc.Server) { examplev1.RegisterBookstoreServiceServer(s, forwardingBookstore{}) })
		gw, err := gateway.New(relay)
		if err != nil {
			t.Fatal(err)
		}
		tg := serveGateway(t, gw)
		tg.load(t, entry("shop", "prod", deployment(t, "shop", "v1", be), nil))
		client := examplev1.NewBookstoreServiceClient(tg.grpcConn(t))
		forged := ctx(t)
		for k, v := range clientForwarding {
			forged = metadata.AppendToOutgoingContext(forged, strings.ToLower(k), v)
		}
		for i, tc := range []struct {
			authority string // "" for the connection's own
			forged    bool
		}{{"", false}, {"", false}, {"", true}, {"", false}, {"api.example", false}, {"api.example", true}, {"", false}, {"api.example", false}} {
			cctx := ctx(t)
			if tc.forged {
				cctx = forged
			}
			var opts []grpc.CallOption
			wantHost := tg.addr
			if tc.authority != "" {
				opts = append(opts, grpc.CallAuthority(tc.authority))
				wantHost = tc.authority
			}
			book, err := client.GetBook(cctx, &examplev1.GetBookRequest{Name: "shelves/science/books/2"}, opts...)
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			got := book.GetTitle()
			if strings.Contains(got, "evil") || strings.Contains(got, "6.6.6.6") {
				t.Errorf("call %d (forged %v): the backend saw the client's entries: %s", i, tc.forged, got)
			}
			for _, want := range []string{"x-forwarded-for=127.0.0.1 ", "x-real-ip=127.0.0.1 ", "x-forwarded-host=" + wantHost + " "} {
				if !strings.Contains(got, want) {
					t.Errorf("call %d (forged %v, authority %q): want %q in what the backend saw: %s", i, tc.forged, tc.authority, want, got)
				}
			}
		}
	})
}
