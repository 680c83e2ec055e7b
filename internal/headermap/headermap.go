package headermap

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of a header mapping.
const (
	// MaxPatterns is how many request header patterns an API may have.
	MaxPatterns = 50
	// MaxPatternLength is the longest pattern, in bytes.
	MaxPatternLength = 128
)

// reservedRequest are request headers a pattern never forwards under their
// own name: the transport's own (gRPC sets or refuses them), the
// forwarding headers the gateway asserts itself (a client could forge
// them), and hop-by-hop headers.
var reservedRequest = map[string]bool{
	"connection":          true,
	"content-length":      true,
	"content-type":        true,
	"forwarded":           true,
	"host":                true,
	"keep-alive":          true,
	"proxy-authorization": true,
	"proxy-connection":    true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
	"user-agent":          true,
	"x-forwarded-for":     true,
	"x-forwarded-host":    true,
	"x-forwarded-proto":   true,
}

// reservedPrefixes are the name prefixes of reserved headers in both
// directions: gRPC's own, and the gateway's own (x-tollgate-*), which only
// the gateway sets.
var reservedPrefixes = []string{"grpc-", "x-tollgate-"}

// reservedResponse are response metadata keys never written as HTTP
// headers of the same name: gRPC's framing (content-type: application/grpc
// would replace the JSON body's type), hop-by-hop and length headers that
// would corrupt the HTTP response, the CORS headers the gateway's policy
// writes, and Retry-After, which the gateway writes itself from a
// refusal's google.rpc.RetryInfo.
var reservedResponse = map[string]bool{
	"connection":        true,
	"content-encoding":  true,
	"content-length":    true,
	"content-type":      true,
	"date":              true,
	"keep-alive":        true,
	"proxy-connection":  true,
	"retry-after":       true,
	"server":            true,
	"te":                true,
	"trailer":           true,
	"transfer-encoding": true,
	"upgrade":           true,
}

// Patterns is a compiled list of request header patterns. The zero value
// and nil match nothing.
type Patterns struct {
	exact    map[string]bool
	prefixes []string
}

// ValidatePattern checks one request header pattern: a header name
// (letters, digits, '-', '_' and '.', which gRPC metadata keys allow), or
// such a prefix followed by '*' ("x-custom-*"), at most MaxPatternLength
// bytes, naming no reserved header (the transport's own, hop-by-hop
// headers, the forwarding headers the gateway asserts, grpc-* and
// x-tollgate-*). A bare "*" is refused: forwarding every header would
// forward cookies and credentials the backend does not expect.
func ValidatePattern(p string) error {
	switch {
	case p == "":
		return errors.New("a header pattern must not be empty")
	case len(p) > MaxPatternLength:
		return fmt.Errorf("header pattern %.20q… is longer than %d bytes", p, MaxPatternLength)
	case p == "*":
		return errors.New(`"*" would forward every header, cookies and credentials included: list the headers, or prefixes such as "x-custom-*"`)
	}
	name, wildcard := strings.CutSuffix(p, "*")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("header pattern %q: %q is not allowed (letters, digits, '-', '_' and '.', optionally ending with '*')", p, c)
		}
	}
	name = strings.ToLower(name)
	if !wildcard && reservedRequest[name] {
		return fmt.Errorf("header pattern %q names a header the gateway or gRPC reserves", p)
	}
	for _, r := range reservedPrefixes {
		if strings.HasPrefix(name, r) || (wildcard && name == strings.TrimSuffix(r, "-")) {
			return fmt.Errorf("header pattern %q names headers the gateway or gRPC reserves (%s*)", p, r)
		}
	}
	return nil
}

// Compile compiles request header patterns, each checked by
// ValidatePattern.
func Compile(patterns []string) (*Patterns, error) {
	if len(patterns) > MaxPatterns {
		return nil, fmt.Errorf("%d header patterns, at most %d", len(patterns), MaxPatterns)
	}
	if len(patterns) == 0 {
		return nil, nil
	}
	p := &Patterns{exact: map[string]bool{}}
	for _, s := range patterns {
		if err := ValidatePattern(s); err != nil {
			return nil, err
		}
		s = strings.ToLower(s)
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			p.prefixes = append(p.prefixes, prefix)
		} else {
			p.exact[s] = true
		}
	}
	return p, nil
}

// Match reports whether the request header name (any case) is to be
// forwarded under its own lowercased name. Reserved headers never match,
// whatever the patterns.
func (p *Patterns) Match(name string) (string, bool) {
	if p == nil {
		return "", false
	}
	k := strings.ToLower(name)
	if reservedRequest[k] || hasReservedPrefix(k) {
		return "", false
	}
	if p.exact[k] {
		return k, true
	}
	for _, prefix := range p.prefixes {
		if strings.HasPrefix(k, prefix) {
			return k, true
		}
	}
	return "", false
}

// ResponseHeaderAllowed reports whether response metadata key (lowercase)
// may be written as an HTTP header of the same name. Binary ("-bin")
// metadata never is: its raw bytes are not a valid header value.
func ResponseHeaderAllowed(key string) bool {
	return !reservedResponse[key] && !hasReservedPrefix(key) && !strings.HasPrefix(key, "access-control-") &&
		!strings.HasSuffix(key, "-bin") && !strings.HasPrefix(key, ":")
}

// IsResponseReserved reports whether response metadata key (lowercase)
// reaches a REST client under no name at all: gRPC's content-type and the
// retry-after entry the gateway's throttle and quota set for HTTP edges
// (the gateway writes Retry-After itself).
func IsResponseReserved(key string) bool {
	return key == "content-type" || key == "retry-after"
}

func hasReservedPrefix(k string) bool {
	for _, r := range reservedPrefixes {
		if strings.HasPrefix(k, r) {
			return true
		}
	}
	return false
}
