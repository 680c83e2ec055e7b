// Package pathtemplate parses and matches HTTP path templates in the syntax
// of google.api.http (google/api/http.proto), as used in the HTTP bindings of
// gRPC methods, accepting exactly the templates grpc-gateway (v2) accepts:
//
//	Template  = "/" [ Segments ] [ Verb ] ;
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
// Parse follows grpc-gateway's parser (protoc-gen-grpc-gateway's httprule)
// and runtime.Pattern; a differential test and fuzz target hold it to them:
//
//   - A template starts with "/". "/" alone is the root (it matches only
//     the path "/").
//   - IDENT is [A-Za-z_][A-Za-z0-9_]*.
//   - LITERAL is one or more RFC 3986 pchars: unreserved characters,
//     percent-escapes "%XX", sub-delims (including "*" and "="), ":" and
//     "@". So "a:b", "a=b", "a*" and "." are literals; "*" and "**" alone are
//     wildcards. Anything else ("{", "}", spaces, non-ASCII) must be
//     percent-encoded.
//   - The verb is found as grpc-gateway's tokenizer finds it: in the last
//     token of the template (the text after the last "/", "{" or "}" outside
//     a variable), after its first ":" if it follows a variable's "}", after
//     its last ":" otherwise. So "/v1/{uuid}:custom:custom" has the verb
//     "custom:custom", and "/v1/a:b:c" the literal "a:b" and the verb "c"
//     (both match exactly the paths ending in "a:b:c"). A ":" anywhere else
//     belongs to a literal ("/v1/a:b/c", "/v1/{x=a:b}"). An empty verb
//     ("/v1/x:") is no verb.
//   - "*" matches exactly one segment; "**" matches zero or more segments.
//     A template has at most one "**", anywhere: segments after it match
//     the path's last segments ("/v1/{name=**}/x").
//   - "{name}" is short for "{name=*}". Variables cannot be nested. A field
//     path may be bound twice ("/v1/{a}/{a}"), as grpc-gateway allows.
//   - An empty segment is an error ("/v1//x", "/v1/"), except that, as in
//     grpc-gateway, a "/" where a segment is expected and that is followed by
//     another "/", a "}" or the end is read as "*": "/v1/x//" is "/v1/x/*".
//   - A template is at most [MaxLength] bytes and has at most [MaxSegments]
//     segments, counting those inside variables; grpc-gateway has no such
//     limits. A NUL byte is refused (grpc-gateway's parser takes it for the
//     end of the template).
//
// Violations are reported as a [*ParseError] whose message says what to fix,
// for example:
//
//	path template "/v1/{name=shelves/*": unclosed variable: missing "}"
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
// For a template with a verb, the last segment of a request path must end
// with ":" and the verb (as written, or after the segment's last ":" after
// decoding), with something before the ":", as grpc-gateway's ServeMux
// requires; the verb is removed before matching the segments. For a
// template without a verb, ":" is an ordinary character, so "/v1/books/{id}"
// matches "/v1/books/1:publish" with id "1:publish" (a [Set] prefers
// "/v1/books/{id}:publish" for that path if it has both).
//
// Literals "." and ".." parse (grpc-gateway accepts them) but never match,
// since paths with such segments never do.
//
// Decoded values are not checked to be valid UTF-8; callers that put them in
// protobuf string fields must check that themselves.
package pathtemplate
