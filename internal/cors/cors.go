package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

// MaxAgeLimit is the largest max_age_seconds accepted: one day, as
// Amazon API Gateway.
const MaxAgeLimit = 86400

// maxEntries bounds each list of a configuration.
const maxEntries = 100

// Response and request headers of the CORS protocol.
const (
	hOrigin           = "Origin"
	hRequestMethod    = "Access-Control-Request-Method"
	hRequestHeaders   = "Access-Control-Request-Headers"
	hAllowOrigin      = "Access-Control-Allow-Origin"
	hAllowMethods     = "Access-Control-Allow-Methods"
	hAllowHeaders     = "Access-Control-Allow-Headers"
	hAllowCredentials = "Access-Control-Allow-Credentials"
	hExposeHeaders    = "Access-Control-Expose-Headers"
	hMaxAge           = "Access-Control-Max-Age"
	hVary             = "Vary"
)

// httpToken is the syntax of method and header names.
var httpToken = lazyregexp.New("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")

// Violation is one problem of a configuration: the field (relative to the
// CorsConfiguration, e.g. "allow_origins[2]") and what is wrong.
type Violation struct {
	Field, Description string
}

// Validate returns every problem of c.
func Validate(c *adminv1.CorsConfiguration) []Violation {
	var out []Violation
	add := func(field, format string, args ...any) {
		out = append(out, Violation{field, fmt.Sprintf(format, args...)})
	}
	anyOrigin := false
	for _, l := range []struct {
		name    string
		entries []string
	}{{"allow_origins", c.GetAllowOrigins()}, {"allow_methods", c.GetAllowMethods()}, {"allow_headers", c.GetAllowHeaders()}, {"expose_headers", c.GetExposeHeaders()}} {
		if len(l.entries) > maxEntries {
			add(l.name, "must have at most %d entries (got %d)", maxEntries, len(l.entries))
			continue
		}
		for i, s := range l.entries {
			f := l.name + "[" + strconv.Itoa(i) + "]"
			switch {
			case l.name == "allow_origins":
				if s == "*" {
					anyOrigin = true
				} else if _, err := parseOrigin(s); err != nil {
					add(f, "%s", err.Error())
				}
			case s == "*":
			case !httpToken.MatchString(s):
				add(f, "must be an HTTP method or header name, or \"*\" (got %q)", trim(s))
			}
		}
	}
	if m := c.GetMaxAgeSeconds(); m < 0 || m > MaxAgeLimit {
		add("max_age_seconds", "must be between 0 and %d (got %d)", MaxAgeLimit, m)
	}
	if c.GetAllowCredentials() {
		if anyOrigin {
			add("allow_credentials", `cannot be true when allow_origins contains "*": browsers refuse credentials for any origin; list the origins`)
		}
		if slices.Contains(c.GetExposeHeaders(), "*") {
			add("allow_credentials", `cannot be true when expose_headers contains "*": browsers read "*" literally with credentials; list the headers`)
		}
	}
	return out
}

// trim shortens a value quoted in a message.
func trim(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// origin is an allowed origin: exact, or any subdomain of a host.
type origin struct {
	exact          string // "https://app.example.com"
	prefix, suffix string // "https://" and ".example.com:8443" for "https://*.example.com:8443"
}

// parseOrigin parses an allow_origins entry other than "*": scheme://host
// with an optional port, no path, and optionally "*." at the start of the
// host for any subdomain.
func parseOrigin(s string) (origin, error) {
	bad := fmt.Errorf(`must be an origin such as "https://app.example.com", "https://*.example.com" or "*" (got %q)`, trim(s))
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || rest == "" {
		return origin{}, bad
	}
	wildcard := strings.HasPrefix(rest, "*.")
	check := rest
	if wildcard {
		check = "x" + rest[1:]
	}
	if strings.Contains(check, "*") {
		return origin{}, bad
	}
	u, err := url.Parse(scheme + "://" + check)
	if err != nil || u.Host != check || u.Hostname() == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return origin{}, bad
	}
	s = strings.ToLower(s)
	if wildcard {
		i := strings.Index(s, "*.")
		return origin{prefix: s[:i], suffix: s[i+1:]}, nil
	}
	return origin{exact: s}, nil
}

// matches reports whether o allows the origin o2 (lowercase).
func (o origin) matches(s string) bool {
	if o.exact != "" {
		return s == o.exact
	}
	if len(s) <= len(o.prefix)+len(o.suffix) || !strings.HasPrefix(s, o.prefix) || !strings.HasSuffix(s, o.suffix) {
		return false
	}
	sub := s[len(o.prefix) : len(s)-len(o.suffix)]
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return sub[0] != '.' && sub[len(sub)-1] != '.'
}

// Policy is a compiled CorsConfiguration. A nil Policy does no CORS.
type Policy struct {
	anyOrigin   bool
	origins     []origin
	anyMethod   bool
	methods     map[string]bool
	anyHeader   bool
	headers     map[string]bool // lowercase
	allowMethod string          // Access-Control-Allow-Methods, unless anyMethod
	allowHeader string          // Access-Control-Allow-Headers, unless anyHeader
	expose      string
	maxAge      string
	credentials bool
}

// Compile compiles c, or returns nil for a nil c or one without origins
// (which allows no origin, so does nothing).
func Compile(c *adminv1.CorsConfiguration) (*Policy, error) {
	if c == nil || len(c.GetAllowOrigins()) == 0 {
		return nil, nil
	}
	if vs := Validate(c); len(vs) > 0 {
		return nil, fmt.Errorf("cors: %s: %s", vs[0].Field, vs[0].Description)
	}
	p := &Policy{methods: map[string]bool{}, headers: map[string]bool{}, credentials: c.GetAllowCredentials()}
	for _, s := range c.GetAllowOrigins() {
		if s == "*" {
			p.anyOrigin = true
			continue
		}
		o, err := parseOrigin(s)
		if err != nil {
			return nil, errors.New("cors: " + err.Error()) // unreachable: validated
		}
		p.origins = append(p.origins, o)
	}
	var methods, headers []string
	for _, m := range c.GetAllowMethods() {
		if m == "*" {
			p.anyMethod = true
			continue
		}
		m = strings.ToUpper(m)
		if !p.methods[m] {
			p.methods[m] = true
			methods = append(methods, m)
		}
	}
	for _, h := range c.GetAllowHeaders() {
		if h == "*" {
			p.anyHeader = true
			continue
		}
		h = strings.ToLower(h)
		if !p.headers[h] {
			p.headers[h] = true
			headers = append(headers, h)
		}
	}
	p.allowMethod = strings.Join(methods, ", ")
	p.allowHeader = strings.Join(headers, ", ")
	p.expose = strings.Join(c.GetExposeHeaders(), ", ")
	if m := c.GetMaxAgeSeconds(); m > 0 {
		p.maxAge = strconv.Itoa(int(m))
	}
	return p, nil
}

// IsPreflight reports whether r is a CORS preflight request: OPTIONS with
// Origin and Access-Control-Request-Method.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get(hOrigin) != "" && r.Header.Get(hRequestMethod) != ""
}

// allowsOrigin reports whether the policy allows origin.
func (p *Policy) allowsOrigin(o string) bool {
	if p == nil || o == "" {
		return false
	}
	if p.anyOrigin {
		return true
	}
	o = strings.ToLower(o)
	for _, a := range p.origins {
		if a.matches(o) {
			return true
		}
	}
	return false
}

// safelistedMethods need not be listed in allow_methods (Fetch standard).
var safelistedMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true}

// Preflight answers a preflight request (IsPreflight): 204 No Content,
// with the Access-Control-Allow-* headers when the origin, the method and
// every requested header are allowed, and without any CORS header
// otherwise, so that the browser refuses the actual request.
func (p *Policy) Preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add(hVary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	o := r.Header.Get(hOrigin)
	if p.allowsPreflight(o, r.Header.Get(hRequestMethod), r.Header.Values(hRequestHeaders)) {
		p.setOrigin(h, o)
		switch {
		case p.anyMethod:
			h.Set(hAllowMethods, r.Header.Get(hRequestMethod))
		case p.allowMethod != "":
			h.Set(hAllowMethods, p.allowMethod)
		}
		switch {
		case p.anyHeader:
			if req := strings.Join(r.Header.Values(hRequestHeaders), ","); req != "" {
				h.Set(hAllowHeaders, req)
			}
		case p.allowHeader != "":
			h.Set(hAllowHeaders, p.allowHeader)
		}
		if p.maxAge != "" {
			h.Set(hMaxAge, p.maxAge)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowsPreflight reports whether a preflight of method and request
// headers from origin is allowed.
func (p *Policy) allowsPreflight(o, method string, reqHeaders []string) bool {
	if !p.allowsOrigin(o) {
		return false
	}
	if !p.anyMethod && !p.methods[method] && !safelistedMethods[method] {
		return false
	}
	if p.anyHeader {
		return true
	}
	for _, line := range reqHeaders {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !p.headers[name] {
				return false
			}
		}
	}
	return true
}

// setOrigin sets the headers every allowed response carries.
func (p *Policy) setOrigin(h http.Header, o string) {
	if p.anyOrigin && !p.credentials {
		h.Set(hAllowOrigin, "*")
	} else {
		h.Set(hAllowOrigin, o)
	}
	if p.credentials {
		h.Set(hAllowCredentials, "true")
	}
}

// Decorate sets the CORS headers of the response to an actual (not
// preflight) request from origin, replacing any a backend set: an allowed
// origin gets Access-Control-Allow-Origin (and -Credentials and
// -Expose-Headers as configured); another origin gets none. Vary: Origin
// is set either way when the answer depends on the origin, so that caches
// keep one response per origin.
func (p *Policy) Decorate(h http.Header, o string) {
	if p == nil {
		return
	}
	for _, k := range []string{hAllowOrigin, hAllowCredentials, hExposeHeaders, hAllowMethods, hAllowHeaders, hMaxAge} {
		h.Del(k)
	}
	if !p.anyOrigin || p.credentials {
		h.Add(hVary, "Origin")
	}
	if !p.allowsOrigin(o) {
		return
	}
	p.setOrigin(h, o)
	if p.expose != "" {
		h.Set(hExposeHeaders, p.expose)
	}
}

// Writer returns w, which sets p's headers for origin on the response
// just before it is written (Decorate), so that the gateway's own errors
// and a backend's responses alike carry them. It returns w itself for a
// nil Policy or a request without Origin.
func (p *Policy) Writer(w http.ResponseWriter, o string) http.ResponseWriter {
	if p == nil || o == "" {
		return w
	}
	return &writer{ResponseWriter: w, p: p, origin: o}
}

// writer decorates a response once, before its header is written.
type writer struct {
	http.ResponseWriter
	p      *Policy
	origin string
	done   bool
}

func (w *writer) decorate() {
	if !w.done {
		w.done = true
		w.p.Decorate(w.ResponseWriter.Header(), w.origin)
	}
}

// WriteHeader decorates the response, then writes its header.
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.decorate()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write decorates the response if its header was not written yet.
func (w *writer) Write(b []byte) (int, error) {
	w.decorate()
	return w.ResponseWriter.Write(b)
}

// Flush decorates the response and flushes it, for streamed responses.
func (w *writer) Flush() {
	w.decorate()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
