package reqpath_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tollgate-gw/tollgate/internal/reqpath"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		allowSlash bool
		want       string // "" = refused
		slashErr   bool   // refused with ErrEncodedSlash
	}{
		{"plain", "/admin/secret", false, "/admin/secret", false},
		{"root", "/", false, "/", false},
		{"empty segments kept", "/a//b/", false, "/a//b/", false},
		{"encoded letter decoded", "/admin/%73ecret", false, "/admin/secret", false},
		{"upper and lower hex", "/v1/projects/s%65cr%45t", false, "/v1/projects/secrEt", false},
		{"space and unicode", "/a%20b/%C3%A9", false, "/a b/é", false},
		{"literal percent stays encoded", "/100%25/x", false, "/100%25/x", false},
		{"double encoding decoded once", "/files/%252e%252e/x", false, "/files/%252e%252e/x", false},
		{"dots inside a segment", "/a/..b/c../.x", false, "/a/..b/c../.x", false},
		{"encoded slash refused", "/public/..%2Fadmin%2Fsecret", false, "", true},
		{"encoded slash lower case refused", "/a%2fb", false, "", true},
		{"encoded slash allowed", "/a%2fb/c", true, "/a%2Fb/c", false},
		{"encoded slash allowed, dot-segment inside", "/public/..%2Fadmin", true, "", false},
		{"encoded slash allowed, trailing dot inside", "/a%2F.", true, "", false},
		{"encoded backslash", "/public/..%5cadmin", false, "", false},
		{"raw backslash", `/public/a\b`, false, "", false},
		{"encoded NUL", "/a%00b", false, "", false},
		{"encoded CRLF", "/a%0d%0aSet-Cookie:x", false, "", false},
		{"encoded DEL", "/a%7f", false, "", false},
		{"raw tab", "/a\tb", false, "", false},
		{"dot-dot", "/a/../b", false, "", false},
		{"dot", "/a/./b", false, "", false},
		{"trailing dot-dot", "/a/..", false, "", false},
		{"encoded dot-dot", "/a/%2e%2E/b", false, "", false},
		{"half encoded dot-dot", "/a/.%2e/b", false, "", false},
		{"dot-dot with path parameter", "/public/..;/admin", false, "", false},
		{"dot with path parameter", "/public/.;x=1/admin", false, "", false},
		{"invalid escape", "/a%zz", false, "", false},
		{"truncated escape", "/a%4", false, "", false},
		{"not UTF-8", "/a%ff", false, "", false},
		{"relative", "a/b", false, "", false},
		{"empty", "", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reqpath.Canonical(tt.path, tt.allowSlash)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Canonical(%q) = %q, want an error", tt.path, got)
				}
				if errors.Is(err, reqpath.ErrEncodedSlash) != tt.slashErr {
					t.Errorf("Canonical(%q) error %v: is ErrEncodedSlash = %v, want %v", tt.path, err, !tt.slashErr, tt.slashErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Canonical(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
}

// FuzzCanonical checks what the gateway relies on: an accepted path's
// canonical form has no control characters, backslashes or dot-segments, is
// UTF-8, keeps only %25 and %2F encoded, and is its own canonical form.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/admin/%73ecret", "/a%2Fb", "/..%2F", "/a%25b", "/%2e%2e", "/a;b/..;c", "/%C3%A9"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, path string, allowSlash bool) {
		got, err := reqpath.Canonical(path, allowSlash)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\\\x00\r\n\x7f") {
			t.Fatalf("Canonical(%q) = %q: not UTF-8 or has a refused character", path, got)
		}
		for _, c := range got {
			if c < 0x20 {
				t.Fatalf("Canonical(%q) = %q has a control character", path, got)
			}
		}
		for i := strings.IndexByte(got, '%'); i >= 0; i = strings.IndexByte(got[i+1:], '%') + i + 1 {
			if e := got[i:min(i+3, len(got))]; e != "%25" && e != "%2F" {
				t.Fatalf("Canonical(%q) = %q keeps %q encoded", path, got, e)
			}
			if strings.IndexByte(got[i+1:], '%') < 0 {
				break
			}
		}
		for seg := range strings.SplitSeq(got, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("Canonical(%q) = %q has a dot-segment", path, got)
			}
		}
		again, err := reqpath.Canonical(got, allowSlash)
		if err != nil || again != got {
			t.Fatalf("Canonical(Canonical(%q)) = %q, %v; want %q", path, again, err, got)
		}
	})
}
