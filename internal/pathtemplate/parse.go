package pathtemplate

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Parse parses a path template in the syntax of google.api.http, exactly as
// grpc-gateway (v2) parses it:
//
//	Template  = "/" [ Segments ] [ Verb ] ;
//	Segments  = Segment { "/" Segment } ;
//	Segment   = "*" | "**" | LITERAL | Variable ;
//	Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb      = ":" LITERAL ;
//
// See the package documentation for the exact rules, in particular how the
// verb is found. Errors are of type *ParseError.
func Parse(s string) (*Template, error) {
	if len(s) > MaxLength {
		return nil, &ParseError{Template: s, Offset: MaxLength,
			Msg: fmt.Sprintf("template is %d bytes long; the limit is %d", len(s), MaxLength)}
	}
	p := parser{s: s, pos: 1, dstar: -1}
	if s == "" || s[0] != '/' {
		return nil, p.fail(0, `a template must start with "/"`)
	}
	p.end = len(s)
	if colon, ok := verbColon(s); ok {
		if err := p.verb(colon); err != nil {
			return nil, err
		}
		p.end = colon
	}
	if p.end == 1 {
		// "/" (or "/:verb"): the root, no segments.
		return p.template(), nil
	}
	for {
		if err := p.segment(); err != nil {
			return nil, err
		}
		if p.pos == p.end {
			break
		}
		switch p.s[p.pos] {
		case '/':
			p.pos++
			continue
		case '}':
			return nil, p.fail(p.pos, `unexpected "}" outside a variable`)
		}
		// '{' after a literal, or anything after a variable's "}".
		return nil, p.fail(p.pos, "a variable must be a whole segment")
	}
	return p.template(), nil
}

// verbColon returns the offset of the ':' that starts the verb of s, found
// as grpc-gateway's tokenizer finds it: s is split into tokens at "/" and "{"
// (outside variables), ".", "=" and "}" (in a field path) and "/" and "}"
// (in a variable's segments); the verb is in the last token, after its first
// ':' if the token follows a variable's "}" and after its last ':'
// otherwise. So "/v1/{id}:a:b" has the verb "a:b", and "/v1/x:a:b" the
// literal "x:a" and the verb "b" (which match the same request paths).
func verbColon(s string) (int, bool) {
	const (
		outside = iota
		field
		nested
	)
	type token struct{ start, end int }
	var toks []token
	state, start := outside, 1
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch state {
		case outside:
			if c != '/' && c != '{' {
				continue
			}
		case field:
			if c != '.' && c != '=' && c != '}' {
				continue
			}
		case nested:
			if c != '/' && c != '}' {
				continue
			}
		}
		switch c {
		case '{':
			state = field
		case '=':
			state = nested
		case '}':
			state = outside
		}
		if i > start {
			toks = append(toks, token{start, i})
		}
		toks = append(toks, token{i, i + 1})
		start = i + 1
	}
	if start < len(s) {
		toks = append(toks, token{start, len(s)})
	}
	if len(toks) == 0 {
		return 0, false
	}
	last := toks[len(toks)-1]
	text := s[last.start:last.end]
	c := strings.LastIndexByte(text, ':')
	if n := len(toks); n >= 2 && s[toks[n-2].start:toks[n-2].end] == "}" {
		c = strings.IndexByte(text, ':')
	}
	if c < 0 {
		return 0, false
	}
	return last.start + c, true
}

// parser holds the state of one Parse call.
type parser struct {
	s     string
	pos   int
	end   int // where the segments end: len(s), or the verb's ':'
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
	t := &Template{segs: p.segs, vars: p.vars, verb: p.verbs, verbDec: p.verbd, dstar: -1}
	prefixDone := false
	for i, s := range p.segs {
		switch s.kind {
		case segLiteral:
			t.literals++
			if !prefixDone {
				t.prefix++
			}
		case segDoubleStar:
			t.dstar = i
			prefixDone = true
		default:
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
	if p.pos == p.end {
		return p.fail(p.pos-1, `a template must not end with "/"`)
	}
	switch p.s[p.pos] {
	case '/':
		return p.emptySegment()
	case '{':
		return p.variable()
	case '}':
		return p.fail(p.pos, `unexpected "}" outside a variable`)
	}
	return p.token()
}

// emptySegment handles an empty segment at p.pos, which holds a '/'. Like
// grpc-gateway, whose parser accepts a "/" token where it expects "*", it
// is read as "*" when another "/", a "}" or the end follows: "/v1/x//" is
// "/v1/x/*" and "///x" is "/*/x". Any other empty segment is an error.
func (p *parser) emptySegment() error {
	if next := p.pos + 1; next < p.end && p.s[next] != '/' && p.s[next] != '}' {
		return p.fail(p.pos, `empty segment ("//")`)
	}
	p.pos++
	return p.add(p.pos-1, segment{kind: segStar})
}

// add appends a segment found at offset off.
func (p *parser) add(off int, seg segment) error {
	if len(p.segs) == MaxSegments {
		return p.fail(off, "too many segments; the limit is %d", MaxSegments)
	}
	p.segs = append(p.segs, seg)
	return nil
}

// token parses a "*", "**" or LITERAL segment starting at p.pos, which must
// not be empty. It stops before '/', '{', '}' or the end of the segments.
func (p *parser) token() error {
	start := p.pos
	end := start
	for end < p.end && !strings.ContainsRune("/{}", rune(p.s[end])) {
		end++
	}
	p.pos = end
	text := p.s[start:end]
	var seg segment
	switch text {
	case "*":
		seg.kind = segStar
	case "**":
		if p.dstar >= 0 {
			return p.fail(start, `a template may have only one "**"`)
		}
		seg.kind = segDoubleStar
		p.dstar = start
	default:
		dec, err := p.literal(start, end, "a literal segment")
		if err != nil {
			return err
		}
		seg = segment{kind: segLiteral, raw: text, decoded: dec,
			multi: unescape(text, true), rawHasPct: strings.IndexByte(text, '%') >= 0}
	}
	return p.add(start, seg)
}

// variable parses a variable starting at p.pos, which holds '{'.
func (p *parser) variable() error {
	open := p.pos
	p.pos++
	fpStart := p.pos
	for p.pos < p.end && !strings.ContainsRune("=}{", rune(p.s[p.pos])) {
		p.pos++
	}
	if p.pos == p.end {
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
	v := variable{fieldPath: fp, start: len(p.segs)}
	if p.s[p.pos] == '}' {
		// "{name}" is short for "{name=*}".
		p.pos++
		if err := p.add(open, segment{kind: segStar}); err != nil {
			return err
		}
		v.end = len(p.segs)
		p.vars = append(p.vars, v)
		return nil
	}
	// p.s[p.pos] == '='
	p.pos++
segments:
	for first := true; ; first = false {
		if p.pos == p.end {
			return p.fail(open, `unclosed variable: missing "}"`)
		}
		switch p.s[p.pos] {
		case '}':
			if first {
				return p.fail(p.pos, `variable %q has no segments after "="`, fp)
			}
			return p.fail(p.pos-1, `a variable's segments must not end with "/"`)
		case '/':
			if err := p.emptySegment(); err != nil {
				return err
			}
		case '{':
			return p.fail(p.pos, "variables cannot be nested")
		default:
			if err := p.token(); err != nil {
				return err
			}
		}
		if p.pos == p.end {
			return p.fail(open, `unclosed variable: missing "}"`)
		}
		switch p.s[p.pos] {
		case '/':
			p.pos++
			continue
		case '{':
			return p.fail(p.pos, "variables cannot be nested")
		case '}':
			p.pos++
			break segments
		}
		return p.fail(p.pos, `expected "/" or "}"`)
	}
	v.end = len(p.segs)
	v.multi = v.end-v.start > 1 || p.segs[v.end-1].kind == segDoubleStar
	p.vars = append(p.vars, v)
	return nil
}

// verb parses the verb after the ':' at offset colon. An empty verb ("/v1/x:")
// is no verb, as in grpc-gateway.
func (p *parser) verb(colon int) error {
	text := p.s[colon+1:]
	dec, err := p.literal(colon+1, len(p.s), "the verb")
	if err != nil {
		return err
	}
	p.verbs, p.verbd = text, dec
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
// 3986 pchar other than '%' (escapes are checked separately), as in
// grpc-gateway. '*', ':' and '=' are pchars: "a*b", "a:b" and "a=b" are
// literals, though "*" and "**" alone are wildcards.
func isLiteralChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		'!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', // sub-delims
		':', '@':
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
