package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server"
)

const (
	missingTokenMsg = `missing admin token: send "authorization: Bearer <token>"`
	invalidTokenMsg = "invalid admin token"
)

func TestAdminGRPCAuth(t *testing.T) {
	ts := startServer(t, testConfig(t))
	client := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	tests := []struct {
		name     string
		token    string
		wantCode codes.Code
		wantMsg  string
	}{
		{name: "no token", token: "", wantCode: codes.Unauthenticated, wantMsg: missingTokenMsg},
		{name: "wrong token", token: "tga_not-the-right-token-at-all", wantCode: codes.Unauthenticated, wantMsg: invalidTokenMsg},
		{name: "right token", token: ts.AdminToken(), wantCode: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.ListApis(withToken(t, tc.token), &adminv1.ListApisRequest{})
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("ListApis: code %v (%q), want %v", st.Code(), st.Message(), tc.wantCode)
			}
			if tc.wantCode != codes.OK {
				if st.Message() != tc.wantMsg {
					t.Errorf("message = %q, want %q", st.Message(), tc.wantMsg)
				}
				return
			}
			if len(resp.GetApis()) != 0 {
				t.Errorf("fresh data dir lists %d apis, want 0", len(resp.GetApis()))
			}
		})
	}
}

func TestAdminRESTAuth(t *testing.T) {
	ts := startServer(t, testConfig(t))
	url := "http://" + ts.AdminAddr() + "/v1/apis"
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
		wantCode      codes.Code
		wantMsg       string
	}{
		{name: "no header", wantStatus: http.StatusUnauthorized, wantCode: codes.Unauthenticated, wantMsg: missingTokenMsg},
		{name: "other scheme", authorization: "Basic dXNlcjpwYXNz", wantStatus: http.StatusUnauthorized, wantCode: codes.Unauthenticated, wantMsg: missingTokenMsg},
		{name: "wrong token", authorization: "Bearer tga_not-the-right-token-at-all", wantStatus: http.StatusUnauthorized, wantCode: codes.Unauthenticated, wantMsg: invalidTokenMsg},
		{name: "right token", authorization: "Bearer " + ts.AdminToken(), wantStatus: http.StatusOK},
		{name: "right token, lowercase scheme", authorization: "bearer " + ts.AdminToken(), wantStatus: http.StatusOK},
	}
	clients := map[string]*http.Client{"http1": http1Client(t), "h2c": h2cClient(t)}
	for proto, client := range clients {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				res := doHTTP(t, client, http.MethodGet, url, tc.authorization, "")
				if res.status != tc.wantStatus {
					t.Fatalf("status = %d, want %d; body %s", res.status, tc.wantStatus, res.body)
				}
				if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
				if tc.wantStatus == http.StatusOK {
					var list map[string]any
					if err := json.Unmarshal([]byte(res.body), &list); err != nil {
						t.Fatalf("body %q is not JSON: %v", res.body, err)
					}
					return
				}
				if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="tollgate-admin"` {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				got := decodeStatus(t, res.body)
				if got.Code != int(tc.wantCode) || got.Message != tc.wantMsg {
					t.Errorf("status body = %+v, want code %d message %q", got, tc.wantCode, tc.wantMsg)
				}
			})
		}
	}
}

// rpcStatus is the JSON form of google.rpc.Status.
type rpcStatus struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

func decodeStatus(t *testing.T, body string) rpcStatus {
	t.Helper()
	var st rpcStatus
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("body %q is not a google.rpc.Status: %v", body, err)
	}
	return st
}

func TestAdminRESTRejectsUnknownFields(t *testing.T) {
	ts := startServer(t, testConfig(t))
	res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+"/v1/apis?apiId=x",
		"Bearer "+ts.AdminToken(), `{"displayName":"x","displyName":"typo"}`)
	if res.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400; body %s", res.status, res.body)
	}
	if st := decodeStatus(t, res.body); st.Code != int(codes.InvalidArgument) {
		t.Errorf("code = %d, want %d", st.Code, codes.InvalidArgument)
	}
}

func TestAdminRESTBodyLimit(t *testing.T) {
	ts := startServer(t, testConfig(t))
	body := `{"displayName":"` + strings.Repeat("x", 17<<20) + `"}`
	res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+"/v1/apis",
		"Bearer "+ts.AdminToken(), body)
	if res.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413; body %.200s", res.status, res.body)
	}
	if st := decodeStatus(t, res.body); st.Code != int(codes.ResourceExhausted) {
		t.Errorf("code = %d, want %d", st.Code, codes.ResourceExhausted)
	}
}

func TestAdminRESTCreateAndGRPCRead(t *testing.T) {
	ts := startServer(t, testConfig(t))
	res := doHTTP(t, http1Client(t), http.MethodPost, "http://"+ts.AdminAddr()+"/v1/apis?apiId=shop",
		"Bearer "+ts.AdminToken(), `{"displayName":"Shop"}`)
	if res.status != http.StatusOK {
		t.Fatalf("create over REST: status %d, body %s", res.status, res.body)
	}
	client := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	api, err := client.GetApi(withToken(t, ts.AdminToken()), &adminv1.GetApiRequest{Name: "apis/shop"})
	if err != nil {
		t.Fatalf("GetApi over gRPC: %v", err)
	}
	if api.GetDisplayName() != "Shop" {
		t.Errorf("display name = %q, want %q", api.GetDisplayName(), "Shop")
	}
}

func TestHealthWithoutToken(t *testing.T) {
	ts := startServer(t, testConfig(t))
	health := healthpb.NewHealthClient(dial(t, ts.AdminAddr()))
	for _, svc := range []string{"", "tollgate.admin.v1.AdminService"} {
		resp, err := health.Check(withToken(t, ""), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q) without token: %v", svc, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, want SERVING", svc, resp.GetStatus())
		}
	}
}

func TestReflection(t *testing.T) {
	ts := startServer(t, testConfig(t))
	refl := reflectionpb.NewServerReflectionClient(dial(t, ts.AdminAddr()))
	listServices := func(token string) ([]string, error) {
		stream, err := refl.ServerReflectionInfo(withToken(t, token))
		if err != nil {
			return nil, err
		}
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}); err != nil && !errors.Is(err, io.EOF) {
			// io.EOF means the server already ended the stream: its
			// status comes from Recv, below.
			return nil, err
		}
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		_ = stream.CloseSend()
		var names []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			names = append(names, s.GetName())
		}
		return names, nil
	}

	t.Run("without token", func(t *testing.T) {
		_, err := listServices("")
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("err = %v, want Unauthenticated", err)
		}
	})
	t.Run("with token", func(t *testing.T) {
		names, err := listServices(ts.AdminToken())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"tollgate.admin.v1.AdminService", "grpc.health.v1.Health"} {
			found := false
			for _, n := range names {
				found = found || n == want
			}
			if !found {
				t.Errorf("reflection lists %v, missing %s", names, want)
			}
		}
	})
}

func TestProbes(t *testing.T) {
	ts := startServer(t, testConfig(t))
	client := http1Client(t)
	for port, addr := range map[string]string{"admin": ts.AdminAddr(), "data": ts.DataAddr()} {
		for _, path := range []string{"/healthz", "/readyz"} {
			t.Run(port+path, func(t *testing.T) {
				res := doHTTP(t, client, http.MethodGet, "http://"+addr+path, "", "")
				if res.status != http.StatusOK || strings.TrimSpace(res.body) != "ok" {
					t.Errorf("GET %s = %d %q, want 200 ok", path, res.status, res.body)
				}
			})
		}
	}
	t.Run("probes need no token but refuse POST", func(t *testing.T) {
		res := doHTTP(t, client, http.MethodPost, "http://"+ts.AdminAddr()+"/healthz", "", `{}`)
		if res.status != http.StatusMethodNotAllowed {
			t.Errorf("POST /healthz = %d, want 405", res.status)
		}
	})
}

func TestDataPortNotDeployed(t *testing.T) {
	ts := startServer(t, testConfig(t))
	t.Run("http", func(t *testing.T) {
		res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/v1/shelves", "", "")
		if res.status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", res.status)
		}
		const want = `{"code":5,"message":"no stage v1 is deployed","details":[]}`
		if strings.TrimSpace(res.body) != want {
			t.Errorf("body = %s, want %s", res.body, want)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		client := adminv1.NewAdminServiceClient(dial(t, ts.DataAddr()))
		_, err := client.ListApis(withToken(t, ""), &adminv1.ListApisRequest{})
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "/tollgate.admin.v1.AdminService/ListApis") {
			t.Errorf("gRPC call on the data port: %v %q, want Unimplemented naming the method", st.Code(), st.Message())
		}
	})
}

func TestTokenFileCreatedAndReused(t *testing.T) {
	cfg := testConfig(t)
	first := startServer(t, cfg)
	token := first.AdminToken()
	first.stop(t)

	path := filepath.Join(cfg.DataDir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode = %#o, want 0600", perm)
	}
	if !strings.Contains(first.stderr.String(), token) {
		t.Errorf("the new token was not shown on stderr:\n%s", first.stderr.String())
	}
	if strings.Contains(first.logs.String(), token) {
		t.Errorf("the token was logged:\n%s", first.logs.String())
	}
	if !strings.Contains(first.logs.String(), path) {
		t.Errorf("the logs do not say where the token was written:\n%s", first.logs.String())
	}

	second := startServer(t, cfg)
	if second.AdminToken() != token {
		t.Error("restart on the same data dir generated another token")
	}
	if second.stderr.String() != "" {
		t.Errorf("restart showed a notice again:\n%s", second.stderr.String())
	}
	client := adminv1.NewAdminServiceClient(dial(t, second.AdminAddr()))
	if _, err := client.ListApis(withToken(t, token), &adminv1.ListApisRequest{}); err != nil {
		t.Errorf("the reused token is refused: %v", err)
	}
}

func TestConfiguredTokenIsNotWritten(t *testing.T) {
	cfg := testConfig(t)
	cfg.AdminToken = "configured-token-0123456789"
	ts := startServer(t, cfg)
	if ts.AdminToken() != cfg.AdminToken {
		t.Errorf("AdminToken() is not the configured token")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "admin-token")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file was written for a configured token: %v", err)
	}
	if ts.stderr.String() != "" || strings.Contains(ts.logs.String(), cfg.AdminToken) {
		t.Error("the configured token was shown or logged")
	}
}

func TestPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name    string
		mutate  func(*server.Config)
		setting string
	}{
		{name: "admin port", mutate: func(c *server.Config) { c.AdminAddr = busy.Addr().String() }, setting: "admin-addr"},
		{name: "data port", mutate: func(c *server.Config) { c.ListenAddr = busy.Addr().String() }, setting: "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.mutate(&cfg)
			cfg.Stderr = io.Discard
			s, err := server.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Serve(context.Background())
			want := tc.setting + " " + busy.Addr().String() + ": address already in use"
			if err == nil || err.Error() != want {
				t.Fatalf("Serve() = %v, want %q", err, want)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("errors.Is(err, EADDRINUSE) = false")
			}
			select {
			case <-s.Ready():
				t.Error("Ready is closed after a failed Serve")
			default:
			}
			// The other port must have been released: a new server can
			// use the data dir (its store was closed) at once.
			cfg.AdminAddr, cfg.ListenAddr = "127.0.0.1:0", "127.0.0.1:0"
			startServer(t, cfg)
		})
	}
}

func TestServeOnlyOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.Stderr = io.Discard
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Serve(context.Background()); !errors.Is(err, server.ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseStopsServe(t *testing.T) {
	ts := startServer(t, testConfig(t))
	if err := ts.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waited for Serve, which must have returned nil.
	if err := <-ts.done; err != nil {
		t.Errorf("Serve returned %v after Close", err)
	}
	close(ts.done)
	if err := ts.Serve(context.Background()); !errors.Is(err, server.ErrServerClosed) {
		t.Errorf("second Serve = %v, want ErrServerClosed", err)
	}
}

func TestNewCleansUpAfterFailure(t *testing.T) {
	cfg := testConfig(t)
	cfg.Stderr = io.Discard
	// A group-readable token file makes New fail after the store is open.
	path := filepath.Join(cfg.DataDir, "admin-token")
	if err := os.WriteFile(path, []byte("tga_0123456789abcdef0123"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := server.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Fatalf("New() = %v, want a token permission error", err)
	}
	// Had the failed New kept the store open, its file lock would make this
	// New fail with "in use by another process".
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("New after fixing the token file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.LogFormat = "xml"
	cfg.AdminAddr = "nope"
	_, err := server.New(cfg)
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"log-format:", "admin-addr:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Nothing may have been created for an invalid config.
	entries, _ := os.ReadDir(cfg.DataDir)
	if len(entries) != 0 {
		t.Errorf("data dir has %d entries after a rejected config", len(entries))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     server.Config
		wantErr []string // substrings; nil means valid
	}{
		{name: "zero config uses defaults", cfg: server.Config{}},
		{name: "defaults", cfg: server.DefaultConfig()},
		{name: "json logs", cfg: server.Config{LogFormat: "json"}},
		{name: "ipv6 and free ports", cfg: server.Config{AdminAddr: "[::1]:0", ListenAddr: "[::1]:0"}},
		{name: "bad admin addr", cfg: server.Config{AdminAddr: "localhost"}, wantErr: []string{"admin-addr: "}},
		{name: "bad admin port", cfg: server.Config{AdminAddr: "127.0.0.1:http"}, wantErr: []string{"admin-addr: ", "port"}},
		{name: "port out of range", cfg: server.Config{ListenAddr: ":70000"}, wantErr: []string{"listen: "}},
		{name: "same ports", cfg: server.Config{AdminAddr: ":9000", ListenAddr: ":9000"}, wantErr: []string{"listen: ", "separate ports"}},
		{name: "bad log format", cfg: server.Config{LogFormat: "XML"}, wantErr: []string{"log-format: "}},
		{name: "short admin token", cfg: server.Config{AdminToken: "secret"}, wantErr: []string{"admin-token: ", "too short"}},
		{name: "admin token with space", cfg: server.Config{AdminToken: "a token with spaces"}, wantErr: []string{"admin-token: "}},
		{name: "route timeout too short", cfg: server.Config{MaxRouteTimeout: 10_000_000}, wantErr: []string{"max-route-timeout: "}},
		{name: "negative route timeout", cfg: server.Config{MaxRouteTimeout: -1}, wantErr: []string{"max-route-timeout: "}},
		{name: "negative shutdown timeout", cfg: server.Config{ShutdownTimeout: -1}, wantErr: []string{"shutdown-timeout: "}},
		{name: "trusted proxies", cfg: server.Config{TrustedProxies: "10.0.0.0/8, 192.168.1.1, fd00::/8"}},
		{name: "bad trusted proxy", cfg: server.Config{TrustedProxies: "10.0.0.0/8, proxy.internal"}, wantErr: []string{"trusted-proxies: ", "proxy.internal"}},
		{name: "edge limits off", cfg: server.Config{MaxConnections: -1, MaxConnectionsPerIP: -1, MinBodyReadRate: -1, MinBodyWriteRate: -1, StreamResetLimit: -1}},
		{
			name: "bad edge limits",
			cfg: server.Config{MaxConnections: -2, MaxConnectionsPerIP: -5, MinBodyReadRate: -2, MinBodyWriteRate: -3, StreamResetLimit: -4,
				BodyReadTimeout: -1, MinRateGrace: -1},
			wantErr: []string{"max-connections: ", "max-connections-per-ip: ", "min-body-read-rate: ", "min-body-write-rate: ",
				"stream-reset-limit: ", "body-read-timeout: ", "min-rate-grace: "},
		},
		{name: "proxy protocol", cfg: server.Config{ProxyProtocol: true, TrustedProxies: "10.0.0.0/8"}},
		{name: "proxy protocol without trusted proxies", cfg: server.Config{ProxyProtocol: true}, wantErr: []string{"proxy-protocol: "}},
		{name: "short audit retention", cfg: server.Config{AuditRetention: 1000}, wantErr: []string{"audit-retention: "}},
		{
			name:    "every problem at once",
			cfg:     server.Config{AdminAddr: "x", ListenAddr: "y", LogFormat: "z", ShutdownTimeout: -1},
			wantErr: []string{"admin-addr: ", "listen: ", "log-format: ", "shutdown-timeout: "},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors mentioning %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, missing %q", err, want)
				}
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	d := server.DefaultConfig()
	got := []string{d.DataDir, d.AdminAddr, d.ListenAddr, d.LogFormat, d.MaxRouteTimeout.String(), d.ShutdownTimeout.String()}
	want := []string{"./tollgate-data", "127.0.0.1:9090", ":8080", "text", "29s", "30s"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DefaultConfig() = %v, want %v", got, want)
	}
}

// TestGracefulShutdownFinishesGRPCStream keeps a reflection stream (the
// admin port's only streaming method) open across the start of shutdown.
func TestGracefulShutdownFinishesGRPCStream(t *testing.T) {
	ts := startServer(t, testConfig(t))
	refl := reflectionpb.NewServerReflectionClient(dial(t, ts.AdminAddr()))
	stream, err := refl.ServerReflectionInfo(withToken(t, ts.AdminToken()))
	if err != nil {
		t.Fatal(err)
	}
	ask := func() error {
		if err := stream.Send(&reflectionpb.ServerReflectionRequest{
			MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
		}); err != nil {
			return err
		}
		_, err := stream.Recv()
		return err
	}
	// A first exchange proves the call is being handled by the server.
	if err := ask(); err != nil {
		t.Fatal(err)
	}
	ts.cancel()
	waitRefused(t, ts.AdminAddr())
	// The listener is closed, so shutdown is under way; the call in
	// flight must still work and end normally.
	if err := ask(); err != nil {
		t.Fatalf("call in flight failed during graceful shutdown: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	close(ts.done)
}

// waitRefused waits until addr refuses connections, which shows that the
// server has closed its listener. It polls, since nothing else signals it.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDemo(t *testing.T) {
	cfg := testConfig(t)
	cfg.Demo = true
	var deployments []string
	for run := 1; run <= 2; run++ {
		ts := startServer(t, cfg)
		res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/v1/apis/bookstore/stages/demo",
			"Bearer "+ts.AdminToken(), "")
		if res.status != http.StatusOK {
			t.Fatalf("run %d: GET demo stage: %d %s", run, res.status, res.body)
		}
		var stage struct {
			Deployment string `json:"deployment"`
		}
		if err := json.Unmarshal([]byte(res.body), &stage); err != nil || stage.Deployment == "" {
			t.Fatalf("run %d: stage %s has no deployment (%v)", run, res.body, err)
		}
		deployments = append(deployments, stage.Deployment)
		if !strings.Contains(ts.logs.String(), "/v1/apis/bookstore/stages/demo") {
			t.Errorf("run %d: the logs do not say how to call the demo", run)
		}
		if strings.Contains(ts.logs.String(), ts.AdminToken()) {
			t.Errorf("run %d: the demo hint logged the token", run)
		}
		// The demo serves on each run: after a restart, through the stage
		// variable that follows the backend's new address.
		if res := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/demo/v1/shelves/fiction/books", "", ""); res.status != http.StatusOK {
			t.Errorf("run %d: GET /demo/v1/shelves/fiction/books: %d %s", run, res.status, res.body)
		}
		ts.stop(t)
	}
	if deployments[0] != deployments[1] {
		t.Errorf("the restart deployed anew (%s, then %s); it must keep what exists", deployments[0], deployments[1])
	}
}
