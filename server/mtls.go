package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// mtlsPolicy is what a domain mapping's TLS settings demand of each
// request for its domain.
type mtlsPolicy struct {
	mtls     bool   // mutual TLS: only through the handshake for this name
	required bool   // a verified client certificate, not only the right SNI
	redirect bool   // cleartext requests are redirected to HTTPS
	hsts     string // the Strict-Transport-Security value, or ""
}

// hstsMaxAge is the largest HSTS max-age accepted: two years.
const hstsMaxAge = 63072000

// loadClientAuth asks for client certificates in the handshakes of the
// domains whose mappings have mutual TLS, and records what their requests
// must show (see checkMTLS). A truststore that no longer parses (it was
// checked when written) leaves its domain refusing every request rather
// than open.
func (s *Server) loadClientAuth(mappings []*adminv1.DomainMapping) {
	byName := make(map[string]certs.ClientAuth)
	policies := make(map[string]mtlsPolicy)
	for _, m := range mappings {
		pol := policies[m.GetDomain()] // several mappings (base paths) may share a domain
		pol.redirect = pol.redirect || m.GetRedirectHttpToHttps()
		if age := m.GetHstsMaxAgeSeconds(); age > 0 {
			pol.hsts = "max-age=" + strconv.Itoa(int(min(age, hstsMaxAge)))
			if m.GetHstsIncludeSubdomains() {
				pol.hsts += "; includeSubDomains"
			}
		}
		if pol != (mtlsPolicy{}) {
			policies[m.GetDomain()] = pol
		}
		mt := m.GetMutualTlsAuthentication()
		if mt == nil {
			continue
		}
		required := mt.GetMode() != adminv1.MutualTlsAuthentication_MODE_OPTIONAL
		pol.mtls, pol.required = true, required
		policies[m.GetDomain()] = pol
		pool, err := certs.ParsePool([]byte(mt.GetTruststorePem()))
		if err != nil {
			s.log.Error("mutual TLS truststore does not parse; every client certificate is refused", "domain_mapping", m.GetName(), "error", err)
			pool = certs.EmptyPool()
		}
		byName[m.GetDomain()] = certs.ClientAuth{CAs: pool, Required: required}
	}
	s.tls.certs.SetClientAuth(byName)
	s.tls.mtls.Store(&policies)
}

// checkMTLS decides whether a request for host, over a connection with TLS
// state st (nil for cleartext), may proceed. A domain with mutual TLS must
// have been asked for by SNI in the handshake, since only then were client
// certificates checked against its truststore: otherwise a client could
// handshake for another name and send this Host. It returns "" when the
// request may proceed, else the reason it may not.
func (s *Server) checkMTLS(host string, st *tls.ConnectionState) string {
	pol, ok := s.domainPolicy(host)
	return checkMTLS(pol, ok, strings.ToLower(strings.TrimSuffix(hostOnly(host), ".")), st)
}

// domainPolicy returns the TLS policy of the domain named by a Host or
// :authority, if its mapping has one.
func (s *Server) domainPolicy(host string) (mtlsPolicy, bool) {
	p := s.tls.mtls.Load()
	if p == nil || len(*p) == 0 {
		return mtlsPolicy{}, false
	}
	pol, ok := (*p)[strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))]
	return pol, ok
}

// checkMTLS is Server.checkMTLS for the policy pol of host.
func checkMTLS(pol mtlsPolicy, ok bool, host string, st *tls.ConnectionState) string {
	switch {
	case !ok || !pol.mtls:
		return ""
	case st == nil:
		return "domain " + host + " requires TLS with mutual authentication; use the TLS port"
	case !strings.EqualFold(strings.TrimSuffix(st.ServerName, "."), host):
		return "the TLS connection was not opened for " + host + " (SNI " + st.ServerName + "); connect again with SNI " + host
	case pol.required && len(st.VerifiedChains) == 0:
		return "domain " + host + " requires a client certificate"
	}
	return ""
}

// hostOnly strips the port, if any, from a Host header or :authority.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// withTLSState sets r.TLS on requests of TLS connections that net/http took
// for cleartext HTTP/2 (see connsplit.TLSConnectionState), so handlers see
// every HTTPS request as such; then applies the domain mapping's TLS
// settings: cleartext requests redirected to HTTPS, requests for
// mutual-TLS domains that did not come through their handshake refused
// (421 Misdirected Request), HSTS on HTTPS responses.
func (s *Server) withTLSState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r.TLS = connsplitTLSState(r)
		}
		pol, ok := s.domainPolicy(r.Host)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil && pol.redirect {
			if target := s.httpsURL(r); target != "" {
				http.Redirect(w, r, target, http.StatusPermanentRedirect)
				return
			}
		}
		if reason := checkMTLS(pol, ok, strings.ToLower(strings.TrimSuffix(hostOnly(r.Host), ".")), r.TLS); reason != "" {
			writeStatusJSON(w, http.StatusMisdirectedRequest, codes.PermissionDenied, reason)
			return
		}
		if r.TLS != nil && pol.hsts != "" {
			w.Header().Set("Strict-Transport-Security", pol.hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// mtlsInterceptor applies checkMTLS to natively served gRPC calls, by their
// :authority and their connection's TLS state. REST and HTTP calls were
// checked by withTLSState already.
func (s *Server) mtlsInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		c := callinfo.FromContext(ctx)
		if c == nil || c.Protocol != callinfo.GRPC {
			return handler(srv, ss)
		}
		if p := s.tls.mtls.Load(); p == nil || len(*p) == 0 {
			// No domain requires mutual TLS (checkMTLS would pass the
			// call): nothing of the call needs to be read.
			return handler(srv, ss)
		}
		var st *tls.ConnectionState
		if p, ok := peer.FromContext(ctx); ok {
			if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
				st = &ti.State
			}
		}
		authority := ""
		// From the call record: no copy of the value (as
		// metadata.ValueFromIncomingContext makes) on the frame server.
		if v := c.MetadataValues(ctx, ":authority"); len(v) > 0 {
			authority = v[0]
		}
		if reason := s.checkMTLS(authority, st); reason != "" {
			return status.Error(codes.PermissionDenied, reason)
		}
		return handler(srv, ss)
	}
}

// httpsURL is r's URL on the TLS port, or "" without a TLS listener.
func (s *Server) httpsURL(r *http.Request) string {
	addr := s.TLSAddr()
	if addr == "" {
		return ""
	}
	_, port, _ := net.SplitHostPort(addr)
	host := hostOnly(r.Host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if port != "443" {
		host += ":" + port
	}
	return "https://" + host + r.URL.RequestURI()
}
