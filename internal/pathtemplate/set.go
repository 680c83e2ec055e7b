package pathtemplate

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Set is a small router: a collection of templates, each with a value, that
// finds the most specific template matching a request path. The zero Set is
// empty and ready to use.
//
// When several templates match, Lookup picks the first in this order:
//
//  1. templates with a verb before templates without one (so
//     "/v1/{name=**}:undelete" beats "/v1/shelves/{s}/books/{b}" on
//     "/v1/shelves/1/books/2:undelete": a matching verb says which custom
//     method the client meant);
//  2. more literal segments first;
//  3. templates without "**" before templates with "**" (so "/v1/{a}/{b}"
//     beats "/v1/{rest=**}" on "/v1/x/y");
//  4. fewer wildcard ("*" and "**") segments first;
//  5. more leading literal segments (LiteralPrefixLen) first, so that of
//     "/v1/*/b/*" and "/v1/a/*/*" the latter wins on "/v1/a/b/c", as a trie
//     that tries literals before wildcards would decide;
//  6. the template added first.
//
// Rule 3 comes before rule 4 because a "**" template would otherwise beat a
// template with several "*" segments that match the same path.
//
// Lookup scans the templates in that order and returns the first match, so it
// takes O(n·s) time for n templates and paths of s segments, though most
// templates are rejected by their segment count or first literal; a trie is a
// possible later optimisation. Add takes O(n) time.
//
// A Set is not safe for concurrent Adds; once built, Lookup may be called
// concurrently from several goroutines.
type Set struct {
	entries []setEntry
	byKey   map[string]struct{}
}

// setEntry is one template in a Set.
type setEntry struct {
	t      *Template
	value  any
	rank   rank
	minSeg int // minimum number of '/' in a matching path
	maxSeg int // maximum number of '/' in a matching path, or -1
}

// rank holds the specificity keys of a template; see Set.
type rank struct {
	verb       bool
	literals   int
	doubleStar bool
	wildcards  int
	prefix     int
}

// moreSpecific reports whether a is strictly more specific than b.
func (a rank) moreSpecific(b rank) bool {
	switch {
	case a.verb != b.verb:
		return a.verb
	case a.literals != b.literals:
		return a.literals > b.literals
	case a.doubleStar != b.doubleStar:
		return !a.doubleStar
	case a.wildcards != b.wildcards:
		return a.wildcards < b.wildcards
	default:
		return a.prefix > b.prefix
	}
}

// Add adds t with its value to the set. It returns an error if t is nil or if
// a template with the same String has already been added. Templates that
// differ only in variable names (such as "/v1/{a}" and "/v1/{b}") are both
// accepted; the one added first wins.
func (s *Set) Add(t *Template, value any) error {
	if t == nil {
		return errors.New("pathtemplate: Set.Add: nil template")
	}
	if _, dup := s.byKey[t.canonical]; dup {
		return fmt.Errorf("pathtemplate: Set.Add: template %q has already been added", t.canonical)
	}
	if s.byKey == nil {
		s.byKey = make(map[string]struct{})
	}
	s.byKey[t.canonical] = struct{}{}

	r := rank{verb: t.verb != "", literals: t.literals, doubleStar: t.dstar >= 0,
		wildcards: len(t.segs) - t.literals, prefix: t.prefix}
	// The path "/" has one '/', as the root template's only path.
	e := setEntry{t: t, value: value, rank: r, minSeg: max(len(t.segs), 1), maxSeg: max(len(t.segs), 1)}
	if t.dstar >= 0 {
		// "**" may match no segments.
		e.minSeg, e.maxSeg = max(len(t.segs)-1, 1), -1
	}
	// Insert after all entries at least as specific, keeping insertion order
	// among equals.
	i := sort.Search(len(s.entries), func(i int) bool { return r.moreSpecific(s.entries[i].rank) })
	s.entries = append(s.entries, setEntry{})
	copy(s.entries[i+1:], s.entries[i:])
	s.entries[i] = e
	return nil
}

// Len returns the number of templates in the set.
func (s *Set) Len() int { return len(s.entries) }

// Lookup finds the most specific template matching path (see Set for the
// order) and returns its value and the bindings Template.Match returned. ok
// is false if no template matches.
func (s *Set) Lookup(path string) (value any, bindings map[string]string, ok bool) {
	slashes := strings.Count(path, "/")
	for i := range s.entries {
		e := &s.entries[i]
		if slashes < e.minSeg || e.maxSeg >= 0 && slashes > e.maxSeg {
			continue
		}
		if b, ok := e.t.Match(path); ok {
			return e.value, b, true
		}
	}
	return nil, nil, false
}
