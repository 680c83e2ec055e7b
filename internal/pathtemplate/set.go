package pathtemplate

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
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
// Lookup tries, in that order, only the templates whose leading literal
// segments the path has: a trie on literal segments, built (with the order)
// on the first Lookup after an Add, finds them, so the cost follows the
// templates that share the path's leading literals, not the size of the
// set. Add takes O(1) time, so that a set of n templates is built in
// O(n log n), not O(n²).
//
// A Set is not safe for concurrent Adds; once built, Lookup may be called
// concurrently from several goroutines.
type Set struct {
	entries []setEntry // in the order added
	byKey   map[string]struct{}
	index   atomic.Pointer[setIndex] // nil until the first Lookup after an Add
}

// setIndex is the order of a Set's templates and the trie over them.
type setIndex struct {
	order []int32   // indexes into Set.entries, most specific first
	root  *trieNode // nil below indexMin templates
}

// indexMin is the size from which Lookup uses the trie: below it, scanning
// every template costs less than walking the trie.
const indexMin = 8

// trieNode is a node of a Set's trie: the templates whose leading literal
// segments (as many as indexDepth) spell the path from the root to it.
type trieNode struct {
	here     []int32 // positions in setIndex.order, ascending (most specific first)
	children map[string]*trieNode
}

// indexDepth is how many of a template's leading literal segments the trie
// indexes. Never its last segment, nor, with "**" (which may match no
// segment), the one before: a path's last segment may carry a verb, which the
// trie does not parse, and Lookup does not walk it.
func indexDepth(t *Template) int {
	d := min(t.prefix, len(t.segs)-1)
	if t.dstar >= 0 {
		d = min(d, len(t.segs)-2)
	}
	return max(d, 0)
}

// buildIndex orders the set's templates and builds their trie. Equal
// templates keep the order they were added in.
func (s *Set) buildIndex() *setIndex {
	x := &setIndex{order: make([]int32, len(s.entries))}
	for i := range x.order {
		x.order[i] = int32(i)
	}
	sort.SliceStable(x.order, func(a, b int) bool {
		return s.entries[x.order[a]].rank.moreSpecific(s.entries[x.order[b]].rank)
	})
	if len(s.entries) < indexMin {
		return x
	}
	root := &trieNode{}
	for i, e := range x.order {
		t := s.entries[e].t
		n := root
		for j := range indexDepth(t) {
			key := t.segs[j].decoded
			c := n.children[key]
			if c == nil {
				if n.children == nil {
					n.children = map[string]*trieNode{}
				}
				c = &trieNode{}
				n.children[key] = c
			}
			n = c
		}
		n.here = append(n.here, int32(i))
	}
	x.root = root
	return x
}

// candidates returns, for each trie node on path's leading segments (all
// but the last), the templates indexed there.
func (s *Set) candidates(root *trieNode, path string, lists [][]int32) [][]int32 {
	n := root
	lists = append(lists, n.here)
	if path == "" || path[0] != '/' {
		return lists
	}
	rest := path[1:]
	for n.children != nil {
		end := strings.IndexByte(rest, '/')
		if end < 0 {
			break // the last segment is never walked
		}
		seg := rest[:end]
		rest = rest[end+1:]
		if !validEscapes(seg) {
			break // no template matches the path
		}
		if n = n.children[unescape(seg, false)]; n == nil {
			break
		}
		lists = append(lists, n.here)
	}
	return lists
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
	// Ordered by the next Lookup (buildIndex): sorting each time would
	// make building a set quadratic.
	s.entries = append(s.entries, e)
	s.index.Store(nil)
	return nil
}

// Len returns the number of templates in the set.
func (s *Set) Len() int { return len(s.entries) }

// Lookup finds the most specific template matching path (see Set for the
// order) and returns its value and the bindings Template.Match returned. ok
// is false if no template matches.
func (s *Set) Lookup(path string) (value any, bindings map[string]string, ok bool) {
	slashes := strings.Count(path, "/")
	x := s.index.Load()
	if x == nil {
		x = s.buildIndex()
		s.index.Store(x) // concurrent first Lookups build equal indexes
	}
	if x.root == nil {
		for _, i := range x.order {
			if b, ok := s.try(int(i), path, slashes); ok {
				return s.entries[i].value, b, true
			}
		}
		return nil, nil, false
	}
	// Merge the candidate lists (each ascending) to try the candidates in
	// the set's order: the first match is the one a scan of every template
	// would find, since the others cannot match.
	var buf [MaxSegments + 1][]int32
	lists := s.candidates(x.root, path, buf[:0])
	for {
		best := -1
		for k, l := range lists {
			if len(l) > 0 && (best < 0 || l[0] < lists[best][0]) {
				best = k
			}
		}
		if best < 0 {
			return nil, nil, false
		}
		i := int(x.order[lists[best][0]])
		lists[best] = lists[best][1:]
		if b, ok := s.try(i, path, slashes); ok {
			return s.entries[i].value, b, true
		}
	}
}

// try matches the template of entry i, whose segment count may rule it out
// at once.
func (s *Set) try(i int, path string, slashes int) (map[string]string, bool) {
	e := &s.entries[i]
	if slashes < e.minSeg || e.maxSeg >= 0 && slashes > e.maxSeg {
		return nil, false
	}
	return e.t.Match(path)
}
