package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// TestBackendTLS: gRPC and HTTP integrations reach TLS backends signed by a
// private CA, presenting a stored client certificate when the backend
// requires one, under an overridden server name; without the CA or the
// certificate the call fails; h2c reaches a cleartext HTTP/2 backend;
// insecure_skip_verify works and is logged.
func TestBackendTLS(t *testing.T) {
	backendCA := testpki.NewCA(t, "backend CA")
	gatewayCA := testpki.NewCA(t, "gateway client CA")
	backendCert := backendCA.Issue(t, "backend.internal")
	gwClient := gatewayCA.IssueWith(t, testpki.Options{Client: true, CommonName: "tollgate"})
	backendTLS := &tls.Config{Certificates: []tls.Certificate{backendCert.TLS}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: gatewayCA.Pool(), MinVersion: tls.VersionTLS12}

	// A gRPC bookstore that requires a client certificate and reports it.
	var mu sync.Mutex
	var grpcPeer string
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(backendTLS)), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if p, ok := peer.FromContext(ctx); ok {
				if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
					mu.Lock()
					grpcPeer = ti.State.PeerCertificates[0].Subject.CommonName
					mu.Unlock()
				}
			}
			return h(ctx, req)
		}))
	examplev1.RegisterBookstoreServiceServer(gs, examplebackend.NewBookstore())
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(gln) }()
	defer gs.Stop()

	// HTTPS and h2c backends answering with what they saw.
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		_, _ = io.WriteString(w, r.Proto+" client="+cn)
	}))
	hs.TLS = backendTLS.Clone()
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()
	var h2cProtocols http.Protocols
	h2cProtocols.SetUnencryptedHTTP2(true)
	h2cBackend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	h2cBackend.Config.Protocols = &h2cProtocols
	h2cBackend.Start()
	defer h2cBackend.Close()
	insecureBackend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "insecure ok")
	}))
	defer insecureBackend.Close()

	cfg := testConfig(t)
	cfg.Demo = true
	ts := startServer(t, cfg)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	if _, err := admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: "gw-client", Certificate: &adminv1.Certificate{
		CertificateChain: string(gwClient.CertPEM), PrivateKey: string(gwClient.KeyPEM)}}); err != nil {
		t.Fatal(err)
	}
	full := &adminv1.BackendTls{CaPem: string(backendCA.PEM), ClientCertificate: "certificates/gw-client", ServerName: "backend.internal"}
	httpsURI := "https://" + hs.Listener.Addr().String()
	routes := map[string]*adminv1.Route{
		"grpc-tls": {Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/ListShelves"},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: gln.Addr().String(), BackendTls: full}}}},
		"https-mtls": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/mtls"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI, BackendTls: full}}}},
		"https-no-cert": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/nocert"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI,
				BackendTls: &adminv1.BackendTls{CaPem: string(backendCA.PEM), ServerName: "backend.internal"}}}}},
		"https-no-ca": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/noca"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI,
				BackendTls: &adminv1.BackendTls{ClientCertificate: "certificates/gw-client", ServerName: "backend.internal"}}}}},
		"https-wrong-name": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/wrongname"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI,
				BackendTls: &adminv1.BackendTls{CaPem: string(backendCA.PEM), ClientCertificate: "certificates/gw-client"}}}}},
		"h2c": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/h2c"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: h2cBackend.URL, H2C: true}}}},
		"insecure": {Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/insecure"}},
			Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: insecureBackend.URL,
				BackendTls: &adminv1.BackendTls{InsecureSkipVerify: true}}}}},
	}
	for id, r := range routes {
		if _, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: id, Route: r}); err != nil {
			t.Fatalf("route %s: %v", id, err)
		}
	}
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}); err != nil {
		t.Fatal(err)
	}

	t.Run("grpc backend, private CA and client certificate", func(t *testing.T) {
		_, err := examplev1.NewBookstoreServiceClient(dial(t, ts.DataAddr())).ListShelves(t.Context(), &examplev1.ListShelvesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if grpcPeer != "tollgate" {
			t.Errorf("backend saw client certificate %q, want tollgate", grpcPeer)
		}
	})
	for _, tc := range []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/mtls", 200, "HTTP/2.0 client=tollgate"},
		{"/nocert", 502, ""},
		{"/noca", 502, ""},
		{"/wrongname", 502, ""},
		{"/h2c", 200, "HTTP/2.0"},
		{"/insecure", 200, "insecure ok"},
	} {
		t.Run("http "+tc.path, func(t *testing.T) {
			r := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.DataAddr()+"/demo"+tc.path, "", "")
			if r.status != tc.wantStatus || !strings.Contains(r.body, tc.wantBody) {
				t.Errorf("got %d %q, want %d %q", r.status, r.body, tc.wantStatus, tc.wantBody)
			}
		})
	}
	if !strings.Contains(ts.logs.String(), "insecure_skip_verify") {
		t.Error("a connection without verification was not logged")
	}

	t.Run("certificate in use", func(t *testing.T) {
		if _, err := admin.DeleteCertificate(actx, &adminv1.DeleteCertificateRequest{Name: "certificates/gw-client"}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("deleting a backend client certificate in use: %v, want FAILED_PRECONDITION", err)
		}
	})
	t.Run("refused at write time", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			in    *adminv1.Integration
			field string
		}{
			{"bad CA", &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI,
				BackendTls: &adminv1.BackendTls{CaPem: "nope"}}}}, "route.integration.http.backend_tls.ca_pem"},
			{"TLS settings on http://", &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: h2cBackend.URL,
				BackendTls: &adminv1.BackendTls{ServerName: "x.internal"}}}}, "route.integration.http.backend_tls"},
			{"h2c on https://", &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: httpsURI, H2C: true}}},
				"route.integration.http.h2c"},
			{"bad certificate name", &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: "localhost:1",
				BackendTls: &adminv1.BackendTls{ClientCertificate: "gw-client"}}}}, "route.integration.grpc.backend_tls.client_certificate"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", Route: &adminv1.Route{
					Match: &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/refused"}}, Integration: tc.in}})
				if got := fieldViolations(err); status.Code(err) != codes.InvalidArgument || len(got) != 1 || got[0] != tc.field {
					t.Errorf("got %v (fields %v), want INVALID_ARGUMENT on %s", err, got, tc.field)
				}
			})
		}
	})
}
