package pathtemplate

import (
	"fmt"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("/v1/{name=projects/*/locations/*/books/*}:publish"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tmpl := MustParse("/v1/{name=shelves/*/books/*}")
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := tmpl.Match("/v1/shelves/fiction/books/b1"); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("escaped", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := tmpl.Match("/v1/shelves/sci%20fi/books/a%2Fb"); !ok {
				b.Fatal("no match")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := tmpl.Match("/v1/shelves/fiction/authors/a1"); ok {
				b.Fatal("match")
			}
		}
	})
}

// benchSet returns a Set of 200 templates shaped like a real API: 25
// resources with 8 bindings each.
func benchSet(b *testing.B) *Set {
	var s Set
	for i := range 25 {
		r := fmt.Sprintf("res%d", i)
		for _, tmpl := range []string{
			"/v1/" + r,
			"/v1/" + r + "/{id}",
			"/v1/" + r + "/{id}:publish",
			"/v1/" + r + "/{id}/children",
			"/v1/{parent=projects/*}/" + r,
			"/v1/{name=projects/*/" + r + "/*}",
			"/v1/{name=projects/*/" + r + "/*}:undelete",
			"/v2/" + r + "/{path=**}",
		} {
			if err := s.Add(MustParse(tmpl), tmpl); err != nil {
				b.Fatal(err)
			}
		}
	}
	if s.Len() != 200 {
		b.Fatalf("Len() = %d", s.Len())
	}
	return &s
}

func BenchmarkSetLookup(b *testing.B) {
	s := benchSet(b)
	for _, bc := range []struct{ name, path, want string }{
		{"literal", "/v1/res12/b42", "/v1/res12/{id}"},
		{"verb", "/v1/projects/p1/res20/x:undelete", "/v1/{name=projects/*/res20/*}:undelete"},
		{"multi", "/v1/projects/p1/res24/x", "/v1/{name=projects/*/res24/*}"},
		{"doublestar", "/v2/res7/a/b/c", "/v2/res7/{path=**}"},
		{"miss", "/v3/nothing/here", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, _, ok := s.Lookup(bc.path)
				if bc.want == "" && ok || bc.want != "" && v != bc.want {
					b.Fatalf("Lookup(%q) = %v, %v", bc.path, v, ok)
				}
			}
		})
	}
}
