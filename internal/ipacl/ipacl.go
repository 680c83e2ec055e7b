package ipacl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MaxEntries bounds each allow and deny list.
const MaxEntries = 1000

// ParsePrefix parses one entry of a list: an IPv4 or IPv6 CIDR
// ("10.0.0.0/8", "2001:db8::/32") or a single address ("192.0.2.7", which
// is "192.0.2.7/32"). Host bits are cleared ("10.1.2.3/8" is "10.0.0.0/8");
// IPv4-mapped IPv6 prefixes are kept as IPv4 ones; zones are refused.
func ParsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("must be an IP address or CIDR, not empty")
	}
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR without a zone (got %q)", s)
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR such as 10.0.0.0/8 or 2001:db8::/32 (got %q)", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR such as 10.0.0.0/8 or 2001:db8::/32 (got %q)", s)
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("an IPv4-mapped prefix must be /96 or longer (got %q)", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Rule is one level's allow and deny lists, compiled. The zero Rule admits
// every address.
type Rule struct {
	allow, deny []netip.Prefix
}

// Compile parses allow and deny lists into a Rule. The error names the
// first bad entry as "allow[i]" or "deny[i]".
func Compile(allow, deny []string) (*Rule, error) {
	r := &Rule{}
	var err error
	if r.allow, err = parseList("allow", allow); err != nil {
		return nil, err
	}
	if r.deny, err = parseList("deny", deny); err != nil {
		return nil, err
	}
	return r, nil
}

func parseList(name string, list []string) ([]netip.Prefix, error) {
	if len(list) > MaxEntries {
		return nil, fmt.Errorf("%s: at most %d entries (got %d)", name, MaxEntries, len(list))
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Admits reports whether the rule lets addr call: no deny prefix contains
// it, and the allow list is empty or a prefix of it contains it. An invalid
// addr is admitted only by a rule with neither list.
func (r *Rule) Admits(addr netip.Addr) bool {
	if r == nil {
		return true
	}
	for _, p := range r.deny {
		if p.Contains(addr) {
			return false
		}
	}
	if len(r.allow) == 0 {
		return len(r.deny) == 0 || addr.IsValid()
	}
	for _, p := range r.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Policy is the rules of every level that applies to a call (API, stage,
// route settings, route): each must admit the caller. A nil Policy admits
// every address.
type Policy []*Rule

// Admits reports whether every rule admits addr.
func (p Policy) Admits(addr netip.Addr) bool {
	for _, r := range p {
		if !r.Admits(addr) {
			return false
		}
	}
	return true
}

// ParseAddr parses a client address for Admits: IPv4-mapped IPv6 addresses
// become IPv4 and zones are dropped, so that "::ffff:10.0.0.1" matches
// 10.0.0.0/8. It returns the zero Addr for a string that is not an address.
func ParseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}
