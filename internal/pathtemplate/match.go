package pathtemplate

import "strings"

// Match matches a request path against the template. path is the path part of
// the request URL, already split from the query but still percent-encoded as
// on the wire (for net/http, r.URL.EscapedPath()). It reports whether the
// path matches and, if it does, returns each variable's field path bound to
// its value; the map is nil if the template has no variables.
//
// Values are percent-decoded. The value of a single-segment variable ("{id}",
// "{id=*}", "{id=literal}") is decoded completely, so "%2F" becomes "/" in the
// value (it never splits segments). The value of a multi-segment variable
// ("{name=shelves/*}", "{name=**}") is decoded except for encoded slashes,
// which stay (normalised to upper case) as "%2F", so the value's segments are
// exactly the path's segments.
//
// A path whose segments include "." or ".." (also when percent-encoded, e.g.
// "%2e%2e"), an empty segment ("//" or a trailing "/"), or an invalid
// percent-escape ("%zz", "%") never matches. The path "/" has no segments; it
// can only match a template that is a single "**".
//
// If the template has a verb V, the last segment must end with ":"+V after its
// last ':', and the rest of that segment must not be empty. If the template
// has no verb, a ':' in the last segment is an ordinary character. "**"
// matches zero or more segments, so "/v1/{name=**}" matches "/v1" with name
// bound to "".
func (t *Template) Match(path string) (map[string]string, bool) {
	if path == "" || path[0] != '/' {
		return nil, false
	}
	rest := path[1:]
	if t.verb != "" {
		last := rest[strings.LastIndexByte(rest, '/')+1:]
		c := strings.LastIndexByte(last, ':')
		if c < 0 || !t.verbMatches(last[c+1:]) {
			return nil, false
		}
		rest = rest[:len(rest)-len(last)+c]
	}

	n := len(t.segs)
	// starts[i] is the offset in rest of path segment i, for i < n.
	var starts [MaxSegments]int
	m := 0 // number of path segments
	if rest != "" || t.verb != "" {
		for pos := 0; ; {
			end := strings.IndexByte(rest[pos:], '/')
			if end < 0 {
				end = len(rest)
			} else {
				end += pos
			}
			seg := rest[pos:end]
			if !validSegment(seg) {
				return nil, false
			}
			if m < n {
				starts[m] = pos
				if s := &t.segs[m]; s.kind == segLiteral && !literalMatches(seg, s) {
					return nil, false
				}
			} else if !t.doubleStar {
				return nil, false // too many segments
			}
			m++
			if end == len(rest) {
				break
			}
			pos = end + 1
		}
	}
	if m < n && (!t.doubleStar || m < n-1) {
		return nil, false
	}

	if len(t.vars) == 0 {
		return nil, true
	}
	b := make(map[string]string, len(t.vars))
	for _, v := range t.vars {
		val := ""
		if v.start < m { // else v is "**" matching no segments
			end := len(rest)
			if v.end < m && v.end < n {
				end = starts[v.end] - 1
			}
			val = unescape(rest[starts[v.start]:end], v.multi)
		}
		b[v.fieldPath] = val
	}
	return b, true
}

// verbMatches reports whether v, the part of a request path after the last
// ':', matches the template's verb.
func (t *Template) verbMatches(v string) bool {
	if v == t.verb {
		return true
	}
	return validEscapes(v) && decodedEquals(v, t.verbDec)
}

// validSegment reports whether seg, a segment of a request path, can match at
// all: it is not empty, its escapes are valid and it is not "." or "..", even
// when percent-encoded.
func validSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." {
		return false
	}
	pct := false
	for i := 0; i < len(seg); i++ {
		if seg[i] == '%' {
			if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
				return false
			}
			pct = true
			i += 2
		}
	}
	if pct && len(seg) <= len("%2e%2e") && (decodedEquals(seg, ".") || decodedEquals(seg, "..")) {
		return false
	}
	return true
}

// literalMatches reports whether the request path segment seg, whose escapes
// are valid, matches the literal segment s: first as written, then decoded.
func literalMatches(seg string, s *segment) bool {
	if seg == s.raw {
		return true
	}
	if !s.rawHasPct && strings.IndexByte(seg, '%') < 0 {
		return false
	}
	return decodedEquals(seg, s.decoded)
}
