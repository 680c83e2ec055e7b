package reqpath

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Reason is the google.rpc.ErrorInfo reason of a refused path.
const Reason = "INVALID_PATH"

// ErrEncodedSlash is the error of a path with an encoded slash ("%2F") when
// encoded slashes are not allowed; errors.Is tells it from the other
// refusals, which no route can allow.
var ErrEncodedSlash = errors.New(`the request path contains an encoded slash (%2F): send "/" only as a separator (a route must set allow_encoded_slashes to accept %2F within a segment)`)

// Errors of paths no route accepts.
var (
	errControl   = errors.New("the request path contains a control character (raw or percent-encoded, such as %00, %0D or %0A)")
	errBackslash = errors.New(`the request path contains a backslash ("\" or %5C), which some servers read as a separator`)
	errDot       = errors.New(`the request path contains a "." or ".." segment (possibly percent-encoded): send the path with dot-segments resolved`)
	errEscape    = errors.New(`the request path is not validly percent-encoded: every "%" must start an escape such as %20`)
	errUTF8      = errors.New("the request path is not valid UTF-8 once percent-decoded")
	errNoSlash   = errors.New(`the request path must start with "/"`)
)

// Canonical checks path, a request path as sent (percent-encoded, without
// the query), and returns its canonical form (see the package doc). With
// allowEncodedSlash, "%2F" is accepted as part of a segment and kept as
// "%2F" in the canonical form; without it, such a path is refused with
// ErrEncodedSlash. Other refusals are errors of their own whose message says
// what to fix. The canonical form of a path that needs no decoding is path
// itself, without allocating.
func Canonical(path string, allowEncodedSlash bool) (string, error) {
	if path == "" || path[0] != '/' {
		return "", errNoSlash
	}
	needsDecoding := false
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return "", errControl
		case c == '\\':
			return "", errBackslash
		case c == '%':
			needsDecoding = true
		case c >= 0x80:
			needsDecoding = true // checked for UTF-8 below
		}
	}
	var b strings.Builder
	if needsDecoding {
		b.Grow(len(path))
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		dec, err := decodeSegment(seg, allowEncodedSlash)
		if err != nil {
			return "", err
		}
		if isDotSegment(dec) {
			return "", errDot
		}
		if needsDecoding {
			b.WriteByte('/')
			b.WriteString(dec)
		}
	}
	if !needsDecoding {
		return path, nil
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return "", errUTF8
	}
	return out, nil
}

// decodeSegment decodes one segment into its canonical form: "%25" and
// "%2F" stay encoded (upper case), every other escape is decoded.
func decodeSegment(seg string, allowEncodedSlash bool) (string, error) {
	if strings.IndexByte(seg, '%') < 0 {
		return seg, nil
	}
	var b strings.Builder
	b.Grow(len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return "", errEscape
		}
		d := unhex(seg[i+1])<<4 | unhex(seg[i+2])
		i += 2
		switch {
		case d == '/':
			if !allowEncodedSlash {
				return "", ErrEncodedSlash
			}
			b.WriteString("%2F")
		case d == '%':
			b.WriteString("%25")
		case d == '\\':
			return "", errBackslash
		case d < 0x20 || d == 0x7f:
			return "", errControl
		default:
			b.WriteByte(d)
		}
	}
	return b.String(), nil
}

// isDotSegment reports whether a decoded segment is, or would become once
// a backend splits it at its encoded slashes or cuts it at ';' (a path
// parameter, as Tomcat and others do), "." or "..".
func isDotSegment(dec string) bool {
	for part := range strings.SplitSeq(dec, "%2F") {
		if i := strings.IndexByte(part, ';'); i >= 0 {
			part = part[:i]
		}
		if part == "." || part == ".." {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
