package pathtemplate

import "strings"

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// validEscapes reports whether every '%' in s starts a "%XX" escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// unescape percent-decodes s, whose escapes must be valid. If keepSlash is
// set, an encoded slash ("%2F" or "%2f") is not decoded but written as
// "%2F". It returns s itself when there is nothing to decode.
func unescape(s string, keepSlash bool) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		d := unhex(s[i+1])<<4 | unhex(s[i+2])
		i += 2
		if d == '/' && keepSlash {
			b.WriteString("%2F")
		} else {
			b.WriteByte(d)
		}
	}
	return b.String()
}

// decodedEquals reports whether s, percent-decoded, equals want. Escapes in
// s must be valid. It does not allocate.
func decodedEquals(s, want string) bool {
	j := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		}
		if j == len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

// shouldEscape reports whether Expand percent-encodes c: everything except
// the RFC 3986 unreserved characters, and except '/' if keepSlash is set.
func shouldEscape(c byte, keepSlash bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return false
	}
	switch c {
	case '-', '.', '_', '~':
		return false
	case '/':
		return !keepSlash
	}
	return true
}

// escape percent-encodes s with upper-case hex digits, leaving only the
// unreserved characters (and '/' if keepSlash is set) as they are.
func escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if shouldEscape(s[i], keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if shouldEscape(c, keepSlash) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
