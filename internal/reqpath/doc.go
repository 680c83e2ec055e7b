// Package reqpath checks the path of a request before it is routed and gives
// its one canonical form: the form routes match, authorizer policies see as
// the resource, cache keys and access logs record, and the path a backend
// receives means.
//
// A path is refused when a backend could read it as another path than the
// gateway did: an encoded slash ("%2F", unless the route allows it) or
// backslash ("%5C", "\"), a control character, raw or encoded ("%00",
// "%0D%0A", "%7F"), a dot-segment, raw or encoded ("..", "%2e%2E", and
// "..;x", which some servers read as ".."), an invalid escape, or bytes that
// are not UTF-8 once decoded.
//
// The canonical form of an accepted path is the path percent-decoded once,
// segment by segment, with only two characters kept encoded so that the form
// stays unambiguous: a literal "%" as "%25" and, on routes that allow them,
// an encoded slash inside a segment as "%2F". "/admin/%73ecret" and
// "/admin/secret" have the same canonical form, "/admin/secret".
package reqpath
