package cache

import (
	"strings"
)

// directives are the Cache-Control directives the cache acts on.
type directives struct {
	// maxAgeZero is a request's "max-age=0" or "no-cache": the caller
	// asks for a response fresh from the backend.
	maxAgeZero bool
	// noStore is a response's "no-store", "no-cache" or "private": the
	// response must not be kept by a shared cache (RFC 9111, 5.2.2).
	noStore bool
}

// parseCacheControl reads the directives of Cache-Control values (each may
// list several, comma-separated; names are case-insensitive, values may be
// quoted). Directives it does not know, and malformed ones, are ignored, as
// RFC 9111 asks of caches.
func parseCacheControl(values []string) directives {
	var d directives
	for _, v := range values {
		for len(v) > 0 {
			var item string
			item, v = nextDirective(v)
			name, arg, _ := strings.Cut(item, "=")
			name = strings.TrimSpace(name)
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			switch {
			case strings.EqualFold(name, "max-age"):
				if isZero(arg) {
					d.maxAgeZero = true
				}
			case strings.EqualFold(name, "no-cache"):
				d.maxAgeZero, d.noStore = true, true
			case strings.EqualFold(name, "no-store"), strings.EqualFold(name, "private"):
				d.noStore = true
			}
		}
	}
	return d
}

// nextDirective splits off the first comma-separated directive of v,
// skipping commas inside a quoted argument.
func nextDirective(v string) (item, rest string) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				return v[:i], v[i+1:]
			}
		}
	}
	return v, ""
}

// isZero reports whether a delta-seconds argument is zero ("0", "00").
func isZero(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
