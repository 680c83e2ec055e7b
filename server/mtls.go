package server

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/callinfo"
	"github.com/tollgate-gw/tollgate/server/certs"
)

// mtlsPolicy is what a domain with mutual TLS demands of each request.
type mtlsPolicy struct {
	required bool // a verified client certificate, not only the right SNI
}

// loadClientAuth asks for client certificates in the handshakes of the
// domains whose mappings have mutual TLS, and records what their requests
// must show (see checkMTLS). A truststore that no longer parses (it was
// checked when written) leaves its domain refusing every request rather
// than open.
func (s *Server) loadClientAuth(mappings []*adminv1.DomainMapping) {
	byName := make(map[string]certs.ClientAuth)
	policies := make(map[string]mtlsPolicy)
	for _, m := range mappings {
		mt := m.GetMutualTlsAuthentication()
		if mt == nil {
			continue
		}
		required := mt.GetMode() != adminv1.MutualTlsAuthentication_MODE_OPTIONAL
		policies[m.GetDomain()] = mtlsPolicy{required: required}
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
	p := s.tls.mtls.Load()
	if p == nil || len(*p) == 0 {
		return ""
	}
	host = strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))
	pol, ok := (*p)[host]
	switch {
	case !ok:
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
// every HTTPS request as such, and refuses requests for mutual-TLS domains
// that did not come through their handshake (421 Misdirected Request).
func (s *Server) withTLSState(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			r.TLS = connsplitTLSState(r)
		}
		if reason := s.checkMTLS(r.Host, r.TLS); reason != "" {
			writeStatusJSON(w, http.StatusMisdirectedRequest, codes.PermissionDenied, reason)
			return
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
		if c := callinfo.FromContext(ctx); c == nil || c.Protocol != callinfo.GRPC {
			return handler(srv, ss)
		}
		var st *tls.ConnectionState
		if p, ok := peer.FromContext(ctx); ok {
			if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
				st = &ti.State
			}
		}
		authority := ""
		if v := metadata.ValueFromIncomingContext(ctx, ":authority"); len(v) > 0 {
			authority = v[0]
		}
		if reason := s.checkMTLS(authority, st); reason != "" {
			return status.Error(codes.PermissionDenied, reason)
		}
		return handler(srv, ss)
	}
}
