package admin

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/netguard"
)

// checkDestinations refuses the targets of m (an Api, Route or Authorizer)
// that point at link-local or cloud metadata addresses, unless the service
// allows them (WithLinkLocalTargets). Only what is known when the target is
// written is checked: IP literals and metadata host names. A name that
// resolves to such an address, or a stage variable holding one, is refused
// by the data plane's dialers.
func (s *Service) checkDestinations(v *violations, field string, m proto.Message) {
	if s.allowLinkLocal {
		return
	}
	switch m := m.(type) {
	case *adminv1.Api:
		if r := m.GetReflection(); r != nil {
			checkDestination(v, field+".reflection.target", grpcTargetHost(r.GetTarget()))
		}
		checkIntegrationDestination(v, field+".default_integration", m.GetDefaultIntegration())
	case *adminv1.Route:
		checkIntegrationDestination(v, field+".integration", m.GetIntegration())
	case *adminv1.Authorizer:
		if c := m.GetCustom(); c != nil {
			if g := c.GetGrpc(); g != nil {
				checkDestination(v, field+".custom.grpc.target", grpcTargetHost(g.GetTarget()))
			}
			if h := c.GetHttp(); h != nil {
				checkDestination(v, field+".custom.http.uri", urlHost(h.GetUri()))
			}
		}
		if u := m.GetJwt().GetJwksUri(); u != "" {
			checkDestination(v, field+".jwt.jwks_uri", urlHost(u))
		}
	}
}

// checkIntegrationDestination checks the target of an integration.
func checkIntegrationDestination(v *violations, field string, in *adminv1.Integration) {
	if g := in.GetGrpc(); g != nil {
		checkDestination(v, field+".grpc.target", grpcTargetHost(g.GetTarget()))
		checkTargetsDestination(v, field+".grpc.targets", g.GetTargets())
	}
	if h := in.GetHttp(); h != nil {
		checkDestination(v, field+".http.uri", urlHost(h.GetUri()))
		checkTargetsDestination(v, field+".http.targets", h.GetTargets())
	}
}

// checkTargetsDestination checks the addresses of an integration's targets.
func checkTargetsDestination(v *violations, field string, targets []*adminv1.Target) {
	for i, t := range targets {
		host, _, err := net.SplitHostPort(t.GetAddress())
		if err == nil {
			checkDestination(v, fmt.Sprintf("%s[%d].address", field, i), host)
		}
	}
}

// checkDestination records a violation if host is forbidden.
func checkDestination(v *violations, field, host string) {
	if host == "" {
		return
	}
	if err := netguard.CheckHost(host); err != nil {
		v.add(field, "must not point at a link-local or cloud metadata address (%s): such a target can read the gateway host's cloud credentials; start the gateway with --allow-link-local-targets if it is intended", quoteShort(host))
	}
}

// grpcTargetHost returns the host of a gRPC target ("host:port",
// "dns:///host:port", "dns://resolver/host:port"), or "" for targets
// without one (Unix sockets) or that do not parse (reported elsewhere).
func grpcTargetHost(t string) string {
	endpoint := t
	if scheme, rest, ok := strings.Cut(t, "://"); ok {
		if strings.HasPrefix(scheme, "unix") {
			return ""
		}
		u, err := url.Parse(t)
		if err != nil {
			return ""
		}
		endpoint = strings.TrimPrefix(u.Path, "/")
		if endpoint == "" {
			endpoint = rest
		}
	} else if strings.HasPrefix(t, "unix:") {
		return ""
	}
	if host, _, err := net.SplitHostPort(endpoint); err == nil {
		return host
	}
	return endpoint
}

// urlHost returns the host of a URL, or "".
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
