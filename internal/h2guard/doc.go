// Package h2guard ends HTTP/2 connections whose client resets streams
// faster than a limit allows (the "rapid reset" attack, CVE-2023-44487).
//
// Opening a stream and resetting it at once costs a client two small
// frames and the server a stream, a handler goroutine and whatever the
// handler started before it noticed: a client doing it in a loop keeps the
// server busy without ever being bound by the stream concurrency limit,
// because reset streams no longer count against it. Go's HTTP/2 server and
// grpc-go bound the handlers such a client can have running, but neither
// ends the connection while its handlers keep up.
//
// Conn watches the frames a client sends on an HTTP/2 connection — only
// their 9-byte headers, which it parses as they pass, whichever server
// reads them — and charges each RST_STREAM to a token bucket. Once the
// bucket is empty it sends GOAWAY (ENHANCE_YOUR_CALM) between two of the
// server's own frames and closes the connection. It serves both of the
// data port's HTTP/2 servers (grpc-go's transport and net/http's h2c)
// because it sits below them, on the connection.
package h2guard
