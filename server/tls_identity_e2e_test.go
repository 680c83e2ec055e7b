package server_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// TestClientCertToGRPCBackend: the verified client certificate reaches a
// gRPC backend as x-tollgate-client-cert-* metadata on natively served gRPC
// calls and on transcoded REST calls alike; a client's own entries never do.
func TestClientCertToGRPCBackend(t *testing.T) {
	ca := testpki.NewCA(t, "server CA")
	clientCA := testpki.NewCA(t, "client CA")
	ts, _, _ := tlsTestServer(t, ca)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())

	var mu sync.Mutex
	var subject []string
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		subject = metadata.ValueFromIncomingContext(ctx, "x-tollgate-client-cert-subject")
		mu.Unlock()
		return h(ctx, req)
	}))
	examplev1.RegisterBookstoreServiceServer(gs, examplebackend.NewBookstore())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()

	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "shelves", Route: &adminv1.Route{
		Match:       &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/ListShelves"},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Grpc{Grpc: &adminv1.GrpcIntegration{Target: ln.Addr().String()}}},
	}}))
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(d, err)
	must(admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName()}}))
	site := ca.Issue(t, "id.example.com")
	must(admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: "id", Certificate: &adminv1.Certificate{
		CertificateChain: string(site.CertPEM), PrivateKey: string(site.KeyPEM)}}))
	must(admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: "id", DomainMapping: &adminv1.DomainMapping{
		Domain: "id.example.com", Stage: "apis/bookstore/stages/demo",
		MutualTlsAuthentication: &adminv1.MutualTlsAuthentication{TruststorePem: string(clientCA.PEM), Mode: adminv1.MutualTlsAuthentication_MODE_OPTIONAL}}}))
	bob := clientCA.IssueWith(t, testpki.Options{Client: true, CommonName: "bob"})
	const want = "CN=bob,O=Tollgate tests"

	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := subject
		subject = nil
		return s
	}
	clientTLS := func(withCert bool) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "id.example.com"}
		if withCert {
			cfg.Certificates = []tls.Certificate{bob.TLS}
		}
		return cfg
	}
	for _, tc := range []struct {
		name     string
		withCert bool
		want     []string
	}{
		{"with a certificate", true, []string{want}},
		{"without, forging the entry", false, nil},
	} {
		t.Run("grpc "+tc.name, func(t *testing.T) {
			conn := dialTLS(t, ts.TLSAddr(), clientTLS(tc.withCert))
			ctx := metadata.AppendToOutgoingContext(t.Context(), "x-tollgate-client-cert-subject", "CN=forged")
			if _, err := examplev1.NewBookstoreServiceClient(conn).ListShelves(ctx, &examplev1.ListShelvesRequest{}, grpc.CallAuthority("id.example.com")); err != nil {
				t.Fatal(err)
			}
			if s := got(); len(s) != len(tc.want) || (len(s) > 0 && s[0] != tc.want[0]) {
				t.Errorf("backend got %q, want %q", s, tc.want)
			}
		})
		t.Run("rest "+tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: clientTLS(tc.withCert), ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, "https://"+ts.TLSAddr()+"/v1/shelves", nil)
			req.Host = "id.example.com"
			req.Header.Set("X-Tollgate-Client-Cert-Subject", "CN=forged")
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if s := got(); len(s) != len(tc.want) || (len(s) > 0 && s[0] != tc.want[0]) {
				t.Errorf("backend got %q, want %q", s, tc.want)
			}
		})
	}
}
