package admin

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/certs"
	"github.com/tollgate-gw/tollgate/server/store"
)

// kindCertificates holds Certificate resources, private keys included.
const kindCertificates store.Kind = "certificates"

// certificates is the Certificate collection.
var certificates = collection{kind: kindCertificates, typeName: "certificate", pattern: "certificates/*",
	field: "certificate", idField: "certificate_id", idPrefix: "cert-"}

// maxPEMBytes bounds a certificate chain or a private key: a chain of a
// few certificates is a few KiB.
const maxPEMBytes = 64 << 10

// CreateCertificate creates a certificate. The response, like every other,
// carries no private key.
func (s *Service) CreateCertificate(ctx context.Context, req *adminv1.CreateCertificateRequest) (*adminv1.Certificate, error) {
	c, err := createResource(ctx, s, certificates, "", req.GetCertificateId(), req.GetCertificate(), func(_ store.Tx, c *adminv1.Certificate) error {
		return s.checkCertificate(c)
	})
	return withoutKey(c), err
}

// GetCertificate gets a certificate, without its private key.
func (s *Service) GetCertificate(ctx context.Context, req *adminv1.GetCertificateRequest) (*adminv1.Certificate, error) {
	c, err := getResource[adminv1.Certificate](ctx, s, certificates, req.GetName())
	return withoutKey(c), err
}

// ListCertificates lists certificates in name order, without their private
// keys.
func (s *Service) ListCertificates(ctx context.Context, req *adminv1.ListCertificatesRequest) (*adminv1.ListCertificatesResponse, error) {
	items, next, err := listResources[adminv1.Certificate](ctx, s, certificates, "", req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	for i, c := range items {
		items[i] = withoutKey(c)
	}
	return &adminv1.ListCertificatesResponse{Certificates: items, NextPageToken: next}, nil
}

// UpdateCertificate updates a certificate, e.g. with a renewed chain (and
// key). An empty private key keeps the stored one.
func (s *Service) UpdateCertificate(ctx context.Context, req *adminv1.UpdateCertificateRequest) (*adminv1.Certificate, error) {
	c, err := updateResource(ctx, s, certificates, req.GetCertificate(), req.GetUpdateMask(), func(tx store.Tx, old, c *adminv1.Certificate) error {
		if c.GetPrivateKey() == "" {
			c.PrivateKey = old.GetPrivateKey()
		}
		if err := s.checkCertificate(c); err != nil {
			return err
		}
		// The domain mappings naming it must still be covered.
		mappings, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
		if err != nil {
			return err
		}
		leaf, _ := parseLeaf(c.GetCertificateChain())
		for _, m := range mappings {
			if m.GetCertificate() == c.GetName() && leaf != nil && leaf.VerifyHostname(m.GetDomain()) != nil {
				return invalidArgument("certificate.certificate_chain", "is not for %q, the domain of domain mapping %q that uses this certificate", m.GetDomain(), m.GetName())
			}
		}
		return nil
	})
	return withoutKey(c), err
}

// DeleteCertificate deletes a certificate that no domain mapping names.
func (s *Service) DeleteCertificate(ctx context.Context, req *adminv1.DeleteCertificateRequest) (*emptypb.Empty, error) {
	err := deleteResource(ctx, s, certificates, req.GetName(), req.GetEtag(), func(tx store.Tx, c *adminv1.Certificate) error {
		mappings, err := loadAll[adminv1.DomainMapping](tx, kindDomainMappings, "domainMappings/")
		if err != nil {
			return err
		}
		for _, m := range mappings {
			if m.GetCertificate() == c.GetName() {
				return preconditionFailed("DOMAIN_MAPPING_USES_CERTIFICATE", m.GetName(),
					"certificate %q is used by domain mapping %q (%s): change or delete the mapping first", c.GetName(), m.GetName(), m.GetDomain())
			}
		}
		return refuseIfBackendCertificate(tx, c.GetName())
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// checkCertificate validates c's chain and key at the service's clock and
// fills in the output-only fields that describe the leaf. Violations name
// the field at fault, never the key's content.
func (s *Service) checkCertificate(c *adminv1.Certificate) error {
	var v violations
	checkText(&v, "certificate.description", c.GetDescription(), 1024)
	chain, key := c.GetCertificateChain(), c.GetPrivateKey()
	switch {
	case chain == "":
		v.add("certificate.certificate_chain", "is required: the PEM certificate chain, leaf first")
	case len(chain) > maxPEMBytes:
		v.add("certificate.certificate_chain", "is longer than %d bytes", maxPEMBytes)
	}
	switch {
	case key == "":
		v.add("certificate.private_key", "is required: the PEM private key of the leaf certificate")
	case len(key) > maxPEMBytes:
		v.add("certificate.private_key", "is longer than %d bytes", maxPEMBytes)
	}
	if err := v.err(); err != nil {
		return err
	}
	cert, err := certs.ParsePair([]byte(chain), []byte(key), s.now())
	switch {
	case errors.Is(err, certs.ErrBadKey):
		// The parser's detail could quote key material: say only what
		// is wrong.
		return invalidArgument("certificate.private_key", "%s", certs.ErrBadKey)
	case errors.Is(err, certs.ErrKeyMismatch):
		return invalidArgument("certificate.private_key", "%s", err)
	case err != nil:
		return invalidArgument("certificate.certificate_chain", "%s", err)
	}
	describeCertificate(c, cert.Leaf)
	return nil
}

// describeCertificate sets the output-only fields of c from its leaf.
func describeCertificate(c *adminv1.Certificate, leaf *x509.Certificate) {
	c.DnsNames = certs.Names(leaf)
	c.NotBefore = timestamppb.New(leaf.NotBefore)
	c.NotAfter = timestamppb.New(leaf.NotAfter)
	c.Subject = leaf.Subject.String()
	c.Issuer = leaf.Issuer.String()
	c.SerialNumber = leaf.SerialNumber.Text(16)
	c.Sha256Fingerprint = certs.Fingerprint(leaf)
}

// parseLeaf returns the leaf of a stored PEM chain, without checking its
// validity period.
func parseLeaf(chainPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(chainPEM))
	if block == nil {
		return nil, certs.ErrBadChain
	}
	return x509.ParseCertificate(block.Bytes)
}

// withoutKey returns c without its private key (a copy: c may be what the
// store holds).
func withoutKey(c *adminv1.Certificate) *adminv1.Certificate {
	if c == nil || c.GetPrivateKey() == "" {
		return c
	}
	c = proto.Clone(c).(*adminv1.Certificate)
	c.PrivateKey = ""
	return c
}

// checkDomainTLS checks a domain mapping's TLS settings: the certificate
// it names exists and is for its domain; its mutual TLS truststore holds CA
// certificates and its mode is set.
func checkDomainTLS(tx store.Tx, v *violations, m *adminv1.DomainMapping) error {
	if age := m.GetHstsMaxAgeSeconds(); age < 0 || age > 63072000 {
		v.add("domain_mapping.hsts_max_age_seconds", "must be from 0 to 63072000 (two years), got %d", age)
	}
	if m.GetHstsIncludeSubdomains() && m.GetHstsMaxAgeSeconds() <= 0 {
		v.add("domain_mapping.hsts_include_subdomains", "needs hsts_max_age_seconds")
	}
	if mt := m.GetMutualTlsAuthentication(); mt != nil {
		if mt.GetMode() == adminv1.MutualTlsAuthentication_MODE_UNSPECIFIED {
			v.add("domain_mapping.mutual_tls_authentication.mode", "is required: MODE_REQUIRED or MODE_OPTIONAL")
		}
		switch ts := mt.GetTruststorePem(); {
		case ts == "":
			v.add("domain_mapping.mutual_tls_authentication.truststore_pem", "is required: the PEM CA certificates client certificates must chain to")
		case len(ts) > maxPEMBytes*4:
			v.add("domain_mapping.mutual_tls_authentication.truststore_pem", "is longer than %d bytes", maxPEMBytes*4)
		default:
			if _, err := certs.ParsePool([]byte(ts)); err != nil {
				v.add("domain_mapping.mutual_tls_authentication.truststore_pem", "%s", err)
			}
		}
	}
	return checkDomainCertificate(tx, v, m)
}

// checkDomainCertificate checks that the certificate a domain mapping names
// exists and is for its domain.
func checkDomainCertificate(tx store.Tx, v *violations, m *adminv1.DomainMapping) error {
	name := m.GetCertificate()
	if name == "" {
		return nil
	}
	if checkName(v, "domain_mapping.certificate", name, certificates.pattern) == nil {
		return nil
	}
	c, err := load[adminv1.Certificate](tx, kindCertificates, name)
	if errors.Is(err, store.ErrNotFound) {
		v.add("domain_mapping.certificate", "refers to certificate %q, which does not exist", name)
		return nil
	}
	if err != nil {
		return err
	}
	leaf, err := parseLeaf(c.GetCertificateChain())
	if err != nil {
		return fmt.Errorf("stored certificate %s: %w", name, err)
	}
	if d := m.GetDomain(); d != "" && leaf.VerifyHostname(d) != nil {
		v.add("domain_mapping.certificate", "certificate %q is for %s, not for %q", name, strings.Join(certs.Names(leaf), ", "), d)
	}
	return nil
}

// ServingCertificates returns every stored certificate with its private key,
// for the data plane's TLS port. They must never be returned by the API or
// logged.
func (s *Service) ServingCertificates(ctx context.Context) ([]*adminv1.Certificate, error) {
	var out []*adminv1.Certificate
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = loadAll[adminv1.Certificate](tx, kindCertificates, "certificates/")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("admin: read certificates: %w", err)
	}
	return out, nil
}

// refuseIfBackendCertificate fails when an API, a route or a deployment
// (whose snapshot a stage may serve) presents the certificate name to a
// backend (backend_tls.client_certificate).
func refuseIfBackendCertificate(tx store.Tx, name string) error {
	loaders := []func() ([]proto.Message, error){
		func() ([]proto.Message, error) { return asMessages(loadAll[adminv1.Api](tx, kindAPIs, "apis/")) },
		func() ([]proto.Message, error) { return asMessages(loadAll[adminv1.Route](tx, kindRoutes, "apis/")) },
		func() ([]proto.Message, error) {
			return asMessages(loadAll[adminv1.Deployment](tx, kindDeployments, "apis/"))
		},
	}
	for _, load := range loaders {
		msgs, err := load()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if usesClientCertificate(m.ProtoReflect(), name) {
				user := getString(m, "name")
				return preconditionFailed("INTEGRATION_USES_CERTIFICATE", user,
					"certificate %q is the backend client certificate of an integration of %q: change it (and redeploy, or delete old deployments) first", name, user)
			}
		}
	}
	return nil
}

// asMessages converts a loadAll result to proto.Messages.
func asMessages[P proto.Message](items []P, err error) ([]proto.Message, error) {
	out := make([]proto.Message, len(items))
	for i, m := range items {
		out[i] = m
	}
	return out, err
}

// usesClientCertificate reports whether m holds, at any depth, a BackendTls
// whose client_certificate is name.
func usesClientCertificate(m protoreflect.Message, name string) bool {
	if bt, ok := m.Interface().(*adminv1.BackendTls); ok {
		return bt.GetClientCertificate() == name
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil:
		case fd.IsList():
			for i := range v.List().Len() {
				if usesClientCertificate(v.List().Get(i).Message(), name) {
					found = true
					return false
				}
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					found = usesClientCertificate(mv.Message(), name)
					return !found
				})
			}
		default:
			found = usesClientCertificate(v.Message(), name)
		}
		return !found
	})
	return found
}
