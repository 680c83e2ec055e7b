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
// matches the root template "/" and a template that is a single "**".
//
// If the template has a verb V, the last segment must end with ":"+V (V as
// written, or after its last ':' percent-decoded) and the rest of that segment must not be
// empty, as in grpc-gateway: so "/v1/{id}:a:b" matches "/v1/1:a:b". If the
// template has no verb, a ':' in the last segment is an ordinary character.
// "**" matches zero or more segments, so "/v1/{name=**}" matches "/v1" with
// name bound to ""; segments after "**" match the path's last segments.
func (t *Template) Match(path string) (map[string]string, bool) {
	if path == "" || path[0] != '/' {
		return nil, false
	}
	rest := path[1:]
	if t.verb != "" {
		last := rest[strings.LastIndexByte(rest, '/')+1:]
		c := t.verbColon(last)
		if c <= 0 {
			return nil, false
		}
		rest = rest[:len(rest)-len(last)+c]
	}
	n := len(t.segs)
	if n == 0 {
		return nil, rest == "" && t.verb == ""
	}

	// bounds holds the start and end offsets in rest of each path segment.
	var buf [2 * MaxSegments]int
	bounds := buf[:0]
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
			// Without "**", a literal is checked as soon as its segment is
			// found, and a path that is too long is rejected early.
			if m := len(bounds) / 2; t.dstar < 0 {
				if m >= n {
					return nil, false
				}
				if s := &t.segs[m]; s.kind == segLiteral && !literalMatches(seg, s) {
					return nil, false
				}
			}
			bounds = append(bounds, pos, end)
			if end == len(rest) {
				break
			}
			pos = end + 1
		}
	}
	m := len(bounds) / 2
	k := 0 // path segments matched by "**"
	switch {
	case t.dstar < 0:
		if m != n {
			return nil, false
		}
	case m < n-1:
		return nil, false
	default:
		k = m - (n - 1)
		for i := range t.segs {
			if t.segs[i].kind != segLiteral {
				continue
			}
			j := t.pathIndex(i, k)
			if !literalMatches(rest[bounds[2*j]:bounds[2*j+1]], &t.segs[i]) {
				return nil, false
			}
		}
	}

	if len(t.vars) == 0 {
		return nil, true
	}
	b := make(map[string]string, len(t.vars))
	for _, v := range t.vars {
		lo, hi := t.pathIndex(v.start, k), t.pathIndex(v.end-1, k)
		if v.end-1 == t.dstar {
			hi += k
		} else {
			hi++
		}
		val := ""
		if lo < hi { // else v is "**" matching no segments
			val = unescape(rest[bounds[2*lo]:bounds[2*hi-1]], v.multi)
		}
		b[v.fieldPath] = val
	}
	return b, true
}

// pathIndex returns the index of the first path segment that template
// segment i matches, when "**" matches k path segments.
func (t *Template) pathIndex(i, k int) int {
	if t.dstar < 0 || i <= t.dstar {
		return i
	}
	return i + k - 1
}

// verbColon returns the offset of the ':' before the verb in last, the last
// segment of a request path, or -1 if it does not end with the verb.
func (t *Template) verbColon(last string) int {
	if c := len(last) - len(t.verb) - 1; c >= 0 && last[c] == ':' && last[c+1:] == t.verb {
		return c
	}
	if c := strings.LastIndexByte(last, ':'); c >= 0 {
		if v := last[c+1:]; validEscapes(v) && decodedEquals(v, t.verbDec) {
			return c
		}
	}
	return -1
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
