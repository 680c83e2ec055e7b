package pathtemplate

import (
	"fmt"
	"strings"
)

// MaxLength is the maximum length of a template in bytes.
const MaxLength = 4096

// MaxSegments is the maximum number of segments in a template, counting the
// segments inside variables (so "/v1/{name=shelves/*}" has three).
const MaxSegments = 64

// segKind is the kind of a template segment.
type segKind uint8

const (
	segLiteral    segKind = iota // a LITERAL, matched exactly (after decoding)
	segStar                      // "*": exactly one segment
	segDoubleStar                // "**": zero or more trailing segments
)

// segment is one segment of a parsed template.
type segment struct {
	kind segKind
	// raw is the literal as written in the template; empty for wildcards.
	raw string
	// decoded is raw fully percent-decoded.
	decoded string
	// multi is raw decoded except for encoded slashes, which are normalised
	// to "%2F": the form a multi-segment variable's value takes.
	multi string
	// rawHasPct reports whether raw contains a percent-escape.
	rawHasPct bool
}

// variable is a variable of a parsed template.
type variable struct {
	fieldPath string
	// start and end delimit the variable's segments in Template.segs.
	start, end int
	// multi reports whether the variable can span several path segments
	// (it has several segments or ends in "**"); its value then keeps
	// encoded slashes as "%2F".
	multi bool
}

// Template is a parsed google.api.http path template such as
// "/v1/{name=shelves/*/books/*}:publish". A Template is immutable and safe
// for concurrent use.
type Template struct {
	segs      []segment
	vars      []variable
	verb      string // as written
	verbDec   string // percent-decoded
	dstar     int    // the index of the "**" segment in segs, or -1
	unnamed   bool   // some "*" or "**" lies outside any variable
	canonical string
	literals  int // number of literal segments
	prefix    int // number of leading literal segments
}

// ParseError describes why a template could not be parsed.
type ParseError struct {
	// Template is the template that failed to parse.
	Template string
	// Offset is the byte offset in Template where the problem was found.
	Offset int
	// Msg says what is wrong and, where possible, how to fix it.
	Msg string
}

// Error returns the message in the form `path template "<template>": <msg>`.
// Templates longer than 128 bytes are shortened in the message.
func (e *ParseError) Error() string {
	t := e.Template
	if len(t) > 128 {
		t = t[:120] + "..."
	}
	return fmt.Sprintf("path template %q: %s", t, e.Msg)
}

// MustParse is like Parse but panics if the template cannot be parsed. It is
// meant for templates that are constants in the program.
func MustParse(s string) *Template {
	t, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return t
}

// String returns the template in canonical form: a variable bound to a single
// "*" is printed in its short form ("{id=*}" becomes "{id}"); everything else,
// including the spelling of literals, is printed as written. Parsing the
// result yields an equivalent template with the same String.
func (t *Template) String() string { return t.canonical }

// Verb returns the template's verb without the leading ":", or "" if the
// template has none. It is returned as written in the template (still
// percent-encoded, if it was).
func (t *Template) Verb() string { return t.verb }

// FieldPaths returns the field paths of the template's variables in the order
// they appear, for example ["name"] or ["book.shelf", "book.id"]. The caller
// owns the returned slice.
func (t *Template) FieldPaths() []string {
	fps := make([]string, len(t.vars))
	for i, v := range t.vars {
		fps[i] = v.fieldPath
	}
	return fps
}

// MatchesNothing reports whether no request path can match the template:
// it has a "." or ".." literal segment (also percent-encoded), which Match
// never matches, or it is the root template with a verb ("/:verb"), which
// grpc-gateway never matches either. grpc-gateway accepts such templates.
func (t *Template) MatchesNothing() bool {
	if len(t.segs) == 0 {
		return t.verb != ""
	}
	for _, s := range t.segs {
		if s.kind == segLiteral && (s.decoded == "." || s.decoded == "..") {
			return true
		}
	}
	return false
}

// LiteralPrefixLen returns the number of leading literal segments, counting
// literals inside variables: 2 for "/v1/{name=shelves/*}" and 1 for
// "/v1/{name}/books". Routers use it to order templates by specificity.
func (t *Template) LiteralPrefixLen() int { return t.prefix }

// buildCanonical renders t in canonical form.
func (t *Template) buildCanonical() string {
	var b strings.Builder
	vi := 0
	for i := 0; i < len(t.segs); {
		b.WriteByte('/')
		if vi < len(t.vars) && t.vars[vi].start == i {
			v := t.vars[vi]
			vi++
			b.WriteByte('{')
			b.WriteString(v.fieldPath)
			if v.end-v.start != 1 || t.segs[v.start].kind != segStar {
				b.WriteByte('=')
				writeSegments(&b, t.segs[v.start:v.end])
			}
			b.WriteByte('}')
			i = v.end
			continue
		}
		writeSegments(&b, t.segs[i:i+1])
		i++
	}
	if len(t.segs) == 0 {
		b.WriteByte('/')
	}
	// A last literal segment holding a ':' is written with an empty verb
	// ("/v1/a:b:"), or parsing the result would take the ':' for a verb's.
	if last := len(t.segs) - 1; t.verb == "" && last >= 0 && t.segs[last].kind == segLiteral &&
		strings.IndexByte(t.segs[last].raw, ':') >= 0 && (len(t.vars) == 0 || t.vars[len(t.vars)-1].end <= last) {
		b.WriteByte(':')
	}
	if t.verb != "" {
		b.WriteByte(':')
		b.WriteString(t.verb)
	}
	return b.String()
}

// writeSegments writes segs to b, separated by "/".
func writeSegments(b *strings.Builder, segs []segment) {
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		switch s.kind {
		case segStar:
			b.WriteByte('*')
		case segDoubleStar:
			b.WriteString("**")
		default:
			b.WriteString(s.raw)
		}
	}
}
