package admin

import (
	"net"
	"net/url"
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// validateBackendTLS checks an integration's backend_tls: a CA bundle that
// parses, a certificate name, a server name without port.
func validateBackendTLS(v *violations, field string, bt *adminv1.BackendTls) {
	if bt == nil {
		return
	}
	if ca := bt.GetCaPem(); ca != "" {
		if len(ca) > maxPEMBytes*4 {
			v.add(field+".ca_pem", "is longer than %d bytes", maxPEMBytes*4)
		} else if _, err := certs.ParsePool([]byte(ca)); err != nil {
			v.add(field+".ca_pem", "%s", err)
		}
	}
	if c := bt.GetClientCertificate(); c != "" {
		checkName(v, field+".client_certificate", c, certificates.pattern)
	}
	if sn := bt.GetServerName(); sn != "" && (len(sn) > 253 || !domainPattern.MatchString(strings.ToLower(sn))) {
		if net.ParseIP(sn) == nil {
			v.add(field+".server_name", "must be a host name without port, e.g. \"orders.internal\" (got %s)", quoteShort(sn))
		}
	}
}

// validateHTTPBackendTLS checks the TLS and HTTP/2 settings of an HTTP
// integration against its URI's scheme.
func validateHTTPBackendTLS(v *violations, field string, h *adminv1.HttpIntegration) {
	validateBackendTLS(v, field+".backend_tls", h.GetBackendTls())
	u, err := url.Parse(withPlaceholders(h.GetUri()))
	if err != nil {
		return // reported with the URI
	}
	if h.GetBackendTls() != nil && u.Scheme == "http" {
		v.add(field+".backend_tls", "needs an https:// uri")
	}
	if h.GetH2C() && u.Scheme == "https" {
		v.add(field+".h2c", "is cleartext HTTP/2, for http:// uris; https:// backends negotiate HTTP/2 by ALPN")
	}
	if h.GetBackendTls() != nil && h.GetInsecureSkipVerify() {
		v.add(field+".insecure_skip_verify", "set backend_tls.insecure_skip_verify instead when backend_tls is set")
	}
}
