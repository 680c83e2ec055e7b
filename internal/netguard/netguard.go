package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is wrapped by the errors of addresses the gateway
// does not connect to unless allowed.
var ErrForbiddenAddress = errors.New("link-local or cloud metadata address")

// forbiddenPrefixes are the link-local ranges, which hold the metadata
// services of AWS, GCP, Azure, OpenStack and others (169.254.169.254).
var forbiddenPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
}

// forbiddenAddrs are metadata services outside the link-local ranges.
var forbiddenAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS instance metadata over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud metadata
}

// metadataHosts are host names of cloud metadata services.
var metadataHosts = map[string]bool{
	"metadata":                   true,
	"metadata.google.internal":   true,
	"metadata.goog":              true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
	"metadata.azure.internal":    true,
}

// IsForbiddenIP reports whether ip is link-local (169.254.0.0/16,
// fe80::/10, IPv4-mapped forms included) or a known cloud metadata address
// (fd00:ec2::254, 100.100.100.200).
func IsForbiddenIP(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range forbiddenPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	for _, a := range forbiddenAddrs {
		if a == ip {
			return true
		}
	}
	return false
}

// IsMetadataHost reports whether host (without port, any case, with or
// without a trailing dot) is the name of a cloud metadata service, such as
// metadata.google.internal or instance-data.
func IsMetadataHost(host string) bool {
	return metadataHosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// CheckHost returns an error wrapping ErrForbiddenAddress if host (without
// port; IPv6 with or without brackets) is a forbidden IP literal or a
// metadata host name. Other names are not resolved: Control checks what
// they resolve to when they are dialled.
func CheckHost(host string) error {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(h); err == nil {
		if IsForbiddenIP(ip) {
			return fmt.Errorf("%s is a %w", host, ErrForbiddenAddress)
		}
		return nil
	}
	if IsMetadataHost(h) {
		return fmt.Errorf("%s is the name of a cloud metadata service (%w)", host, ErrForbiddenAddress)
	}
	return nil
}

// Control is a net.Dialer Control function that refuses to connect to a
// forbidden address. It sees the address after name resolution.
func Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // not an IP socket address (a Unix socket)
	}
	if IsForbiddenIP(ap.Addr()) {
		return fmt.Errorf("netguard: refusing to connect to %s: %w", address, ErrForbiddenAddress)
	}
	return nil
}

// Dialer returns a net.Dialer with the timeout and keep-alive given that
// refuses forbidden addresses.
func Dialer(timeout, keepAlive time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: keepAlive, Control: Control}
}

// GRPCDialer returns a dialer for grpc.WithContextDialer that refuses
// forbidden addresses. It dials TCP, and Unix sockets for "unix:" targets
// (which grpc-go hands a custom dialer as "unix:PATH" or "unix://PATH").
func GRPCDialer() func(ctx context.Context, addr string) (net.Conn, error) {
	d := Dialer(20*time.Second, 30*time.Second)
	return func(ctx context.Context, addr string) (net.Conn, error) {
		switch {
		case strings.HasPrefix(addr, "unix://"):
			return d.DialContext(ctx, "unix", strings.TrimPrefix(addr, "unix://"))
		case strings.HasPrefix(addr, "unix:"):
			return d.DialContext(ctx, "unix", strings.TrimPrefix(addr, "unix:"))
		case strings.HasPrefix(addr, "\x00"):
			return d.DialContext(ctx, "unix", addr)
		}
		return d.DialContext(ctx, "tcp", addr)
	}
}
