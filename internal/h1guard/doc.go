// Package h1guard refuses HTTP/1.1 requests whose framing is ambiguous:
// both Content-Length and Transfer-Encoding.
//
// RFC 9112 §6.3 lets a server process such a request by Transfer-Encoding
// (as net/http does, after dropping Content-Length) or reject it; it is the
// classic request-smuggling vector, where a front proxy and the next hop
// disagree about where the request ends. net/http drops the Content-Length
// header before any handler runs, so a handler cannot see the ambiguity.
// Conn therefore follows the request framing of an HTTP/1.x connection as
// its bytes pass (heads, fixed-length and chunked bodies) and, when a head
// carries both headers, makes it malformed before the server reads its
// end: net/http answers 400 Bad Request and closes the connection.
//
// Conn only reads along: when the input is anything it does not fully
// understand (an upgrade, an unknown transfer coding, a malformed head),
// it stops inspecting and passes bytes through untouched, and net/http
// judges them as before.
package h1guard
