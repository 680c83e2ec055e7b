package server_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server"
)

// TestAdminTLS: with a certificate the admin port serves gRPC and REST over
// TLS (the token still required); with a client CA it refuses callers
// without a certificate of that CA.
func TestAdminTLS(t *testing.T) {
	ca := testpki.NewCA(t, "server CA")
	clientCA := testpki.NewCA(t, "client CA")
	otherCA := testpki.NewCA(t, "other CA")
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, "127.0.0.1").WriteFiles(t, dir)
	caFile := filepath.Join(dir, "client-ca.pem")
	if err := os.WriteFile(caFile, clientCA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	good := clientCA.IssueWith(t, testpki.Options{Client: true}, "admin-cli").TLS
	wrong := otherCA.IssueWith(t, testpki.Options{Client: true}, "admin-cli").TLS

	for _, tc := range []struct {
		name       string
		clientCA   bool
		clientCert *tls.Certificate
		wantOK     bool
	}{
		{"TLS", false, nil, true},
		{"client CA, good certificate", true, &good, true},
		{"client CA, no certificate", true, nil, false},
		{"client CA, certificate of another CA", true, &wrong, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.AdminTLSCertFile, cfg.AdminTLSKeyFile = certFile, keyFile
			if tc.clientCA {
				cfg.AdminClientCAFile = caFile
			}
			ts := startServer(t, cfg)
			tlsCfg := &tls.Config{RootCAs: ca.Pool()}
			if tc.clientCert != nil {
				tlsCfg.Certificates = []tls.Certificate{*tc.clientCert}
			}

			admin := adminv1.NewAdminServiceClient(dialTLS(t, ts.AdminAddr(), tlsCfg))
			_, err := admin.ListApis(withToken(t, ts.AdminToken()), &adminv1.ListApisRequest{})
			if (err == nil) != tc.wantOK {
				t.Errorf("gRPC ListApis: %v, want success: %v", err, tc.wantOK)
			}
			if tc.wantOK {
				if _, err := admin.ListApis(withToken(t, ""), &adminv1.ListApisRequest{}); status.Code(err) != codes.Unauthenticated {
					t.Errorf("without the token: %v, want UNAUTHENTICATED", err)
				}
			}

			tr := &http.Transport{TLSClientConfig: tlsCfg}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, "https://"+ts.AdminAddr()+"/v1/apis", nil)
			req.Header.Set("Authorization", "Bearer "+ts.AdminToken())
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if ok := err == nil && resp.StatusCode == http.StatusOK; ok != tc.wantOK {
				t.Errorf("REST GET /v1/apis: %v, want success: %v", err, tc.wantOK)
			}

			// Cleartext is not served any more.
			if resp, err := http1Client(t).Get("http://" + ts.AdminAddr() + "/v1/apis"); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("cleartext call answered %d, want 400", resp.StatusCode)
				}
			}
		})
	}
}

// TestRequireAdminTLS: --require-admin-tls refuses a non-loopback admin
// address without TLS and accepts loopback or TLS.
func TestRequireAdminTLS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     server.Config
		wantErr bool
	}{
		{"loopback", server.Config{RequireAdminTLS: true, AdminAddr: "127.0.0.1:9090"}, false},
		{"localhost", server.Config{RequireAdminTLS: true, AdminAddr: "localhost:9090"}, false},
		{"IPv6 loopback", server.Config{RequireAdminTLS: true, AdminAddr: "[::1]:9090"}, false},
		{"every interface", server.Config{RequireAdminTLS: true, AdminAddr: ":9090"}, true},
		{"a name", server.Config{RequireAdminTLS: true, AdminAddr: "admin.internal:9090"}, true},
		{"every interface with TLS", server.Config{RequireAdminTLS: true, AdminAddr: ":9090", AdminTLSCertFile: "c", AdminTLSKeyFile: "k"}, false},
		{"not required", server.Config{AdminAddr: "0.0.0.0:9090"}, false},
		{"client CA without TLS", server.Config{AdminClientCAFile: "ca.pem"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err != nil) != tc.wantErr {
				t.Errorf("Validate: %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "admin-") && !strings.Contains(err.Error(), "require-admin-tls") {
				t.Errorf("error %q does not name the setting", err)
			}
		})
	}
}
