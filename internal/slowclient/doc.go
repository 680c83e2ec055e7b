// Package slowclient bounds how slowly an HTTP client may send a request
// body or read a response, on HTTP/1.1 and HTTP/2 alike.
//
// net/http has whole-request read and write timeouts per server, which
// cannot tell a large upload or a long event stream from a client trickling
// one byte a second to hold a connection, its buffers and a backend call
// open. Handler sets per-request deadlines through http.ResponseController
// instead (connection deadlines on HTTP/1.1, stream deadlines on HTTP/2):
//
//   - a request body must arrive within a whole-body timeout and at a
//     minimum average rate once a grace period has passed; a body that does
//     not is answered 408 Request Timeout (on HTTP/1.1 with Connection:
//     close), whatever the handler was about to write;
//   - each write of the response must complete within the grace period
//     plus its size at a minimum rate; a client reading slower is cut off.
//
// A response that is idle (an event stream waiting for events) is not
// limited: only writes in progress are.
package slowclient
