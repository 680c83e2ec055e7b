package server_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server"
)

// TestMutualTLS: domains with mutual TLS refuse handshakes without a valid
// client certificate (REQUIRED) or verify one if given (OPTIONAL); the
// verified identity reaches the backend as x-tollgate-client-cert-*, and a
// client's own copies do not; requests for such a domain that did not come
// through its handshake (another SNI, the cleartext port) are refused.
func TestMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t, "server CA")
	clientCA := testpki.NewCA(t, "client CA")
	otherCA := testpki.NewCA(t, "other CA")
	accessLog := &syncBuffer{}
	ts, _, _ := tlsTestServer(t, ca, func(c *server.Config) { c.AccessLog = accessLog })
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())

	// A backend that reports the x-tollgate-client-cert-* headers it got.
	var mu sync.Mutex
	var got http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.CreateRoute(actx, &adminv1.CreateRouteRequest{Parent: "apis/bookstore", RouteId: "whoami", Route: &adminv1.Route{
		Match:       &adminv1.Route_Http{Http: &adminv1.HttpMatch{Method: "GET", Path: "/whoami"}},
		Integration: &adminv1.Integration{Target: &adminv1.Integration_Http{Http: &adminv1.HttpIntegration{Uri: backend.URL}}},
	}}))
	d, err := admin.CreateDeployment(actx, &adminv1.CreateDeploymentRequest{Parent: "apis/bookstore"})
	must(d, err)
	must(admin.UpdateStage(actx, &adminv1.UpdateStageRequest{Stage: &adminv1.Stage{Name: "apis/bookstore/stages/demo", Deployment: d.GetName(),
		AccessLog: &adminv1.AccessLogSettings{Enabled: true, Fields: []string{"requestId", "status", "clientCertSubject", "clientCertSerial"}}}}))
	serverCert := ca.Issue(t, "mtls.example.com", "opt.example.com", "plain.example.com")
	must(admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: "site", Certificate: &adminv1.Certificate{
		CertificateChain: string(serverCert.CertPEM), PrivateKey: string(serverCert.KeyPEM)}}))
	for id, mode := range map[string]adminv1.MutualTlsAuthentication_Mode{"mtls": adminv1.MutualTlsAuthentication_MODE_REQUIRED, "opt": adminv1.MutualTlsAuthentication_MODE_OPTIONAL} {
		must(admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: id, DomainMapping: &adminv1.DomainMapping{
			Domain: id + ".example.com", Stage: "apis/bookstore/stages/demo",
			MutualTlsAuthentication: &adminv1.MutualTlsAuthentication{TruststorePem: string(clientCA.PEM), Mode: mode}}}))
	}
	must(admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: "plain", DomainMapping: &adminv1.DomainMapping{
		Domain: "plain.example.com", Stage: "apis/bookstore/stages/demo"}}))

	t.Run("truststore refused", func(t *testing.T) {
		_, err := admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{
			Domain: "bad.example.com", Stage: "apis/bookstore/stages/demo",
			MutualTlsAuthentication: &adminv1.MutualTlsAuthentication{TruststorePem: "not PEM"}}})
		fields := fieldViolations(err)
		if status.Code(err) != codes.InvalidArgument || len(fields) != 2 ||
			fields[0] != "domain_mapping.mutual_tls_authentication.mode" || fields[1] != "domain_mapping.mutual_tls_authentication.truststore_pem" {
			t.Errorf("got %v (fields %v)", err, fields)
		}
	})

	good := clientCA.IssueWith(t, testpki.Options{Client: true, CommonName: "alice"}, "alice.clients.example.com")
	expired := clientCA.IssueWith(t, testpki.Options{Client: true, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "old")
	wrongCA := otherCA.IssueWith(t, testpki.Options{Client: true}, "mallory")

	call := func(t *testing.T, sni, host string, cert *testpki.Leaf) (int, error) {
		t.Helper()
		cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: sni}
		if cert != nil {
			// Sent whatever CAs the server asks for: Go's client would
			// otherwise keep back a certificate of another CA.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert.TLS, nil }
		}
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodGet, "https://"+ts.TLSAddr()+"/whoami", nil)
		req.Host = host
		req.Header.Set("X-Tollgate-Client-Cert-Subject", "CN=forged")
		mu.Lock()
		got = nil
		mu.Unlock()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	subject := func() string {
		mu.Lock()
		defer mu.Unlock()
		return got.Get("X-Tollgate-Client-Cert-Subject")
	}

	for _, tc := range []struct {
		name        string
		sni, host   string
		cert        *testpki.Leaf
		wantStatus  int // 0: the handshake or request fails
		wantSubject string
	}{
		{"required, good certificate", "mtls.example.com", "mtls.example.com", good, 200, "CN=alice,O=Tollgate tests"},
		{"required, no certificate", "mtls.example.com", "mtls.example.com", nil, 0, ""},
		{"required, expired certificate", "mtls.example.com", "mtls.example.com", expired, 0, ""},
		{"required, certificate of another CA", "mtls.example.com", "mtls.example.com", wrongCA, 0, ""},
		{"optional, no certificate", "opt.example.com", "opt.example.com", nil, 200, ""},
		{"optional, good certificate", "opt.example.com", "opt.example.com", good, 200, "CN=alice,O=Tollgate tests"},
		{"optional, certificate of another CA", "opt.example.com", "opt.example.com", wrongCA, 0, ""},
		{"no mutual TLS", "plain.example.com", "plain.example.com", nil, 200, ""},
		{"SNI of another domain", "plain.example.com", "mtls.example.com", nil, http.StatusMisdirectedRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := call(t, tc.sni, tc.host, tc.cert)
			if tc.wantStatus == 0 {
				if err == nil {
					t.Fatalf("got %d, want a failed handshake", code)
				}
				return
			}
			if err != nil || code != tc.wantStatus {
				t.Fatalf("got %d %v, want %d", code, err, tc.wantStatus)
			}
			if code == 200 {
				if s := subject(); s != tc.wantSubject {
					t.Errorf("backend got subject %q, want %q", s, tc.wantSubject)
				}
			}
		})
	}
	t.Run("identity headers", func(t *testing.T) {
		if _, err := call(t, "mtls.example.com", "mtls.example.com", good); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		h := got
		mu.Unlock()
		for k, want := range map[string]string{
			"X-Tollgate-Client-Cert-Serial":    good.Cert.SerialNumber.Text(16),
			"X-Tollgate-Client-Cert-Sans":      "alice.clients.example.com",
			"X-Tollgate-Client-Cert-Not-After": good.Cert.NotAfter.UTC().Format(time.RFC3339),
			"X-Tollgate-Client-Cert-Issuer":    "CN=client CA,O=Tollgate tests",
		} {
			if v := h.Get(k); v != want {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}
		if len(h.Get("X-Tollgate-Client-Cert-Fingerprint")) != 64 {
			t.Errorf("fingerprint %q", h.Get("X-Tollgate-Client-Cert-Fingerprint"))
		}
	})
	t.Run("cleartext port", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+"/whoami", nil)
		req.Host = "mtls.example.com"
		resp, err := http1Client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("got %d, want 421", resp.StatusCode)
		}
	})
	t.Run("grpc", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			sni  string
			cert *testpki.Leaf
			want codes.Code
		}{
			{"good certificate", "mtls.example.com", good, codes.OK},
			{"SNI of another domain", "plain.example.com", nil, codes.PermissionDenied},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: tc.sni}
				if tc.cert != nil {
					cfg.Certificates = []tls.Certificate{tc.cert.TLS}
				}
				conn := dialTLS(t, ts.TLSAddr(), cfg)
				_, err := examplev1.NewBookstoreServiceClient(conn).ListShelves(t.Context(), &examplev1.ListShelvesRequest{},
					grpc.CallAuthority("mtls.example.com"))
				if status.Code(err) != tc.want {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			})
		}
	})
	if want := `"clientCertSubject":"CN=alice,O=Tollgate tests","clientCertSerial":"` + good.Cert.SerialNumber.Text(16) + `"`; !strings.Contains(accessLog.String(), want) {
		t.Errorf("access log has no %s:\n%s", want, accessLog.String())
	}
	if !strings.Contains(ts.logs.String(), "TLS handshake failed") {
		t.Error("refused handshakes were not logged")
	}
}
