package pathtemplate

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

// b is shorthand for a bindings map.
type b = map[string]string

func TestMatch(t *testing.T) {
	tests := []struct {
		tmpl, path string
		want       b    // bindings; nil for a template without variables
		ok         bool // whether the path matches
	}{
		// Literals.
		{"/v1/books", "/v1/books", nil, true},
		{"/v1/books", "/v1/book", nil, false},
		{"/v1/books", "/v1/books/x", nil, false},
		{"/v1/books", "/v1", nil, false},
		{"/v1/books", "v1/books", nil, false},
		{"/v1/books", "", nil, false},
		{"/v1/books", "/V1/books", nil, false},
		{"/abc", "/%61bc", nil, true},
		{"/abc", "/%61%62%63", nil, true},
		{"/%61bc", "/abc", nil, true},
		{"/%61bc", "/%61bc", nil, true},
		{"/a%2Fb", "/a%2fb", nil, true},
		{"/a%2Fb", "/a/b", nil, false},
		{"/a@b", "/a%40b", nil, true},
		{"/v1.2", "/v1.2", nil, true},

		// Single-segment variables decode everything.
		{"/v1/books/{id}", "/v1/books/123", b{"id": "123"}, true},
		{"/v1/books/{id}", "/v1/books/a%2Fb", b{"id": "a/b"}, true},
		{"/v1/books/{id}", "/v1/books/a%2fb", b{"id": "a/b"}, true},
		{"/v1/books/{id}", "/v1/books/a/b", nil, false},
		{"/v1/books/{id}", "/v1/books/caf%C3%A9%20au%20lait", b{"id": "café au lait"}, true},
		{"/v1/books/{id}", "/v1/books/a+b", b{"id": "a+b"}, true},
		{"/v1/books/{id}", "/v1/books/%252F", b{"id": "%2F"}, true},
		{"/v1/books/{id}", "/v1/books/", nil, false},
		{"/v1/books/{id}", "/v1/books", nil, false},
		{"/v1/books/{id=*}", "/v1/books/x", b{"id": "x"}, true},
		{"/v1/{a=lit}", "/v1/lit", b{"a": "lit"}, true},
		{"/v1/{a=lit}", "/v1/%6Cit", b{"a": "lit"}, true},
		{"/v1/{a=lit}", "/v1/other", nil, false},
		{"/v1/shelves/{book.shelf}/books/{book.id}", "/v1/shelves/s1/books/b%201",
			b{"book.shelf": "s1", "book.id": "b 1"}, true},

		// Multi-segment variables keep "%2F".
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b1", b{"name": "shelves/s1/books/b1"}, true},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/a%2Fb/books/c%20d", b{"name": "shelves/a%2Fb/books/c d"}, true},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/a%2fb/books/c", b{"name": "shelves/a%2Fb/books/c"}, true},
		{"/v1/{name=shelves/*/books/*}", "/v1/%73helves/s1/books/b1", b{"name": "shelves/s1/books/b1"}, true},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books", nil, false},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b1/x", nil, false},
		{"/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/authors/b1", nil, false},
		{"/v1/{name=shelves/*}/books", "/v1/shelves/s1/books", b{"name": "shelves/s1"}, true},
		{"/v1/{name=**}", "/v1/a%2Fb/c", b{"name": "a%2Fb/c"}, true},
		{"/v1/{name=**}", "/v1/a%20b", b{"name": "a b"}, true},

		// "**".
		{"/v1/{name=**}", "/v1/a/b/c", b{"name": "a/b/c"}, true},
		{"/v1/{name=**}", "/v1/a", b{"name": "a"}, true},
		{"/v1/{name=**}", "/v1", b{"name": ""}, true},
		{"/v1/{name=**}", "/v1/", nil, false},
		{"/v1/{name=**}", "/v2/a", nil, false},
		{"/v1/{name=x/**}", "/v1/x", b{"name": "x"}, true},
		{"/v1/{name=x/**}", "/v1/x/y/z", b{"name": "x/y/z"}, true},
		{"/v1/{name=*/**}", "/v1", nil, false},
		{"/v1/{name=*/**}", "/v1/a", b{"name": "a"}, true},
		{"/v1/{a}/{rest=**}", "/v1/x/y/z", b{"a": "x", "rest": "y/z"}, true},
		{"/v1/{a}/{rest=**}", "/v1/x", b{"a": "x", "rest": ""}, true},
		{"/v1/**", "/v1/a/b", nil, true},
		{"/**", "/", nil, true},
		{"/{p=**}", "/", b{"p": ""}, true},
		{"/{p=**}", "/a/b", b{"p": "a/b"}, true},
		{"/*", "/", nil, false},
		{"/v1/*/books/**", "/v1/s/books", nil, true},
		{"/v1/*/books/**", "/v1/s/bookz/x", nil, false},

		// ".", ".." and empty segments never match, even encoded.
		{"/v1/{name=**}", "/v1/a/../b", nil, false},
		{"/v1/{name=**}", "/v1/a/./b", nil, false},
		{"/v1/{name=**}", "/v1/a/%2e%2e/b", nil, false},
		{"/v1/{name=**}", "/v1/a/%2E/b", nil, false},
		{"/v1/{name=**}", "/v1/a/.%2E", nil, false},
		{"/v1/{id}", "/v1/..", nil, false},
		{"/v1/{id}", "/v1/%2e%2e", nil, false},
		{"/v1/{id}", "/v1/...", b{"id": "..."}, true},
		{"/v1/{id}", "/v1/.a", b{"id": ".a"}, true},
		{"/v1/{id}", "/v1/%2e%2e%2F", b{"id": "../"}, true},
		{"/v1/{name=**}", "/v1//a", nil, false},
		{"/v1/{name=**}", "/v1/a//b", nil, false},
		{"/v1/{name=**}", "//v1/a", nil, false},
		{"/v1/{id}", "/v1/x/", nil, false},

		// Invalid percent-escapes never match, wherever they are.
		{"/v1/{id}", "/v1/%zz", nil, false},
		{"/v1/{id}", "/v1/%", nil, false},
		{"/v1/{id}", "/v1/a%2", nil, false},
		{"/v1/{id}", "/v1/%%41", nil, false},
		{"/v1/{name=**}", "/v1/a/%zz/b", nil, false},
		{"/v1/*", "/v1/%g0", nil, false},
		{"/v1/**", "/v1/x/%", nil, false},
		{"/v1/books", "/v1/books%", nil, false},

		// Verbs.
		{"/v1/books/{id}:publish", "/v1/books/1:publish", b{"id": "1"}, true},
		{"/v1/books/{id}:publish", "/v1/books/1", nil, false},
		{"/v1/books/{id}:publish", "/v1/books/1:unpublish", nil, false},
		{"/v1/books/{id}:publish", "/v1/books/:publish", nil, false},
		{"/v1/books/{id}:publish", "/v1/books/a:b:publish", b{"id": "a:b"}, true},
		{"/v1/books/{id}:publish", "/v1/books/1:%70ublish", b{"id": "1"}, true},
		{"/v1/books/{id}:publish", "/v1/books/1%3Apublish", nil, false},
		{"/v1/books/{id}:publish", "/v1/books/1:pub%zz", nil, false},
		{"/v1/books/{id}:publish", "/v1/books/%zz:publish", nil, false},
		{"/v1/{name=**}:undelete", "/v1/a/b:undelete", b{"name": "a/b"}, true},
		{"/v1/{name=**}:undelete", "/v1/a:x/b:undelete", b{"name": "a:x/b"}, true},
		{"/v1/{name=**}:undelete", "/v1:undelete", b{"name": ""}, true},
		{"/v1/{name=**}:undelete", "/v1/:undelete", nil, false},
		{"/v1/{name=**}:undelete", "/v1/a/b", nil, false},
		{"/{name=**}:undelete", "/:undelete", nil, false},
		{"/v1:batchGet", "/v1:batchGet", nil, true},
		{"/v1:batchGet", "/v1", nil, false},
		{"/v1/x:%3Av", "/v1/x::v", nil, false}, // the verb is after the last ':'
		{"/v1/x:%3Av", "/v1/x:%3av", nil, true},

		// Without a verb, ':' is an ordinary character.
		{"/v1/books/{id}", "/v1/books/1:publish", b{"id": "1:publish"}, true},
		{"/v1/books/{id}", "/v1/books/1:", b{"id": "1:"}, true},
		{"/v1/books/*", "/v1/books/:x", nil, true},
		{"/v1/books", "/v1/books:x", nil, false},
		{"/v1/a%3Ab", "/v1/a:b", nil, true},
		{"/v1/{name=**}", "/v1/a:b/c:d", b{"name": "a:b/c:d"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+" "+tt.path, func(t *testing.T) {
			tmpl := MustParse(tt.tmpl)
			got, ok := tmpl.Match(tt.path)
			if ok != tt.ok || !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Parse(%q).Match(%q) = %q, %v; want %q, %v", tt.tmpl, tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestMatchLongPaths(t *testing.T) {
	many := strings.Repeat("/a", 1000)
	if got, ok := MustParse("/{p=**}").Match(many); !ok || got["p"] != many[1:] {
		t.Errorf("Match of 1000 segments against /{p=**} = %v", ok)
	}
	if _, ok := MustParse("/a/a").Match(many); ok {
		t.Error("Match of 1000 segments against /a/a succeeded")
	}
	// A template with the maximum number of segments.
	tmpl := MustParse("/" + strings.Repeat("*/", MaxSegments-1) + "{last}")
	path := strings.Repeat("/x", MaxSegments-1) + "/y"
	if got, ok := tmpl.Match(path); !ok || got["last"] != "y" {
		t.Errorf("Match(%q) = %v, %v", path, got, ok)
	}
	if _, ok := tmpl.Match(path + "/z"); ok {
		t.Errorf("Match with %d segments succeeded", MaxSegments+1)
	}
}

// TestMatchConcurrent checks, under -race, that a Template can be used from
// several goroutines.
func TestMatchConcurrent(t *testing.T) {
	tmpl := MustParse("/v1/{name=shelves/*/books/*}:get")
	done := make(chan bool)
	for i := range 8 {
		go func() {
			for j := range 200 {
				want := fmt.Sprintf("shelves/s%d/books/b%d", i, j)
				got, ok := tmpl.Match("/v1/" + want + ":get")
				if !ok || got["name"] != want {
					t.Errorf("Match = %v, %v", got, ok)
				}
				_ = tmpl.String()
				_ = tmpl.FieldPaths()
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
}

// TestMatchGrammar covers what grpc-gateway's grammar adds: verbs with
// ':', "**" followed by segments and the root template.
func TestMatchGrammar(t *testing.T) {
	tests := []struct {
		tmpl, path string
		want       map[string]string // nil: no match
	}{
		{"/v1/example/a_bit_of_everything/{uuid}:custom:custom", "/v1/example/a_bit_of_everything/u1:custom:custom", map[string]string{"uuid": "u1"}},
		{"/v1/example/a_bit_of_everything/{uuid}:custom:custom", "/v1/example/a_bit_of_everything/u1:custom", nil},
		{"/v1/example/a_bit_of_everything/{uuid}:custom:custom", "/v1/example/a_bit_of_everything/:custom:custom", nil},
		{"/v1/example/a_bit_of_everything/{uuid}:custom", "/v1/example/a_bit_of_everything/u1:custom:custom", map[string]string{"uuid": "u1:custom"}},
		{"/v1/x:a:b", "/v1/x:a:b", map[string]string{}},
		{"/v1/x:a:b", "/v1/x:b", nil},
		{"/v1/{name=**}:a:b", "/v1/p/q:a:b", map[string]string{"name": "p/q"}},
		{"/v1/{name=**}/x", "/v1/a/b/x", map[string]string{"name": "a/b"}},
		{"/v1/{name=**}/x", "/v1/x", map[string]string{"name": ""}},
		{"/v1/{name=**}/x", "/v1/a/b/y", nil},
		{"/v1/{a=**/x}/{b}", "/v1/p/x/q", map[string]string{"a": "p/x", "b": "q"}},
		{"/v1/{a=**/x}/{b}", "/v1/x/q", map[string]string{"a": "x", "b": "q"}},
		{"/v1/**/{b}:v", "/v1/1/2/3:v", map[string]string{"b": "3"}},
		{"/", "/", map[string]string{}},
		{"/", "/x", nil},
		{"/:v", "/:v", nil},
		{"/v1/a=b/a*", "/v1/a=b/a*", map[string]string{}},
		{"/v1/a:b/c", "/v1/a:b/c", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+" "+tt.path, func(t *testing.T) {
			got, ok := MustParse(tt.tmpl).Match(tt.path)
			if ok != (tt.want != nil) {
				t.Fatalf("Match(%q) ok = %v, want %v", tt.path, ok, tt.want != nil)
			}
			if ok && len(got)+len(tt.want) > 0 && !maps.Equal(got, tt.want) {
				t.Errorf("Match(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestMatchesNothing(t *testing.T) {
	for tmpl, want := range map[string]bool{
		"/v1/.": true, "/v1/%2e%2E/x": true, "/{a=x/..}": true, "/:v": true,
		"/": false, "/v1/...": false, "/v1/x:.": false, "/**": false,
	} {
		if got := MustParse(tmpl).MatchesNothing(); got != want {
			t.Errorf("Parse(%q).MatchesNothing() = %v, want %v", tmpl, got, want)
		}
	}
}
