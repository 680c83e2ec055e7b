package ipacl_test

import (
	"net/netip"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/ipacl"
)

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::/0", "::/0"},
		{"", ""},
		{"10.0.0.0/33", ""},
		{"10.0.0", ""},
		{"fe80::1%eth0", ""},
		{"example.com", ""},
		{"::ffff:0:0/8", ""},
		{" 10.0.0.1", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ipacl.ParsePrefix(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("ParsePrefix(%q) = %v, want an error", tc.in, p)
				}
				return
			}
			if err != nil || p.String() != tc.want {
				t.Fatalf("ParsePrefix(%q) = %v, %v; want %s", tc.in, p, err, tc.want)
			}
		})
	}
}

func TestPolicyAdmits(t *testing.T) {
	mustRule := func(allow, deny []string) *ipacl.Rule {
		r, err := ipacl.Compile(allow, deny)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	internal := mustRule([]string{"10.0.0.0/8", "2001:db8::/32"}, []string{"10.9.0.0/16", "2001:db8:bad::/48"})
	denyOnly := mustRule(nil, []string{"203.0.113.0/24"})
	for _, tc := range []struct {
		name   string
		policy ipacl.Policy
		addr   string
		want   bool
	}{
		{"nil policy", nil, "198.51.100.1", true},
		{"empty rule", ipacl.Policy{mustRule(nil, nil)}, "198.51.100.1", true},
		{"allowed v4", ipacl.Policy{internal}, "10.1.2.3", true},
		{"allowed v4-mapped", ipacl.Policy{internal}, "::ffff:10.1.2.3", true},
		{"not in allow list", ipacl.Policy{internal}, "198.51.100.1", false},
		{"deny wins over allow", ipacl.Policy{internal}, "10.9.1.1", false},
		{"allowed v6", ipacl.Policy{internal}, "2001:db8::5", true},
		{"denied v6", ipacl.Policy{internal}, "2001:db8:bad::5", false},
		{"v6 not allowed", ipacl.Policy{internal}, "2001:db9::1", false},
		{"deny only, other", ipacl.Policy{denyOnly}, "198.51.100.1", true},
		{"deny only, denied", ipacl.Policy{denyOnly}, "203.0.113.9", false},
		{"every level must admit", ipacl.Policy{internal, denyOnly}, "10.1.2.3", true},
		{"a later level refuses", ipacl.Policy{denyOnly, internal}, "198.51.100.1", false},
		{"unparsable address, allow list", ipacl.Policy{internal}, "nonsense", false},
		{"unparsable address, deny list", ipacl.Policy{denyOnly}, "nonsense", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Admits(ipacl.ParseAddr(tc.addr)); got != tc.want {
				t.Fatalf("Admits(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func TestCompileNamesTheEntry(t *testing.T) {
	_, err := ipacl.Compile([]string{"10.0.0.0/8"}, []string{"10.0.0.0/8", "bad"})
	if err == nil || err.Error()[:7] != "deny[1]" {
		t.Fatalf("Compile error = %v, want one naming deny[1]", err)
	}
}

// FuzzParsePrefix checks that an accepted entry is canonical and contains
// its own address.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:1.2.3.4/120", "fe80::1%x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ipacl.ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("ParsePrefix(%q) = %v, not canonical", s, p)
		}
		again, err := ipacl.ParsePrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("ParsePrefix(%q) = %v, %v; want %v", p.String(), again, err, p)
		}
		if !p.Contains(p.Addr()) || !(ipacl.Policy{mustCompile(t, p.String())}).Admits(netip.PrefixFrom(p.Addr(), p.Addr().BitLen()).Addr()) {
			t.Fatalf("%v does not admit its own address", p)
		}
	})
}

func mustCompile(t *testing.T, allow string) *ipacl.Rule {
	r, err := ipacl.Compile([]string{allow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
