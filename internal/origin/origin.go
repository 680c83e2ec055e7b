package origin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// MaxPatterns bounds the patterns of one stage.
const MaxPatterns = 64

// Check reports why a pattern is not valid, or nil.
func Check(pattern string) error {
	if pattern == "*" {
		return nil
	}
	scheme, host, ok := split(pattern)
	if !ok {
		return errors.New(`must be an origin such as "https://app.example.com", a wildcard such as "https://*.example.com", or "*"`)
	}
	if scheme != "http" && scheme != "https" {
		return fmt.Errorf("scheme must be http or https (got %q)", scheme)
	}
	name := strings.TrimPrefix(host, "*.")
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	if name == "" || strings.Contains(name, "*") {
		return errors.New(`a wildcard may only be the first label of the host, as in "https://*.example.com"`)
	}
	return nil
}

// split returns the lowercase scheme and host[:port] of an origin or
// pattern without path, query, fragment or credentials.
func split(s string) (scheme, host string, ok bool) {
	u, err := url.Parse(s)
	if err != nil {
		// "https://*.example.com" parses; anything else that does not is
		// no origin.
		return "", "", false
	}
	if u.Scheme == "" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", false
	}
	return strings.ToLower(u.Scheme), strings.ToLower(u.Host), true
}

// Allowed reports whether a WebSocket upgrade with the given Origin header
// value may proceed on a stage whose allowed patterns are patterns, for a
// request to host (its Host header). A request without Origin (not from a
// browser) is allowed, and so is an origin whose host equals host (the
// page was served by the gateway's own host); "null" and malformed origins
// are refused unless a pattern is "*".
func Allowed(origin, host string, patterns []string) bool {
	if origin == "" {
		return true
	}
	for _, p := range patterns {
		if p == "*" {
			return true
		}
	}
	scheme, oh, ok := split(origin)
	if !ok {
		return false
	}
	if strings.EqualFold(oh, host) {
		return true
	}
	for _, p := range patterns {
		ps, ph, ok := split(p)
		if !ok || ps != scheme {
			continue
		}
		if suffix, wild := strings.CutPrefix(ph, "*"); wild {
			// suffix is ".example.com" or ".example.com:8443".
			if len(oh) > len(suffix) && strings.HasSuffix(oh, suffix) && !strings.Contains(oh[:len(oh)-len(suffix)], ":") {
				return true
			}
			continue
		}
		if ph == oh {
			return true
		}
	}
	return false
}
