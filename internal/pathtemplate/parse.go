package pathtemplate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Parse parses a path template in the syntax of google.api.http:
//
//	Template  = "/" Segments [ Verb ] ;
//	Segments  = Segment { "/" Segment } ;
//	Segment   = "*" | "**" | LITERAL | Variable ;
//	Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb      = ":" LITERAL ;
//
// See the package documentation for the exact rules. Errors are of type
// *ParseError.
func Parse(s string) (*Template, error) {
	if len(s) > MaxLength {
		return nil, &ParseError{Template: s, Offset: MaxLength,
			Msg: fmt.Sprintf("template is %d bytes long; the limit is %d", len(s), MaxLength)}
	}
	p := parser{s: s, pos: 1, dstar: -1}
	if s == "" || s[0] != '/' {
		return nil, p.fail(0, `a template must start with "/"`)
	}
	for {
		if err := p.segment(); err != nil {
			return nil, err
		}
		if p.pos == len(s) {
			break
		}
		c := s[p.pos]
		if c == '/' {
			p.pos++
			continue
		}
		if c == ':' {
			if err := p.verb(); err != nil {
				return nil, err
			}
			break
		}
		if c == '}' {
			return nil, p.fail(p.pos, `unexpected "}" outside a variable`)
		}
		// '{' after a literal, or anything after a variable's "}".
		return nil, p.fail(p.pos, "a variable must be a whole segment")
	}
	return p.template(), nil
}

// parser holds the state of one Parse call.
type parser struct {
	s     string
	pos   int
	segs  []segment
	vars  []variable
	verbs string // the verb as written
	verbd string // the verb decoded
	dstar int    // offset of "**" in s, or -1
}

// fail returns a *ParseError at offset off.
func (p *parser) fail(off int, format string, args ...any) error {
	return &ParseError{Template: p.s, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// template builds the Template from the parsed parts.
func (p *parser) template() *Template {
	t := &Template{segs: p.segs, vars: p.vars, verb: p.verbs, verbDec: p.verbd}
	t.doubleStar = p.segs[len(p.segs)-1].kind == segDoubleStar
	prefixDone := false
	for _, s := range p.segs {
		if s.kind == segLiteral {
			t.literals++
			if !prefixDone {
				t.prefix++
			}
		} else {
			prefixDone = true
		}
	}
	inVar := make([]bool, len(p.segs))
	for _, v := range p.vars {
		for i := v.start; i < v.end; i++ {
			inVar[i] = true
		}
	}
	for i, s := range p.segs {
		if s.kind != segLiteral && !inVar[i] {
			t.unnamed = true
		}
	}
	t.canonical = t.buildCanonical()
	return t
}

// segment parses one top-level segment starting at p.pos.
func (p *parser) segment() error {
	if p.dstar >= 0 {
		return p.fail(p.dstar, `"**" must be the last segment`)
	}
	if p.pos == len(p.s) {
		if p.pos == 1 {
			return p.fail(p.pos, `a template needs at least one segment after "/"`)
		}
		return p.fail(p.pos-1, `a template must not end with "/"`)
	}
	switch p.s[p.pos] {
	case '/':
		return p.fail(p.pos, `empty segment ("//")`)
	case ':':
		return p.fail(p.pos, `empty segment before the verb ":"`)
	case '{':
		return p.variable()
	case '}':
		return p.fail(p.pos, `unexpected "}" outside a variable`)
	}
	return p.token()
}

// token parses a "*", "**" or LITERAL segment starting at p.pos, which must
// not be empty. It stops before '/', ':', '{', '}' or the end of s.
func (p *parser) token() error {
	start := p.pos
	end := start
	for end < len(p.s) && !strings.ContainsRune("/:{}", rune(p.s[end])) {
		end++
	}
	p.pos = end
	text := p.s[start:end]
	var seg segment
	switch {
	case text == "*":
		seg.kind = segStar
	case text == "**":
		seg.kind = segDoubleStar
		p.dstar = start
	case strings.IndexByte(text, '*') >= 0:
		return p.fail(start+strings.IndexByte(text, '*'), `"*" is only allowed as a whole segment ("*" or "**")`)
	default:
		dec, err := p.literal(start, end, "a literal segment")
		if err != nil {
			return err
		}
		if dec == "." || dec == ".." {
			return p.fail(start, `"." and ".." are not allowed as segments (they never match a request path)`)
		}
		seg = segment{kind: segLiteral, raw: text, decoded: dec,
			multi: unescape(text, true), rawHasPct: strings.IndexByte(text, '%') >= 0}
	}
	if len(p.segs) == MaxSegments {
		return p.fail(start, "too many segments; the limit is %d", MaxSegments)
	}
	p.segs = append(p.segs, seg)
	return nil
}

// variable parses a variable starting at p.pos, which holds '{'.
func (p *parser) variable() error {
	open := p.pos
	p.pos++
	fpStart := p.pos
	for p.pos < len(p.s) && !strings.ContainsRune("=}{", rune(p.s[p.pos])) {
		p.pos++
	}
	if p.pos == len(p.s) {
		return p.fail(open, `unclosed variable: missing "}"`)
	}
	if p.s[p.pos] == '{' {
		return p.fail(p.pos, "variables cannot be nested")
	}
	fp := p.s[fpStart:p.pos]
	if fp == "" {
		return p.fail(fpStart, `empty variable: a field path is required, e.g. "{name}"`)
	}
	if i := checkFieldPath(fp); i >= 0 {
		return p.fail(fpStart+i, `invalid field path %q: each "."-separated part must match [A-Za-z_][A-Za-z0-9_]*`, fp)
	}
	for _, v := range p.vars {
		if v.fieldPath == fp {
			return p.fail(fpStart, "field path %q is used more than once", fp)
		}
	}
	v := variable{fieldPath: fp, start: len(p.segs)}
	if p.s[p.pos] == '}' {
		// "{name}" is short for "{name=*}".
		p.pos++
		if len(p.segs) == MaxSegments {
			return p.fail(open, "too many segments; the limit is %d", MaxSegments)
		}
		p.segs = append(p.segs, segment{kind: segStar})
		v.end = len(p.segs)
		p.vars = append(p.vars, v)
		return nil
	}
	// p.s[p.pos] == '='
	p.pos++
segments:
	for first := true; ; first = false {
		if p.dstar >= 0 {
			return p.fail(p.dstar, `"**" must be the last segment`)
		}
		if p.pos == len(p.s) {
			return p.fail(open, `unclosed variable: missing "}"`)
		}
		switch p.s[p.pos] {
		case '}':
			if first {
				return p.fail(p.pos, `variable %q has no segments after "="`, fp)
			}
			return p.fail(p.pos-1, `a variable's segments must not end with "/"`)
		case '/':
			if first {
				return p.fail(p.pos, `a variable's segments must not start with "/"`)
			}
			return p.fail(p.pos, `empty segment ("//")`)
		case '{':
			return p.fail(p.pos, "variables cannot be nested")
		case ':':
			return p.fail(p.pos, `":" is not allowed inside a variable; put a verb after the last segment, e.g. "/v1/{name}:verb"`)
		}
		if err := p.token(); err != nil {
			return err
		}
		if p.pos == len(p.s) {
			return p.fail(open, `unclosed variable: missing "}"`)
		}
		switch p.s[p.pos] {
		case '/':
			p.pos++
			continue
		case '{':
			return p.fail(p.pos, "variables cannot be nested")
		case ':':
			return p.fail(p.pos, `":" is not allowed inside a variable; put a verb after the last segment, e.g. "/v1/{name}:verb"`)
		}
		// '}'
		p.pos++
		break segments
	}
	v.end = len(p.segs)
	v.multi = v.end-v.start > 1 || p.segs[v.end-1].kind == segDoubleStar
	p.vars = append(p.vars, v)
	return nil
}

// verb parses the verb; p.pos holds the ':' that introduces it.
func (p *parser) verb() error {
	colon := p.pos
	text := p.s[colon+1:]
	if text == "" {
		return p.fail(colon, `empty verb after ":"`)
	}
	if strings.IndexByte(text, '/') >= 0 {
		return p.fail(colon, `":" may only introduce a verb after the last segment; percent-encode a literal colon as %%3A`)
	}
	dec, err := p.literal(colon+1, len(p.s), "the verb")
	if err != nil {
		return err
	}
	p.verbs, p.verbd = text, dec
	p.pos = len(p.s)
	return nil
}

// literal checks that s[start:end] is a LITERAL and returns it decoded. what
// names the literal in error messages.
func (p *parser) literal(start, end int, what string) (string, error) {
	for i := start; i < end; {
		c := p.s[i]
		switch {
		case isLiteralChar(c):
			i++
		case c == '%':
			if i+2 >= end || !isHex(p.s[i+1]) || !isHex(p.s[i+2]) {
				return "", p.fail(i, `invalid percent-encoding %q in %s: "%%" must be followed by two hex digits`,
					p.s[i:min(i+3, end)], what)
			}
			i += 3
		default:
			r, size := utf8.DecodeRuneInString(p.s[i:end])
			if r == utf8.RuneError && size == 1 {
				return "", p.fail(i, "invalid byte 0x%02X in %s; percent-encode it as %%%02X", c, what, c)
			}
			return "", p.fail(i, "invalid character %q in %s; percent-encode it as %s", r, what, escape(p.s[i:i+size], false))
		}
	}
	return unescape(p.s[start:end], false), nil
}

// isLiteralChar reports whether c may appear unencoded in a LITERAL: an RFC
// 3986 pchar other than '%' (escapes are checked separately) and the
// characters that are syntax in templates ('*', ':' and '=').
func isLiteralChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		'!', '$', '&', '\'', '(', ')', '+', ',', ';', // sub-delims
		'@':
		return true
	}
	return false
}

// checkFieldPath returns the offset of the first byte in fp that makes it an
// invalid FieldPath, or -1 if fp is valid. fp is not empty.
func checkFieldPath(fp string) int {
	partStart := true
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		switch {
		case c == '.':
			if partStart {
				return i
			}
			partStart = true
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			partStart = false
		case '0' <= c && c <= '9':
			if partStart {
				return i
			}
		default:
			return i
		}
	}
	if partStart { // ends with '.'
		return len(fp) - 1
	}
	return -1
}
