package pathtemplate

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

var fuzzTemplates = []string{
	"/v1/books/{id}",
	"/v1/{name=shelves/*/books/*}",
	"/v1/{name=**}:undelete",
	"/v1/books/{id}:publish",
	"/v1/shelves/{book.shelf}/books/{book.id}",
	"/v1/{a=x/**}",
	"/v1/*/books/**",
	"/%61bc/%2F:%3Av",
	"/{p=**}",
	"/v1/{a=lit}",
	"/v1/{a={b}}",
	"/v1/{name=**}/x",
	"/v1//x",
	"/v1/a:b/c",
	"/v1/%zz",
	"/v1/{a}/{a}",
	"/v1/example/a_bit_of_everything/{uuid}:custom:custom",
	"/v1/x:a:b",
	"/v1/{a=**}/x/{b}:v",
	"/",
	"/v1//",
	"/v1/a=b/*x",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzTemplates {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Template != s || pe.Offset < 0 || pe.Offset > len(s) || pe.Msg == "" {
				t.Fatalf("Parse(%q) error = %#v", s, err)
			}
			return
		}
		str := tmpl.String()
		again, err := Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, str, err)
		}
		if again.String() != str {
			t.Fatalf("Parse(%q).String() = %q, re-parsed String() = %q", s, str, again.String())
		}
		if !slices.Equal(again.FieldPaths(), tmpl.FieldPaths()) || again.Verb() != tmpl.Verb() ||
			again.LiteralPrefixLen() != tmpl.LiteralPrefixLen() {
			t.Fatalf("Parse(%q) and Parse(%q) differ", s, str)
		}
	})
}

func FuzzMatch(f *testing.F) {
	paths := []string{
		"/v1/books/1", "/v1/shelves/a%2Fb/books/c", "/v1/a/b:undelete", "/v1/books/1:publish",
		"/v1/a/%2e%2e/b", "/v1//x", "/v1/%zz", "/", "", "/abc/%2f:%3av", "/v1/x/y/z",
	}
	for i, s := range fuzzTemplates {
		f.Add(s, paths[i%len(paths)])
		f.Add(s, paths[(i+3)%len(paths)])
	}
	f.Fuzz(func(t *testing.T, s, path string) {
		tmpl, err := Parse(s)
		if err != nil {
			return
		}
		got, ok := tmpl.Match(path)
		if !ok {
			if got != nil {
				t.Fatalf("Parse(%q).Match(%q) = %q, false", s, path, got)
			}
			return
		}
		fps := slices.Compact(slices.Sorted(slices.Values(tmpl.FieldPaths())))
		if len(got) != len(fps) {
			t.Fatalf("Parse(%q).Match(%q) = %q; want bindings for %q", s, path, got, fps)
		}
		for _, fp := range fps {
			if _, ok := got[fp]; !ok {
				t.Fatalf("Parse(%q).Match(%q) = %q; no binding for %q", s, path, got, fp)
			}
		}
		// Expand inverts Match, unless the template has an unnamed "*".
		exp, err := tmpl.Expand(got)
		if err != nil {
			if strings.Contains(err.Error(), `is a "*" outside a variable`) || strings.Contains(err.Error(), `its "**" is not its last segment`) {
				return
			}
			if len(fps) != len(tmpl.FieldPaths()) {
				return // a field path bound twice expands to one value
			}
			t.Fatalf("Parse(%q).Expand(%q) of Match(%q): %v", s, got, path, err)
		}
		again, ok := tmpl.Match(exp)
		if !ok || !maps.Equal(again, got) {
			t.Fatalf("Parse(%q).Match(%q) = %q, %v; Expand of %q from Match(%q)", s, exp, again, ok, got, path)
		}
	})
}
