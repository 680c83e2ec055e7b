package forwarded_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/forwarded"
)

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    string // prefixes joined by " "; "!" = error
		trusted []string
	}{
		{"", "", nil},
		{"10.0.0.0/8", "10.0.0.0/8", []string{"10.1.2.3"}},
		{" 10.1.2.3/8 , 192.168.1.1,fd00::/8", "10.0.0.0/8 192.168.1.1/32 fd00::/8", []string{"192.168.1.1", "fd00::1", "::ffff:10.0.0.1"}},
		{"10.0.0.0/33", "!", nil},
		{"proxy.example", "!", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := forwarded.ParsePrefixes(tt.in)
			if tt.want == "!" {
				if err == nil {
					t.Fatalf("ParsePrefixes(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if err != nil || strings.Join(s, " ") != tt.want {
				t.Fatalf("ParsePrefixes(%q) = %v, %v; want %q", tt.in, s, err, tt.want)
			}
			p := forwarded.NewProxies(got)
			for _, a := range tt.trusted {
				if !p.Trusted(netip.MustParseAddr(a)) {
					t.Errorf("%s is not trusted", a)
				}
			}
			if p.Trusted(netip.MustParseAddr("203.0.113.1")) {
				t.Error("203.0.113.1 is trusted")
			}
		})
	}
}

func TestResolve(t *testing.T) {
	trusted := forwarded.NewProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	tests := []struct {
		name    string
		proxies *forwarded.Proxies
		req     forwarded.Request
		want    forwarded.Result
	}{
		{
			"untrusted peer: every client value replaced", trusted,
			forwarded.Request{Peer: "203.0.113.7:5555", Host: "api.example", XForwardedFor: []string{"1.2.3.4"}, XForwardedHost: []string{"evil.example"}, XForwardedProto: []string{"https"}, Forwarded: []string{"for=1.2.3.4"}},
			forwarded.Result{ClientIP: "203.0.113.7", XForwardedFor: "203.0.113.7", XForwardedHost: "api.example", XForwardedProto: "http", Forwarded: `for=203.0.113.7;host="api.example";proto=http`},
		},
		{
			"no trusted proxies at all", nil,
			forwarded.Request{Peer: "10.0.0.1:1", Host: "h", XForwardedFor: []string{"1.2.3.4"}},
			forwarded.Result{ClientIP: "10.0.0.1", XForwardedFor: "10.0.0.1", XForwardedHost: "h", XForwardedProto: "http", Forwarded: `for=10.0.0.1;host="h";proto=http`},
		},
		{
			"trusted peer: appended, right-most untrusted is the client", trusted,
			forwarded.Request{Peer: "10.0.0.1:1", Host: "internal", TLS: true, XForwardedFor: []string{"6.6.6.6, 198.51.100.2", "10.9.9.9"}, XForwardedHost: []string{"api.example"}, XForwardedProto: []string{"https"}, Forwarded: []string{"for=198.51.100.2"}},
			forwarded.Result{ClientIP: "198.51.100.2", XForwardedFor: "6.6.6.6, 198.51.100.2, 10.9.9.9, 10.0.0.1", XForwardedHost: "api.example", XForwardedProto: "https", Forwarded: `for=198.51.100.2, for=10.0.0.1;host="internal";proto=https`},
		},
		{
			"trusted peer without forwarding headers", trusted,
			forwarded.Request{Peer: "10.0.0.1:1", Host: "h"},
			forwarded.Result{ClientIP: "10.0.0.1", XForwardedFor: "10.0.0.1", XForwardedHost: "h", XForwardedProto: "http", Forwarded: `for=10.0.0.1;host="h";proto=http`},
		},
		{
			"garbage in the chain stops at the last trusted hop", trusted,
			forwarded.Request{Peer: "10.0.0.1:1", Host: "h", XForwardedFor: []string{"1.2.3.4, not-an-ip, 10.2.2.2"}},
			forwarded.Result{ClientIP: "10.2.2.2", XForwardedFor: "1.2.3.4, not-an-ip, 10.2.2.2, 10.0.0.1", XForwardedHost: "h", XForwardedProto: "http", Forwarded: `for=10.0.0.1;host="h";proto=http`},
		},
		{
			"IPv6 peer", nil,
			forwarded.Request{Peer: "[2001:db8::1]:443", Host: `we"ird`},
			forwarded.Result{ClientIP: "2001:db8::1", XForwardedFor: "2001:db8::1", XForwardedHost: `we"ird`, XForwardedProto: "http", Forwarded: `for="[2001:db8::1]";host="we\"ird";proto=http`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.proxies.Resolve(tt.req); got != tt.want {
				t.Errorf("Resolve =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzResolve checks that whatever a client sends, an untrusted peer's
// result holds no client value, and a trusted peer's client IP is the peer
// or an address of the received chain.
func FuzzResolve(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", "evil.example", "10.0.0.0/8")
	f.Add("203.0.113.1:1", "x", "y", "")
	f.Add("[::1]:1", ",,, ::1 ,", "", "::1, 10.0.0.0/8")
	f.Fuzz(func(t *testing.T, peer, xff, xfh, trustedList string) {
		prefixes, err := forwarded.ParsePrefixes(trustedList)
		if err != nil {
			return
		}
		p := forwarded.NewProxies(prefixes)
		res := p.Resolve(forwarded.Request{Peer: peer, Host: "gw", XForwardedFor: []string{xff}, XForwardedHost: []string{xfh}})
		// The peer's address as the package reads it: host:port, or an
		// address alone (an IPv6 one possibly bracketed).
		host := peer
		if h, _, err := net.SplitHostPort(peer); err == nil {
			host = h
		} else if len(peer) >= 2 && peer[0] == '[' && peer[len(peer)-1] == ']' {
			host = peer[1 : len(peer)-1]
		}
		if a, err := netip.ParseAddr(host); err != nil || !p.Trusted(a) {
			if res.XForwardedHost != "gw" || res.XForwardedFor != res.ClientIP {
				t.Fatalf("untrusted peer %q: result %+v holds client values", peer, res)
			}
			return
		}
		// The client IP is the peer or an address of the chain, in its
		// normal form (case and IPv4-mapped forms normalized).
		allowed := map[string]bool{netip.MustParseAddr(host).Unmap().String(): true}
		for item := range strings.SplitSeq(xff, ",") {
			item = strings.TrimSpace(item)
			if h, _, err := net.SplitHostPort(item); err == nil {
				item = h
			} else if len(item) >= 2 && item[0] == '[' && item[len(item)-1] == ']' {
				item = item[1 : len(item)-1]
			}
			if a, err := netip.ParseAddr(item); err == nil {
				allowed[a.Unmap().String()] = true
			}
		}
		if !allowed[res.ClientIP] {
			t.Fatalf("client IP %q is neither the peer %q nor in the chain %q", res.ClientIP, peer, xff)
		}
	})
}
