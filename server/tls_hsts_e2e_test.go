package server_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// TestRedirectAndHSTS: a domain mapping can redirect cleartext requests to
// the TLS port and send HSTS on HTTPS responses; both are off by default.
func TestRedirectAndHSTS(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	ts, _, _ := tlsTestServer(t, ca)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	site := ca.Issue(t, "secure.example.com", "plain.example.com")
	if _, err := admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: "site", Certificate: &adminv1.Certificate{
		CertificateChain: string(site.CertPEM), PrivateKey: string(site.KeyPEM)}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*adminv1.DomainMapping{
		{Domain: "secure.example.com", Stage: "apis/bookstore/stages/demo", RedirectHttpToHttps: true, HstsMaxAgeSeconds: 31536000, HstsIncludeSubdomains: true},
		{Domain: "plain.example.com", Stage: "apis/bookstore/stages/demo"},
	} {
		if _, err := admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMapping: m}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMapping: &adminv1.DomainMapping{
		Domain: "bad.example.com", Stage: "apis/bookstore/stages/demo", HstsMaxAgeSeconds: -1}})
	if got := fieldViolations(err); status.Code(err) != codes.InvalidArgument || len(got) != 1 || got[0] != "domain_mapping.hsts_max_age_seconds" {
		t.Errorf("negative HSTS max-age: %v", err)
	}

	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, tlsPort, _ := net.SplitHostPort(ts.TLSAddr())
	for _, tc := range []struct {
		host         string
		wantStatus   int
		wantLocation string
	}{
		{"secure.example.com", http.StatusPermanentRedirect, "https://secure.example.com:" + tlsPort + "/v1/shelves?x=1"},
		{"plain.example.com", http.StatusOK, ""},
	} {
		t.Run("cleartext "+tc.host, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+ts.DataAddr()+"/v1/shelves?x=1", nil)
			req.Host = tc.host
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Location") != tc.wantLocation {
				t.Errorf("got %d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tc.wantStatus, tc.wantLocation)
			}
		})
	}
	for _, tc := range []struct {
		host     string
		wantHSTS string
	}{
		{"secure.example.com", "max-age=31536000; includeSubDomains"},
		{"plain.example.com", ""},
	} {
		t.Run("https "+tc.host, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: tc.host}, ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, "https://"+ts.TLSAddr()+"/v1/shelves", nil)
			req.Host = tc.host
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != tc.wantHSTS {
				t.Errorf("got %d HSTS %q, want 200 %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"), tc.wantHSTS)
			}
		})
	}
}
