// Package connlimit caps the connections a listener keeps open, in total
// and per client IP address.
//
// Every open connection costs a file descriptor and memory (buffers, a
// goroutine, TLS or HTTP/2 state): a single client opening tens of
// thousands of connections can exhaust either and take the whole process
// down. A Listener counts connections from Accept to Close and closes a
// connection over a limit right after accepting it, before any byte is
// read or written, so that a refused client costs one accept and one close.
// Refusals and open connections are counted for metrics.
package connlimit
