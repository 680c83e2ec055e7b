package pathtemplate

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
)

// scan is Lookup without the trie and its sort: every template in the
// order insertions after all templates at least as specific give, the
// reference the index must agree with.
func (s *Set) scan(path string) (any, map[string]string, bool) {
	var order []int
	for i, e := range s.entries {
		at := len(order)
		for k, o := range order {
			if e.rank.moreSpecific(s.entries[o].rank) {
				at = k
				break
			}
		}
		order = append(order[:at], append([]int{i}, order[at:]...)...)
	}
	slashes := strings.Count(path, "/")
	for _, i := range order {
		if b, ok := s.try(i, path, slashes); ok {
			return s.entries[i].value, b, true
		}
	}
	return nil, nil, false
}

// indexTemplates are templates sharing and not sharing leading literals,
// with verbs, "**" and escapes: enough of them for the trie to be used.
var indexTemplates = append([]string{
	"/v1/books/{id}", "/v1/books/{id}:publish", "/v1/books", "/v1/books:batchGet",
	"/v1/shelves/{s}/books/{b}", "/v1/shelves/*/books/**", "/v1/{name=shelves/*}",
	"/v1/{name=**}:undelete", "/v1/{a=x/**}", "/v1/{rest=**}", "/v2/%61bc/{x}", "/v2/abc/d",
	"/{p=**}", "/", "/v1/books/{id}/x/{rest=**}", "/v1/books/x:y/z", "/a/b/c/d/e",
	"/a/b/{c}/d/{e}:v",
}, fuzzTemplates...)

// buildIndexSet adds every template that parses, each with its index.
func buildIndexSet(t testing.TB, templates []string) *Set {
	s := &Set{}
	for i, src := range templates {
		tmpl, err := Parse(src)
		if err != nil {
			continue
		}
		_ = s.Add(tmpl, i) // duplicates are refused, as they should be
	}
	if s.Len() < indexMin {
		t.Fatalf("only %d templates: the trie would not be used", s.Len())
	}
	return s
}

// FuzzSetLookupIndex checks that Lookup through the trie returns what a
// scan of every template returns, for any path.
func FuzzSetLookupIndex(f *testing.F) {
	for _, p := range []string{
		"/v1/books/1", "/v1/books/1:publish", "/v1/books:batchGet", "/v1/books", "/v1/shelves/a/books/b/c",
		"/v1/shelves/a:undelete", "/v1/x", "/v1/x/y/z", "/v2/abc/1", "/v2/%61bc/1", "/v2/ab%63/d", "/",
		"/v1/books/x:y/z", "/a/b/c/d/e", "/a/b/1/d/2:v", "/a/b/c/d/e:v", "/v1//x", "/v1/%zz/a", "", "v1",
		"/v1/books/%2F/x/a/b", "/v1/b%6foks/1",
	} {
		f.Add(p)
	}
	s := buildIndexSet(f, indexTemplates)
	f.Fuzz(func(t *testing.T, path string) {
		wv, wb, wok := s.scan(path)
		gv, gb, gok := s.Lookup(path)
		if gok != wok || gv != wv || !maps.Equal(gb, wb) {
			t.Fatalf("Lookup(%q) = %v %q %v; a scan of every template: %v %q %v", path, gv, gb, gok, wv, wb, wok)
		}
	})
}

// TestSetIndexRebuiltAfterAdd checks that a template added after a Lookup
// is found.
func TestSetIndexRebuiltAfterAdd(t *testing.T) {
	s := buildIndexSet(t, indexTemplates)
	if v, _, _ := s.Lookup("/v9/new/1"); v == "new" {
		t.Fatal("matched before the template was added")
	}
	_ = s.Add(MustParse("/v9/new/{id}"), "new")
	if v, _, ok := s.Lookup("/v9/new/1"); !ok || v != "new" {
		t.Errorf("after Add: %v %v, want new", v, ok)
	}
}

// BenchmarkSetLookupScale looks up a late route and a path no route matches
// among 10 and 10,000 routes "/v1/resource{i}/{id}" (and their custom
// methods): the cost must not follow the number of routes.
func BenchmarkSetLookupScale(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		s := &Set{}
		for i := range n / 2 {
			_ = s.Add(MustParse(fmt.Sprintf("/v1/resource%d/{id}", i)), i)
			_ = s.Add(MustParse(fmt.Sprintf("/v1/resource%d/{id}:cancel", i)), i)
		}
		late := "/v1/resource" + strconv.Itoa(n/2-1) + "/42"
		for _, c := range []struct{ name, path string }{{"late", late}, {"miss", "/v1/nothing/42"}} {
			b.Run(fmt.Sprintf("routes=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					s.Lookup(c.path)
				}
			})
		}
	}
}
