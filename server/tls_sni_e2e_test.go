package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// fieldViolations returns the BadRequest field names of an error.
func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
		}
	}
	return fields
}

// peerLeaf handshakes with addr for serverName and returns the leaf the
// server presented, which must chain to roots but need not be for
// serverName (the default certificate is for other names).
func peerLeaf(t *testing.T, addr, serverName string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: serverName, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots})
			return err
		}})
	if err != nil {
		t.Fatalf("handshake for %q: %v", serverName, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestCertificates: the admin API refuses certificates that do not parse,
// do not match their key or have expired, naming the field; it never
// returns a private key; the TLS port chooses certificates by SNI (exact,
// wildcard, a domain mapping's choice, the default for unknown names); a
// metric reports days to expiry.
func TestCertificates(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	ts, _, _ := tlsTestServer(t, ca)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())

	a := ca.Issue(t, "a.example.com")
	b := ca.Issue(t, "b.example.org")
	wild := ca.Issue(t, "*.wild.example.com")
	mapped := ca.Issue(t, "shop.example.net", "www.example.net")
	expired := ca.IssueWith(t, testpki.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "old.example.com")

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			chain, key string
			field      string
		}{
			{"chain not PEM", "hello", string(a.KeyPEM), "certificate.certificate_chain"},
			{"chain missing", "", string(a.KeyPEM), "certificate.certificate_chain"},
			{"key not PEM", string(a.CertPEM), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "certificate.private_key"},
			{"key missing", string(a.CertPEM), "", "certificate.private_key"},
			{"key of another certificate", string(a.CertPEM), string(b.KeyPEM), "certificate.private_key"},
			{"expired", string(expired.CertPEM), string(expired.KeyPEM), "certificate.certificate_chain"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{Certificate: &adminv1.Certificate{
					CertificateChain: tc.chain, PrivateKey: tc.key}})
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("got %v, want INVALID_ARGUMENT", err)
				}
				if got := fieldViolations(err); len(got) != 1 || got[0] != tc.field {
					t.Errorf("field violations %v, want [%s]", got, tc.field)
				}
				if strings.Contains(status.Convert(err).Message(), "AAAA") {
					t.Error("the error quotes the key")
				}
			})
		}
	})

	create := func(id string, l *testpki.Leaf) *adminv1.Certificate {
		t.Helper()
		c, err := admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: id, Certificate: &adminv1.Certificate{
			CertificateChain: string(l.CertPEM), PrivateKey: string(l.KeyPEM)}})
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
		return c
	}
	created := create("a", a)
	create("b", b)
	create("wild", wild)
	create("mapped", mapped)
	if created.GetPrivateKey() != "" {
		t.Error("CreateCertificate returned the private key")
	}
	if got := created.GetDnsNames(); len(got) != 1 || got[0] != "a.example.com" {
		t.Errorf("dns_names %v", got)
	}
	if !created.GetNotAfter().AsTime().Equal(a.Cert.NotAfter) || created.GetSha256Fingerprint() == "" || created.GetSerialNumber() != a.Cert.SerialNumber.Text(16) {
		t.Errorf("description %v", created)
	}
	got, err := admin.GetCertificate(actx, &adminv1.GetCertificateRequest{Name: "certificates/a"})
	if err != nil || got.GetPrivateKey() != "" {
		t.Errorf("GetCertificate: %v, key returned: %v", err, got.GetPrivateKey() != "")
	}
	list, err := admin.ListCertificates(actx, &adminv1.ListCertificatesRequest{})
	if err != nil || len(list.GetCertificates()) != 4 {
		t.Fatalf("ListCertificates: %v, %d", err, len(list.GetCertificates()))
	}
	for _, c := range list.GetCertificates() {
		if c.GetPrivateKey() != "" {
			t.Errorf("ListCertificates returned the key of %s", c.GetName())
		}
	}
	rest := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/v1/certificates", "Bearer "+ts.AdminToken(), "")
	if rest.status != http.StatusOK || strings.Contains(rest.body, "PRIVATE KEY") || !strings.Contains(rest.body, `"notAfter"`) {
		t.Errorf("REST list: %d %s", rest.status, rest.body)
	}
	if strings.Contains(ts.logs.String(), "PRIVATE KEY") {
		t.Error("a private key was logged")
	}

	// A domain mapping may name a certificate only if it is for its domain.
	_, err = admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: "wrong", DomainMapping: &adminv1.DomainMapping{
		Domain: "other.example.net", Stage: "apis/bookstore/stages/demo", Certificate: "certificates/mapped"}})
	if got := fieldViolations(err); status.Code(err) != codes.InvalidArgument || len(got) != 1 || got[0] != "domain_mapping.certificate" {
		t.Errorf("mapping with a certificate for another name: %v", err)
	}
	if _, err := admin.CreateDomainMapping(actx, &adminv1.CreateDomainMappingRequest{DomainMappingId: "shop", DomainMapping: &adminv1.DomainMapping{
		Domain: "shop.example.net", Stage: "apis/bookstore/stages/demo", Certificate: "certificates/mapped"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteCertificate(actx, &adminv1.DeleteCertificateRequest{Name: "certificates/mapped"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("deleting a certificate in use: %v, want FAILED_PRECONDITION", err)
	}

	addr := ts.TLSAddr()
	for _, tc := range []struct {
		sni  string
		want *x509.Certificate
	}{
		{"a.example.com", a.Cert},
		{"b.example.org", b.Cert},
		{"x.wild.example.com", wild.Cert},
		{"shop.example.net", mapped.Cert},
		{"unknown.example.com", nil}, // the default
		{"x.y.wild.example.com", nil},
	} {
		t.Run("SNI "+tc.sni, func(t *testing.T) {
			leaf := peerLeaf(t, addr, tc.sni, ca.Pool())
			if tc.want == nil {
				if leaf.Subject.CommonName != "127.0.0.1" {
					t.Errorf("got %v, want the default certificate", leaf.DNSNames)
				}
				return
			}
			if leaf.SerialNumber.Cmp(tc.want.SerialNumber) != 0 {
				t.Errorf("got the certificate for %v, want the one for %v", leaf.DNSNames, tc.want.DNSNames)
			}
		})
	}

	// A call under the mapped domain, over TLS with its SNI, reaches the stage.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "shop.example.net"}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/v1/shelves/fiction/books", nil)
	req.Host = "shop.example.net"
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("call under the mapped domain: %d %s", resp.StatusCode, body)
	}

	metrics := doHTTP(t, http1Client(t), http.MethodGet, "http://"+ts.AdminAddr()+"/metrics", "", "")
	for _, want := range []string{`tollgate_tls_certificate_days_to_expiry{certificate="certificates/a"`, `tollgate_tls_certificate_days_to_expiry{certificate="default"`} {
		if !strings.Contains(metrics.body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// TestCertificateUpdateUnderLoad: replacing a stored certificate through
// the admin API while clients handshake for its name fails no call, and
// new handshakes get the new certificate.
func TestCertificateUpdateUnderLoad(t *testing.T) {
	ca := testpki.NewCA(t, "test CA")
	ts, _, _ := tlsTestServer(t, ca)
	admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
	actx := withToken(t, ts.AdminToken())
	first := ca.Issue(t, "api.example.com")
	if _, err := admin.CreateCertificate(actx, &adminv1.CreateCertificateRequest{CertificateId: "api", Certificate: &adminv1.Certificate{
		CertificateChain: string(first.CertPEM), PrivateKey: string(first.KeyPEM)}}); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "api.example.com"}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "https://" + ts.TLSAddr() + "/demo/v1/shelves/fiction/books"

	var calls atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls.Add(1)
				resp, err := client.Get(url)
				if err != nil {
					t.Errorf("call during update: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("call during update: %d", resp.StatusCode)
				}
			}
		})
	}
	var last *testpki.Leaf
	for range 5 {
		time.Sleep(40 * time.Millisecond)
		last = ca.Issue(t, "api.example.com")
		if _, err := admin.UpdateCertificate(actx, &adminv1.UpdateCertificateRequest{
			Certificate: &adminv1.Certificate{Name: "certificates/api", CertificateChain: string(last.CertPEM), PrivateKey: string(last.KeyPEM)},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"certificate_chain", "private_key"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(40 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls", calls.Load())
	if leaf := peerLeaf(t, ts.TLSAddr(), "api.example.com", ca.Pool()); leaf.SerialNumber.Cmp(last.Cert.SerialNumber) != 0 {
		t.Errorf("new handshake got serial %v, want the updated certificate's %v", leaf.SerialNumber, last.Cert.SerialNumber)
	}
}
