package pathtemplate

import (
	"fmt"
	"strings"
)

// Expand builds a request path from the template by substituting each
// variable's value from values, keyed by field path; keys that are not field
// paths of the template are ignored. It is the inverse of Match: for any
// values Expand accepts, Match on the result returns the same values.
//
// Values are percent-encoded: every byte except the RFC 3986 unreserved
// characters [A-Za-z0-9-._~] is encoded, and for multi-segment variables "/"
// is kept as the segment separator. Literal segments and the verb are written
// as in the template.
//
// Expand returns an error if a variable has no value, or if a value cannot
// match its variable: a single-segment value must not be empty, "." or "..";
// a multi-segment value must consist of the variable's segments (its literals
// and one non-empty segment per "*"), with no empty, "." or ".." segments.
// A "**" outside a variable expands to no segments; a "*" outside a variable
// cannot be expanded and is an error.
func (t *Template) Expand(values map[string]string) (string, error) {
	parts := make([]string, 0, len(t.segs))
	vi := 0
	for i := 0; i < len(t.segs); {
		if vi < len(t.vars) && t.vars[vi].start == i {
			v := &t.vars[vi]
			vi++
			val, ok := values[v.fieldPath]
			if !ok {
				return "", t.expandError("missing value for %q", v.fieldPath)
			}
			part, err := t.expandVar(v, val)
			if err != nil {
				return "", err
			}
			if part != "" {
				parts = append(parts, part)
			}
			i = v.end
			continue
		}
		switch s := t.segs[i]; s.kind {
		case segLiteral:
			parts = append(parts, s.raw)
		case segStar:
			return "", t.expandError(`segment %d is a "*" outside a variable, which has no value`, i+1)
		}
		i++
	}
	if len(parts) == 0 && t.verb != "" {
		return "", t.expandError("the path would have no segment before the verb")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(p)
	}
	if len(parts) == 0 {
		b.WriteByte('/')
	}
	if t.verb != "" {
		b.WriteByte(':')
		b.WriteString(t.verb)
	}
	return b.String(), nil
}

// expandVar returns the encoded path segments for value of variable v,
// joined by "/"; it is "" only for a "**" that matches no segments.
func (t *Template) expandVar(v *variable, value string) (string, error) {
	pattern := t.segs[v.start:v.end]
	if !v.multi {
		s := &pattern[0]
		switch {
		case s.kind == segLiteral:
			if value != s.decoded {
				return "", t.expandError("value %q for %q must be %q", value, v.fieldPath, s.decoded)
			}
			return s.raw, nil
		case value == "":
			return "", t.expandError("value for %q must not be empty", v.fieldPath)
		case value == "." || value == "..":
			return "", t.expandError("value %q for %q is not a valid path segment", value, v.fieldPath)
		}
		return escape(value, false), nil
	}

	for i := range pattern[:len(pattern)-1] {
		if pattern[i].kind == segDoubleStar {
			return "", t.expandError(`%q cannot be expanded: its "**" is not its last segment`, v.fieldPath)
		}
	}
	var segs []string
	if value != "" {
		segs = strings.Split(value, "/")
	}
	mismatch := func() error {
		var b strings.Builder
		writeSegments(&b, pattern)
		return t.expandError("value %q for %q does not match %q", value, v.fieldPath, b.String())
	}
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		if seg == "" || seg == "." || seg == ".." {
			return "", t.expandError(`value %q for %q has an empty, "." or ".." segment`, value, v.fieldPath)
		}
		if i >= len(pattern) {
			if pattern[len(pattern)-1].kind != segDoubleStar {
				return "", mismatch()
			}
			out = append(out, escape(seg, false))
			continue
		}
		if s := &pattern[i]; s.kind == segLiteral {
			if seg != s.multi {
				return "", mismatch()
			}
			out = append(out, s.raw)
		} else {
			out = append(out, escape(seg, false))
		}
	}
	if len(segs) < len(pattern) && (len(segs) < len(pattern)-1 || pattern[len(pattern)-1].kind != segDoubleStar) {
		return "", mismatch()
	}
	return strings.Join(out, "/"), nil
}

// expandError returns an error for Expand.
func (t *Template) expandError(format string, args ...any) error {
	return fmt.Errorf("pathtemplate: expanding %q: %s", t.canonical, fmt.Sprintf(format, args...))
}
