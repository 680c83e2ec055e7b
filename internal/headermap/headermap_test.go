package headermap_test

import (
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/headermap"
)

func TestValidatePattern(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		ok      bool
	}{
		{"x-user-id", true},
		{"X-User-Id", true},
		{"x-custom-*", true},
		{"x-*", true},
		{"cookie", true},
		{"a.b_c", true},
		{"", false},
		{"*", false},
		{"x custom", false},
		{"x-custom:", false},
		{"x-*-y", false},
		{"content-type", false},
		{"User-Agent", false},
		{"x-forwarded-for", false},
		{"grpc-timeout", false},
		{"grpc-*", false},
		{"grpc*", false},
		{"x-tollgate-stage", false},
		{"X-Tollgate-*", false},
		{strings.Repeat("a", headermap.MaxPatternLength+1), false},
	} {
		err := headermap.ValidatePattern(tt.pattern)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePattern(%q) = %v, want ok %v", tt.pattern, err, tt.ok)
		}
	}
}

func TestMatch(t *testing.T) {
	p, err := headermap.Compile([]string{"X-User-Id", "x-custom-*", "x-*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want string
	}{
		{"X-User-Id", "x-user-id"},
		{"x-custom-a", "x-custom-a"},
		{"X-Other", "x-other"},
		{"X-Tollgate-Stage", ""},
		{"X-Forwarded-For", ""},
		{"Cookie", ""},
		{"Grpc-Timeout", ""},
	} {
		got, ok := p.Match(tt.name)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Match(%q) = %q, %v, want %q", tt.name, got, ok, tt.want)
		}
	}
	var none *headermap.Patterns
	if _, ok := none.Match("x-user-id"); ok {
		t.Error("nil Patterns matched")
	}
	if _, err := headermap.Compile(make([]string, headermap.MaxPatterns+1)); err == nil {
		t.Error("Compile accepted too many patterns")
	}
}

func TestResponseHeaderAllowed(t *testing.T) {
	for key, want := range map[string]bool{
		"x-ratelimit-remaining":       true,
		"set-cookie":                  true,
		"content-type":                false,
		"retry-after":                 false,
		"content-length":              false,
		"transfer-encoding":           false,
		"grpc-status":                 false,
		"x-tollgate-stage":            false,
		"access-control-allow-origin": false,
		"x-trace-bin":                 false,
	} {
		if got := headermap.ResponseHeaderAllowed(key); got != want {
			t.Errorf("ResponseHeaderAllowed(%q) = %v, want %v", key, got, want)
		}
	}
}
