package certs_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/testpki"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// TestStoreChoosesBySNI: exact names first, then a wildcard of one label,
// else the default certificate.
func TestStoreChoosesBySNI(t *testing.T) {
	ca := testpki.NewCA(t, "CA")
	def := ca.Issue(t, "default.test").TLS
	a := ca.Issue(t, "a.example.com").TLS
	b := ca.Issue(t, "b.example.org").TLS
	wild := ca.Issue(t, "*.example.com").TLS
	var s certs.Store
	if _, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example.com"}); !errors.Is(err, certs.ErrNoCertificate) {
		t.Errorf("empty store: err %v, want ErrNoCertificate", err)
	}
	s.SetDefault(func() *tls.Certificate { return &def })
	s.SetNamed(map[string]*tls.Certificate{"a.example.com": &a, "b.example.org": &b, "*.example.com": &wild})
	for _, tc := range []struct {
		sni  string
		want *tls.Certificate
	}{
		{"a.example.com", &a},
		{"A.Example.COM.", &a},
		{"b.example.org", &b},
		{"c.example.com", &wild},
		{"x.c.example.com", &def}, // a wildcard covers one label only
		{"example.com", &def},
		{"unknown.test", &def},
		{"", &def},
	} {
		got, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.sni})
		if err != nil {
			t.Fatalf("%q: %v", tc.sni, err)
		}
		if got != tc.want {
			t.Errorf("%q: got the certificate for %v, want %v", tc.sni, got.Leaf.DNSNames, tc.want.Leaf.DNSNames)
		}
	}
}

// TestFilePairReloads: a changed pair of files is picked up by Watch; a
// broken or expired one is refused and the previous certificate stays.
func TestFilePairReloads(t *testing.T) {
	ca := testpki.NewCA(t, "CA")
	first := ca.Issue(t, "first.test")
	certFile, keyFile := first.WriteFiles(t, t.TempDir())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := certs.LoadFilePair(certFile, keyFile, certs.WithLogger(log), certs.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Certificate().Leaf.DNSNames[0]; got != "first.test" {
		t.Fatalf("loaded %q", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	second := ca.Issue(t, "second.test")
	second.Replace(t, certFile, keyFile)
	waitFor(t, func() bool { return p.Certificate().Leaf.DNSNames[0] == "second.test" })

	// A key of another certificate: refused, the second stays.
	third := ca.Issue(t, "third.test")
	testpki.WriteFile(t, keyFile, third.KeyPEM)
	if err := p.Reload(); err == nil {
		t.Error("Reload accepted a key that does not match the certificate")
	}
	expired := ca.IssueWith(t, testpki.Options{NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, "expired.test")
	expired.Replace(t, certFile, keyFile)
	if err := p.Reload(); !errors.Is(err, certs.ErrExpired) {
		t.Errorf("Reload of an expired certificate: %v, want ErrExpired", err)
	}
	if got := p.Certificate().Leaf.DNSNames[0]; got != "second.test" {
		t.Errorf("after failed reloads: %q in force, want second.test", got)
	}
	if _, err := certs.LoadFilePair(certFile, keyFile); !errors.Is(err, certs.ErrExpired) {
		t.Errorf("LoadFilePair of an expired certificate: %v, want ErrExpired", err)
	}
	if _, err := certs.LoadFilePair(filepath.Join(t.TempDir(), "missing.pem"), keyFile); err == nil {
		t.Error("LoadFilePair of a missing file succeeded")
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
