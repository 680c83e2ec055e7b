package pathtemplate

import (
	"maps"
	"strings"
	"testing"
)

func TestSetLookup(t *testing.T) {
	templates := []string{
		"/v1/{rest=**}",
		"/v1/{a}/{b}",
		"/v1/shelves/{shelf}",
		"/v1/shelves/{shelf}/books/{book}",
		"/v1/{name=shelves/*/books/*}",
		"/v1/shelves/featured",
		"/v1/books/{id}",
		"/v1/books/{id}:publish",
		"/v1/{name=**}:undelete",
		"/v1/*/b/*",
		"/v1/a/*/*",
		"/v1/{x}/c/{y=**}",
		"/{all=**}",
	}
	var s Set
	for _, tmpl := range templates {
		if err := s.Add(MustParse(tmpl), tmpl); err != nil {
			t.Fatalf("Add(%q): %v", tmpl, err)
		}
	}
	if s.Len() != len(templates) {
		t.Errorf("Len() = %d, want %d", s.Len(), len(templates))
	}
	tests := []struct {
		path string
		want string // the template chosen; "" for no match
		b    b
	}{
		{"/v1/shelves/featured", "/v1/shelves/featured", nil},
		{"/v1/shelves/s1", "/v1/shelves/{shelf}", b{"shelf": "s1"}},
		{"/v1/other/s1", "/v1/{a}/{b}", b{"a": "other", "b": "s1"}},
		// 3 literals beat the multi-segment variable's 2.
		{"/v1/shelves/s1/books/b1", "/v1/shelves/{shelf}/books/{book}", b{"shelf": "s1", "book": "b1"}},
		{"/v1/books/1", "/v1/books/{id}", b{"id": "1"}},
		// A matching verb comes first.
		{"/v1/books/1:publish", "/v1/books/{id}:publish", b{"id": "1"}},
		{"/v1/shelves/s1/books/b1:undelete", "/v1/{name=**}:undelete", b{"name": "shelves/s1/books/b1"}},
		{"/v1/books/1:archive", "/v1/books/{id}", b{"id": "1:archive"}},
		// "*" before "**" at equal literal count.
		{"/v1/x/y", "/v1/{a}/{b}", b{"a": "x", "b": "y"}},
		{"/v1/x/y/z/w", "/v1/{rest=**}", b{"rest": "x/y/z/w"}},
		{"/v1", "/v1/{rest=**}", b{"rest": ""}},
		{"/v1/x/y:undelete", "/v1/{name=**}:undelete", b{"name": "x/y"}},
		// Equal literal and wildcard counts: the longer literal prefix wins.
		{"/v1/a/b/c", "/v1/a/*/*", nil},
		{"/v1/z/b/c", "/v1/*/b/*", nil},
		{"/v1/x/c/d/e", "/v1/{x}/c/{y=**}", b{"x": "x", "y": "d/e"}},
		{"/v2/x", "/{all=**}", b{"all": "v2/x"}},
		{"/", "/{all=**}", b{"all": ""}},
		{"/v1/..", "", nil},
		{"/v1//x", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		v, got, ok := s.Lookup(tt.path)
		if tt.want == "" {
			if ok {
				t.Errorf("Lookup(%q) = %v, %q; want no match", tt.path, v, got)
			}
			continue
		}
		if !ok || v != tt.want || !maps.Equal(got, tt.b) {
			t.Errorf("Lookup(%q) = %v, %q, %v; want %q, %q", tt.path, v, got, ok, tt.want, tt.b)
		}
	}
}

func TestSetInsertionOrderAndDuplicates(t *testing.T) {
	var s Set
	if err := s.Add(MustParse("/v1/{a}"), "first"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(MustParse("/v1/{b}"), "second"); err != nil {
		t.Fatalf("Add of a template differing only in names: %v", err)
	}
	err := s.Add(MustParse("/v1/{a=*}"), "dup")
	if want := `pathtemplate: Set.Add: template "/v1/{a}" has already been added`; err == nil || err.Error() != want {
		t.Errorf("Add of a duplicate = %v, want %s", err, want)
	}
	if err := s.Add(nil, "nil"); err == nil {
		t.Error("Add(nil) succeeded")
	}
	if v, got, ok := s.Lookup("/v1/x"); !ok || v != "first" || got["a"] != "x" {
		t.Errorf("Lookup = %v, %q, %v; want the first template added", v, got, ok)
	}
	if s.Len() != 2 {
		t.Errorf("Len() = %d, want 2", s.Len())
	}
}

// TestSetOrderIndependent checks that the choice does not depend on the
// order templates with different specificity are added in.
func TestSetOrderIndependent(t *testing.T) {
	templates := []string{"/v1/{rest=**}", "/v1/{a}/{b}", "/v1/a/{b}", "/v1/{a}/b", "/v1/a/b", "/v1/a/b:v", "/{x=**}:v"}
	paths := []string{"/v1/a/b", "/v1/a/c", "/v1/c/b", "/v1/c/d", "/v1/c/d/e", "/v1/a/b:v", "/v1/c/d:v", "/x:v"}
	var want []any
	for perm := range 50 {
		order := make([]string, len(templates))
		copy(order, templates)
		// A deterministic shuffle.
		for i := len(order) - 1; i > 0; i-- {
			j := (perm*7 + i*13) % (i + 1)
			order[i], order[j] = order[j], order[i]
		}
		var s Set
		for _, tmpl := range order {
			if err := s.Add(MustParse(tmpl), tmpl); err != nil {
				t.Fatal(err)
			}
		}
		var got []any
		for _, p := range paths {
			v, _, _ := s.Lookup(p)
			got = append(got, v)
		}
		if want == nil {
			want = got
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("order %q: Lookup(%q) = %v, want %v", strings.Join(order, " "), paths[i], got[i], want[i])
			}
		}
	}
	wantFirst := []any{"/v1/a/b", "/v1/a/{b}", "/v1/{a}/b", "/v1/{a}/{b}", "/v1/{rest=**}", "/v1/a/b:v", "/{x=**}:v", "/{x=**}:v"}
	for i := range want {
		if want[i] != wantFirst[i] {
			t.Errorf("Lookup(%q) = %v, want %v", paths[i], want[i], wantFirst[i])
		}
	}
}
