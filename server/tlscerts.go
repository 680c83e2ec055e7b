package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// servedCert is a certificate the server presents, for the expiry metric.
type servedCert struct {
	name string // "default", "admin" or the resource name
	leaf *x509.Certificate
}

// loadCertificates installs the stored certificates on the TLS port: each
// for its DNS names (the one expiring last when several share a name), and
// for the domain of each mapping that names it. A stored certificate that
// has expired since it was written is skipped, with a warning, so clients
// get a valid one (or the default) instead.
func (s *Server) loadCertificates(ctx context.Context, mappings []*adminv1.DomainMapping) {
	// Admin writes may reload concurrently: one at a time, each reading
	// the store inside the lock, so the last to install is the newest.
	s.tls.loadMu.Lock()
	defer s.tls.loadMu.Unlock()
	stored, err := s.admin.ServingCertificates(ctx)
	if err != nil {
		s.log.Error("could not read the certificates; the TLS port keeps the previous ones", "error", err)
		return
	}
	now := time.Now()
	byResource := make(map[string]*tls.Certificate, len(stored))
	named := make(map[string]*tls.Certificate)
	var served []servedCert
	for _, c := range stored {
		cert, err := certs.ParsePair([]byte(c.GetCertificateChain()), []byte(c.GetPrivateKey()), now)
		if err != nil {
			// Never the key: only what is wrong with the pair.
			s.log.Warn("certificate not served", "certificate", c.GetName(), "error", err)
			continue
		}
		byResource[c.GetName()] = cert
		served = append(served, servedCert{name: c.GetName(), leaf: cert.Leaf})
		if !serverAuth(cert.Leaf) {
			continue // a client certificate, for backends' mutual TLS only
		}
		for _, n := range cert.Leaf.DNSNames {
			n = strings.ToLower(n)
			if cur := named[n]; cur == nil || cert.Leaf.NotAfter.After(cur.Leaf.NotAfter) {
				named[n] = cert
			}
		}
	}
	for _, m := range mappings {
		if cert := byResource[m.GetCertificate()]; cert != nil {
			named[m.GetDomain()] = cert
		}
	}
	s.tls.certs.SetNamed(named)
	s.tls.served.Store(&served)
	s.tls.byResource.Store(&byResource)
	s.loadClientAuth(mappings)
}

// registerTLSMetrics exposes the days left before each served certificate
// expires, as tollgate_tls_certificate_days_to_expiry{certificate,names},
// so that an alert can fire well before a renewal is missed.
func (s *Server) registerTLSMetrics(mp metric.MeterProvider) error {
	meter := mp.Meter("github.com/tollgate-gw/tollgate/server")
	g, err := meter.Float64ObservableGauge("tollgate.tls.certificate.days_to_expiry",
		metric.WithDescription("Days until the certificate expires (negative once it has): the default (--tls-cert-file), the admin port's, and each stored certificate."))
	if err != nil {
		return fmt.Errorf("certificate expiry gauge: %w", err)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := time.Now()
		for _, c := range s.servedCertificates() {
			o.ObserveFloat64(g, certs.DaysLeft(c.leaf, now), metric.WithAttributes(
				attribute.String("certificate", c.name),
				attribute.String("names", strings.Join(certs.Names(c.leaf), ","))))
		}
		return nil
	}, g)
	if err != nil {
		return fmt.Errorf("certificate expiry gauge: %w", err)
	}
	return nil
}

// servedCertificates lists the certificates presented now.
func (s *Server) servedCertificates() []servedCert {
	var out []servedCert
	if s.tls.pair != nil {
		out = append(out, servedCert{name: "default", leaf: s.tls.pair.Certificate().Leaf})
	}
	if s.tls.admin != nil {
		out = append(out, servedCert{name: "admin", leaf: s.tls.admin.Certificate().Leaf})
	}
	if p := s.tls.served.Load(); p != nil {
		out = append(out, *p...)
	}
	return out
}

// serverAuth reports whether leaf may serve TLS: it has no extended key
// usage, or one allowing server authentication.
func serverAuth(leaf *x509.Certificate) bool {
	if len(leaf.ExtKeyUsage) == 0 {
		return true
	}
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// clientCertificate returns the stored certificate name, for backends that
// ask the gateway for a client certificate, or nil.
func (s *Server) clientCertificate(name string) *tls.Certificate {
	if m := s.tls.byResource.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}
