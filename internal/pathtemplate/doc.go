// Package pathtemplate parses and matches HTTP path templates in the syntax
// of google.api.http (google/api/http.proto), as used in the HTTP bindings of
// gRPC methods:
//
//	Template  = "/" Segments [ Verb ] ;
//	Segments  = Segment { "/" Segment } ;
//	Segment   = "*" | "**" | LITERAL | Variable ;
//	Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//	FieldPath = IDENT { "." IDENT } ;
//	Verb      = ":" LITERAL ;
//
// [Parse] turns a template such as "/v1/{name=shelves/*/books/*}:publish"
// into a [Template], [Template.Match] matches a request path against it and
// returns the variables' values, [Template.Expand] does the reverse, and [Set]
// picks the most specific of several templates for a path.
//
// # Templates
//
// Parse enforces these rules:
//
//   - A template starts with "/" and has at least one segment; "/" alone, an
//     empty segment ("//") and a trailing "/" are errors.
//   - IDENT is [A-Za-z_][A-Za-z0-9_]*.
//   - LITERAL is one or more RFC 3986 pchars (unreserved characters,
//     percent-escapes "%XX", sub-delims, "@") other than the characters that
//     are syntax in templates: "*", ":" and "=". Percent-encode them (and
//     anything else) to use them in a literal. The literals "." and ".." (also
//     percent-encoded) are errors, since no request path could match them.
//   - "*" matches exactly one segment; "**" matches zero or more segments and
//     may only be the last segment, inside or outside a variable.
//   - "{name}" is short for "{name=*}". Variables cannot be nested, and a
//     field path may be used by at most one variable.
//   - A verb may follow the last segment: "/v1/books/{id}:publish",
//     "/v1/{name=**}:undelete". A ":" anywhere else is an error.
//   - A template is at most [MaxLength] bytes and has at most [MaxSegments]
//     segments, counting those inside variables.
//
// Violations are reported as a [*ParseError] whose message says what to fix,
// for example:
//
//	path template "/v1/{name=**}/x": "**" must be the last segment
//
// # Matching
//
// [Template.Match] takes the path as it arrived, still percent-encoded. The
// path is split on "/" before any decoding, so "%2F" never separates
// segments. Literal segments match a path segment that equals them as
// written or after percent-decoding both (so "%61bc" matches "abc").
// Variables' values are percent-decoded following google.api.http: a
// single-segment variable is decoded completely ("%2F" becomes "/"); a
// multi-segment variable (several segments, or "**") is decoded except for
// "%2F", which stays encoded so that the value's segments are exactly the
// path's. Paths with ".", ".." (even encoded) or empty segments, and paths
// with invalid percent-escapes, never match: they are rejected rather than
// normalised, so a template cannot be reached through path tricks.
//
// As in grpc-gateway, "**" matches zero or more segments, so
// "/v1/{name=**}" matches "/v1" (binding name to "") as well as "/v1/a/b".
// Templates that need at least one segment can be written as
// "/v1/{name=*/**}".
//
// The verb of a request path is the part of its last segment after the last
// ":". For a template with a verb, that part must equal the verb (as written,
// or after decoding) and is removed before matching the segments; for a
// template without a verb, ":" is an ordinary character, so "/v1/books/{id}"
// matches "/v1/books/1:publish" with id "1:publish" (a [Set] prefers
// "/v1/books/{id}:publish" for that path if it has both).
//
// Decoded values are not checked to be valid UTF-8; callers that put them in
// protobuf string fields must check that themselves.
package pathtemplate
