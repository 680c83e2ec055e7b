package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/netguard"
)

func TestCheckHost(t *testing.T) {
	tests := []struct {
		host      string
		forbidden bool
	}{
		{"169.254.169.254", true},
		{"169.254.0.1", true},
		{"[fe80::1]", true},
		{"fe80::1%eth0", true},
		{"fd00:ec2::254", true},
		{"::ffff:169.254.169.254", true},
		{"100.100.100.200", true},
		{"metadata.google.internal", true},
		{"Metadata.Google.Internal.", true},
		{"metadata", true},
		{"instance-data", true},
		{"127.0.0.1", false},
		{"10.0.0.5", false},
		{"169.253.255.255", false},
		{"[::1]", false},
		{"orders.internal", false},
		{"metadata.example.com", false},
		{"x", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := netguard.CheckHost(tt.host)
			if got := errors.Is(err, netguard.ErrForbiddenAddress); got != tt.forbidden {
				t.Fatalf("CheckHost(%q) = %v, want forbidden %v", tt.host, err, tt.forbidden)
			}
		})
	}
}

func TestIsForbiddenIP(t *testing.T) {
	for _, s := range []string{"169.254.169.254", "fe80::abcd", "fd00:ec2::254"} {
		if !netguard.IsForbiddenIP(netip.MustParseAddr(s)) {
			t.Errorf("%s is not forbidden", s)
		}
	}
	if netguard.IsForbiddenIP(netip.MustParseAddr("192.168.1.1")) {
		t.Errorf("192.168.1.1 is forbidden")
	}
}

// TestDialerRefuses: the dialer refuses a link-local address before any
// packet is sent, and still dials loopback.
func TestDialerRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := netguard.GRPCDialer()
	c, err := dial(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	_ = c.Close()
	if _, err := dial(context.Background(), "169.254.169.254:80"); !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Fatalf("169.254.169.254: %v, want ErrForbiddenAddress", err)
	}
}
