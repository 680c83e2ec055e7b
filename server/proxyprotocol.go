package server

import (
	"net"

	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/internal/proxyproto"
)

// withProxyProtocol wraps the data listener to read PROXY protocol headers
// from the trusted proxies when Config.ProxyProtocol is set.
func (s *Server) withProxyProtocol(ln net.Listener) net.Listener {
	if !s.cfg.ProxyProtocol {
		return ln
	}
	prefixes, _ := forwarded.ParsePrefixes(s.cfg.TrustedProxies) // Validate checked it
	return proxyproto.NewListener(ln, forwarded.NewProxies(prefixes).Trusted)
}
