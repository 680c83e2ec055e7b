package pathtemplate

import (
	"maps"
	"testing"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		tmpl   string
		values b
		want   string
	}{
		{"/v1/books", nil, "/v1/books"},
		{"/v1/books/{id}", b{"id": "123"}, "/v1/books/123"},
		{"/v1/books/{id}", b{"id": "a/b c"}, "/v1/books/a%2Fb%20c"},
		{"/v1/books/{id}", b{"id": "café"}, "/v1/books/caf%C3%A9"},
		{"/v1/books/{id}", b{"id": "a:b"}, "/v1/books/a%3Ab"},
		{"/v1/books/{id}", b{"id": "%2F"}, "/v1/books/%252F"},
		{"/v1/books/{id}", b{"id": "-._~"}, "/v1/books/-._~"},
		{"/v1/books/{id}", b{"id": "...", "extra": "ignored"}, "/v1/books/..."},
		{"/v1/books/{id}:publish", b{"id": "1"}, "/v1/books/1:publish"},
		{"/v1/{name=shelves/*/books/*}", b{"name": "shelves/s 1/books/b1"}, "/v1/shelves/s%201/books/b1"},
		{"/v1/{name=shelves/*/books/*}", b{"name": "shelves/a%2Fb/books/b1"}, "/v1/shelves/a%252Fb/books/b1"},
		{"/v1/{name=%73helves/*}", b{"name": "shelves/x"}, "/v1/%73helves/x"},
		{"/v1/{name=**}", b{"name": "a/b/c"}, "/v1/a/b/c"},
		{"/v1/{name=**}", b{"name": ""}, "/v1"},
		{"/v1/{name=**}:undelete", b{"name": ""}, "/v1:undelete"},
		{"/v1/{name=**}:undelete", b{"name": "a:b/c"}, "/v1/a%3Ab/c:undelete"},
		{"/{name=**}", b{"name": ""}, "/"},
		{"/v1/**", nil, "/v1"},
		{"/v1/{a=lit}", b{"a": "lit"}, "/v1/lit"},
		{"/v1/{a=%6Cit}", b{"a": "lit"}, "/v1/%6Cit"},
		{"/v1/shelves/{book.shelf}/books/{book.id}", b{"book.shelf": "s", "book.id": "b"}, "/v1/shelves/s/books/b"},
	}
	for _, tt := range tests {
		tmpl := MustParse(tt.tmpl)
		got, err := tmpl.Expand(tt.values)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q).Expand(%q) = %q, %v; want %q", tt.tmpl, tt.values, got, err, tt.want)
			continue
		}
		// Round trip: Match returns the values (minus extra keys).
		bound, ok := tmpl.Match(got)
		if !ok {
			t.Errorf("Parse(%q).Match(%q) failed after Expand", tt.tmpl, got)
			continue
		}
		for k, v := range bound {
			if tt.values[k] != v {
				t.Errorf("Parse(%q).Match(%q)[%q] = %q, want %q", tt.tmpl, got, k, v, tt.values[k])
			}
		}
		if len(bound) != len(tmpl.FieldPaths()) {
			t.Errorf("Parse(%q).Match(%q) = %q, want %d bindings", tt.tmpl, got, bound, len(tmpl.FieldPaths()))
		}
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		tmpl   string
		values b
		want   string
	}{
		{"/v1/books/{id}", nil, `pathtemplate: expanding "/v1/books/{id}": missing value for "id"`},
		{"/v1/books/{id}", b{"id": ""}, `pathtemplate: expanding "/v1/books/{id}": value for "id" must not be empty`},
		{"/v1/books/{id}", b{"id": ".."}, `pathtemplate: expanding "/v1/books/{id}": value ".." for "id" is not a valid path segment`},
		{"/v1/{a=lit}", b{"a": "other"}, `pathtemplate: expanding "/v1/{a=lit}": value "other" for "a" must be "lit"`},
		{"/v1/{name=shelves/*}", b{"name": "shelves"}, `pathtemplate: expanding "/v1/{name=shelves/*}": value "shelves" for "name" does not match "shelves/*"`},
		{"/v1/{name=shelves/*}", b{"name": "shelves/a/b"}, `pathtemplate: expanding "/v1/{name=shelves/*}": value "shelves/a/b" for "name" does not match "shelves/*"`},
		{"/v1/{name=shelves/*}", b{"name": "books/a"}, `pathtemplate: expanding "/v1/{name=shelves/*}": value "books/a" for "name" does not match "shelves/*"`},
		{"/v1/{name=shelves/*}", b{"name": "shelves//"}, `pathtemplate: expanding "/v1/{name=shelves/*}": value "shelves//" for "name" has an empty, "." or ".." segment`},
		{"/v1/{name=**}", b{"name": "a/../b"}, `pathtemplate: expanding "/v1/{name=**}": value "a/../b" for "name" has an empty, "." or ".." segment`},
		{"/v1/{name=**}", b{"name": "/a"}, `pathtemplate: expanding "/v1/{name=**}": value "/a" for "name" has an empty, "." or ".." segment`},
		{"/v1/{name=*/**}", b{"name": ""}, `pathtemplate: expanding "/v1/{name=*/**}": value "" for "name" does not match "*/**"`},
		{"/v1/*/books", nil, `pathtemplate: expanding "/v1/*/books": segment 2 is a "*" outside a variable, which has no value`},
		{"/{name=**}:undelete", b{"name": ""}, `pathtemplate: expanding "/{name=**}:undelete": the path would have no segment before the verb`},
	}
	for _, tt := range tests {
		got, err := MustParse(tt.tmpl).Expand(tt.values)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q).Expand(%q) = %q, %v; want error %s", tt.tmpl, tt.values, got, err, tt.want)
		}
	}
}

// TestMatchExpandRoundTrip checks that Expand inverts Match for paths that
// are not in Expand's canonical encoding.
func TestMatchExpandRoundTrip(t *testing.T) {
	tests := []struct{ tmpl, path string }{
		{"/v1/books/{id}", "/v1/books/a%2fb"},
		{"/v1/books/{id}", "/v1/books/%41+!$&'()*,;=@:"},
		{"/v1/{name=shelves/*/books/*}", "/v1/%73helves/a%2fb/books/%25"},
		{"/v1/{name=a%2Fb/*}", "/v1/a%2fb/c"},
		{"/v1/{name=**}:undelete", "/v1/a:b/c%3A:undelete"},
	}
	for _, tt := range tests {
		tmpl := MustParse(tt.tmpl)
		want, ok := tmpl.Match(tt.path)
		if !ok {
			t.Errorf("Parse(%q).Match(%q) failed", tt.tmpl, tt.path)
			continue
		}
		path, err := tmpl.Expand(want)
		if err != nil {
			t.Errorf("Parse(%q).Expand(%q): %v", tt.tmpl, want, err)
			continue
		}
		if got, ok := tmpl.Match(path); !ok || !maps.Equal(got, want) {
			t.Errorf("Parse(%q).Match(%q) = %q, %v; want %q", tt.tmpl, path, got, ok, want)
		}
	}
}
