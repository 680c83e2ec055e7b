package connsplit

import (
	"context"
	"crypto/tls"
	"net"
)

// WithTLS makes the Splitter terminate TLS with cfg before classifying:
// each accepted connection completes its handshake (within the timeout of
// WithTimeout) in its own goroutine. A connection that negotiated ALPN "h2"
// is classified as a cleartext one is, on its decrypted bytes; any other
// (ALPN "http/1.1" or none) goes to the HTTP listener as the *tls.Conn
// itself, so net/http sees TLS as usual. cfg.NextProtos should offer "h2"
// and "http/1.1".
func WithTLS(cfg *tls.Config) Option {
	return func(s *Splitter) { s.tlsConfig = cfg }
}

// WithHandshakeErrorLog sets a function told about every failed TLS
// handshake (a client that does not trust the certificate, an old TLS
// version, a missing client certificate...). Default: not reported.
func WithHandshakeErrorLog(f func(remote net.Addr, err error)) Option {
	return func(s *Splitter) { s.onHandshakeError = f }
}

// handshake runs the TLS handshake of c within the Splitter's timeout.
func (s *Splitter) handshake(c net.Conn) (*tls.Conn, error) {
	tc := tls.Server(c, s.tlsConfig)
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		if s.onHandshakeError != nil {
			s.onHandshakeError(c.RemoteAddr(), err)
		}
		return nil, err
	}
	return tc, nil
}

// TLSConnectionState returns the TLS state of a connection handed out by a
// Splitter with WithTLS. HTTP/2 connections are handed out wrapped (the
// bytes read to classify them are replayed), so neither net/http nor
// grpc-go can see that they are TLS; this is how they find out, e.g. from
// http.Server.ConnContext or a grpc-go credentials.TransportCredentials.
//
// It looks through the wrappers the Splitter and its WithHTTP1Conn and
// WithHTTP2Conn options put around the connection: its own, and any that
// expose what they wrap with a NetConn method (as tls.Conn does).
func TLSConnectionState(c net.Conn) (tls.ConnectionState, bool) {
	for range 8 {
		switch w := c.(type) {
		case *tls.Conn:
			return w.ConnectionState(), true
		case *replayConn:
			c = w.Conn
		case interface{ NetConn() net.Conn }:
			c = w.NetConn()
		default:
			return tls.ConnectionState{}, false
		}
	}
	return tls.ConnectionState{}, false
}

// tlsStateKey is the context key of ConnContext's TLS state.
type tlsStateKey struct{}

// ConnContext is an http.Server.ConnContext that records the TLS state of
// connections whose TLS net/http cannot see (see TLSConnectionState), for
// TLSState.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if _, ok := c.(*tls.Conn); ok {
		return ctx // net/http sees this one itself
	}
	if st, ok := TLSConnectionState(c); ok {
		return context.WithValue(ctx, tlsStateKey{}, &st)
	}
	return ctx
}

// TLSState returns the TLS state ConnContext recorded in a request's
// context, or nil.
func TLSState(ctx context.Context) *tls.ConnectionState {
	st, _ := ctx.Value(tlsStateKey{}).(*tls.ConnectionState)
	return st
}
