package origin_test

import (
	"testing"

	"github.com/tollgate-gw/tollgate/internal/origin"
)

func TestAllowed(t *testing.T) {
	patterns := []string{"https://app.example.com", "https://*.example.org", "http://localhost:3000"}
	tests := []struct {
		origin, host string
		want         bool
	}{
		{"", "gw.example.com", true},
		{"https://gw.example.com", "gw.example.com", true},
		{"https://GW.example.com", "gw.example.com:443", false},
		{"http://gw.example.com:8080", "gw.example.com:8080", true},
		{"https://app.example.com", "gw", true},
		{"HTTPS://APP.EXAMPLE.COM", "gw", true},
		{"http://app.example.com", "gw", false},
		{"https://app.example.com:8443", "gw", false},
		{"https://a.example.org", "gw", true},
		{"https://a.b.example.org", "gw", true},
		{"https://example.org", "gw", false},
		{"https://evilexample.org", "gw", false},
		{"https://a.example.org:8443", "gw", false},
		{"http://localhost:3000", "gw", true},
		{"https://evil.example", "gw", false},
		{"null", "gw", false},
		{"https://app.example.com/path", "gw", false},
		{"not an origin", "gw", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin+"@"+tt.host, func(t *testing.T) {
			if got := origin.Allowed(tt.origin, tt.host, patterns); got != tt.want {
				t.Fatalf("Allowed(%q, %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
			}
		})
	}
	if !origin.Allowed("null", "gw", []string{"*"}) {
		t.Errorf(`"*" does not allow every origin`)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		pattern string
		ok      bool
	}{
		{"*", true},
		{"https://app.example.com", true},
		{"http://localhost:3000", true},
		{"https://*.example.com", true},
		{"https://*.example.com:8443", true},
		{"ftp://example.com", false},
		{"https://example.com/path", false},
		{"https://a.*.example.com", false},
		{"https://*", false},
		{"example.com", false},
		{"https://user@example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if err := origin.Check(tt.pattern); (err == nil) != tt.ok {
				t.Fatalf("Check(%q) = %v, want ok %v", tt.pattern, err, tt.ok)
			}
		})
	}
}
