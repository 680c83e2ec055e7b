package forwarded

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Header names the gateway sets on every request it forwards.
const (
	XForwardedFor   = "X-Forwarded-For"
	XForwardedHost  = "X-Forwarded-Host"
	XForwardedProto = "X-Forwarded-Proto"
	Forwarded       = "Forwarded"
	XRealIP         = "X-Real-Ip"
)

// Names lists the headers the gateway sets, in canonical form.
var Names = []string{XForwardedFor, XForwardedHost, XForwardedProto, Forwarded, XRealIP}

// Proxies is the set of trusted proxies. The zero value and nil trust
// nobody. It is safe for concurrent use.
type Proxies struct {
	prefixes []netip.Prefix
}

// NewProxies returns the set of proxies in prefixes (masked).
func NewProxies(prefixes []netip.Prefix) *Proxies {
	p := &Proxies{}
	for _, pf := range prefixes {
		p.prefixes = append(p.prefixes, pf.Masked())
	}
	return p
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes
// ("10.0.0.0/8, fd00::/8"); a bare address is a single-address prefix.
// Empty input is an empty list.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", item, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither a CIDR prefix nor an IP address: %w", item, err)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Trusted reports whether ip is a trusted proxy.
func (p *Proxies) Trusted(ip netip.Addr) bool {
	if p == nil || !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, pf := range p.prefixes {
		if pf.Contains(ip) {
			return true
		}
	}
	return false
}

// Request is what arrived: the connection and the forwarding headers.
type Request struct {
	// Peer is the connection's remote address ("host:port" or "host").
	Peer string
	// Host is the Host header or :authority the client sent.
	Host string
	// TLS reports whether the connection was TLS.
	TLS bool
	// XForwardedFor, XForwardedHost, XForwardedProto and Forwarded are the
	// received headers' values (each value as received; may be nil).
	XForwardedFor, XForwardedHost, XForwardedProto, Forwarded []string
}

// Result is what the gateway asserts: the values of its headers, and the
// client IP.
type Result struct {
	// ClientIP is the client's address: the peer's, or behind trusted
	// proxies the right-most untrusted X-Forwarded-For address.
	ClientIP string
	// XForwardedFor, XForwardedHost, XForwardedProto, Forwarded are the
	// values to send; X-Real-IP is ClientIP.
	XForwardedFor, XForwardedHost, XForwardedProto, Forwarded string
}

// Resolve computes what the gateway forwards for r.
func (p *Proxies) Resolve(r Request) Result {
	peer := hostOf(r.Peer)
	peerIP, peerErr := netip.ParseAddr(peer)
	if peerErr == nil {
		// One spelling of an address everywhere ("::ffff:10.0.0.1" is
		// 10.0.0.1, "::0" is "::"), as the chain's addresses are written.
		peerIP = peerIP.Unmap()
		peer = peerIP.String()
	}
	proto := "http"
	if r.TLS {
		proto = "https"
	}
	res := Result{ClientIP: peer, XForwardedFor: peer, XForwardedHost: r.Host, XForwardedProto: proto}
	own := "for=" + forNode(peer) + ";host=" + quote(r.Host) + ";proto=" + proto
	res.Forwarded = own
	if peerErr != nil || !p.Trusted(peerIP) {
		return res
	}
	var chain []string
	for _, v := range r.XForwardedFor {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				chain = append(chain, item)
			}
		}
	}
	if len(chain) > 0 {
		res.XForwardedFor = strings.Join(chain, ", ") + ", " + peer
	}
	// The right-most address not itself a trusted proxy is the client; an
	// entry that is no address ends the walk at the last trusted hop.
	for i := len(chain) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hostOf(chain[i]))
		if err != nil {
			break
		}
		res.ClientIP = a.Unmap().String()
		if !p.Trusted(a) {
			break
		}
	}
	if h := firstNonEmpty(r.XForwardedHost); h != "" {
		res.XForwardedHost = h
	}
	if pr := firstNonEmpty(r.XForwardedProto); pr != "" {
		res.XForwardedProto = pr
	}
	if len(r.Forwarded) > 0 {
		res.Forwarded = strings.Join(r.Forwarded, ", ") + ", " + own
	}
	return res
}

// hostOf returns the host of "host:port", "[v6]:port" or a bare address.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	// A bracketed IPv6 address without a port; anything half-bracketed is
	// left as it is, so that it parses as no address (and is never
	// trusted).
	if len(addr) >= 2 && addr[0] == '[' && addr[len(addr)-1] == ']' {
		return addr[1 : len(addr)-1]
	}
	return addr
}

// forNode is an address as a Forwarded "for" node (RFC 7239: IPv6 in
// quoted brackets).
func forNode(ip string) string {
	if strings.Contains(ip, ":") {
		return `"[` + ip + `]"`
	}
	if ip == "" {
		return "unknown"
	}
	return ip
}

// quote is s as an RFC 7239 quoted-string.
func quote(s string) string {
	if strings.ContainsAny(s, `\"`) {
		s = quoteEscaper.Replace(s)
	}
	return `"` + s + `"`
}

// quoteEscaper escapes a quoted-string's content; made once, as building a
// Replacer costs several allocations and it runs on every call.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func firstNonEmpty(vs []string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
