package gateway

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// errHandlerDone is what a guarded body's Read returns once its handler
// has returned.
var errHandlerDone = errors.New("gateway: the request body was read after its handler returned")

// guardedBody is the request body of a proxied HTTP call, which must not
// be read by anyone once the handler has returned.
//
// The proxy's transport reads the body on a goroutine of its own, which
// can outlive the proxy (a route timeout returns at once). And on an
// HTTP/1.1 connection in full-duplex mode, net/http drains a body the
// handler left unread after the handler returned; reaching its end then
// starts the connection's background read, and reading the next request
// panics ("http: panic serving …: invalid concurrent Body.Read call"). So a
// response sent before the body was read to its end closes the HTTP/1.1
// connection (which could not be reused anyway), and when the handler
// returns, any Read in progress is ended by an expired read deadline and
// later Reads fail.
type guardedBody struct {
	inner io.ReadCloser
	rc    *http.ResponseController

	mu      sync.Mutex
	idle    sync.Cond // signalled when a Read ends
	reading bool
	eof     bool // the body was read to its end
	done    bool // the handler returned
}

// guardBody replaces r.Body (r must be the handler's own copy) with a
// guarded body and returns the writer to answer r with; call finish before
// the handler returns.
func guardBody(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *guardedBody) {
	if r.Body == nil || r.Body == http.NoBody {
		return w, nil
	}
	g := &guardedBody{inner: r.Body, rc: http.NewResponseController(w)}
	g.idle.L = &g.mu
	r.Body = g
	if r.ProtoMajor == 1 {
		w = &closingWriter{ResponseWriter: w, g: g}
	}
	return w, g
}

// Read reads the body unless the handler has returned.
func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	if g.done {
		g.mu.Unlock()
		return 0, errHandlerDone
	}
	g.reading = true
	g.mu.Unlock()
	n, err := g.inner.Read(p)
	g.mu.Lock()
	g.reading = false
	if err == io.EOF {
		g.eof = true
	}
	g.idle.Broadcast()
	g.mu.Unlock()
	return n, err
}

// Close does nothing: the server closes the request body itself, after the
// handler.
func (g *guardedBody) Close() error { return nil }

// readToEnd reports whether the body was read to its end.
func (g *guardedBody) readToEnd() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.eof
}

// finish stops the body. If it was not read to its end, the client is
// still sending a body nobody will read: an expired read deadline ends a
// Read in progress and keeps the server from waiting for the rest.
func (g *guardedBody) finish() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done = true
	if g.eof {
		return
	}
	if err := g.rc.SetReadDeadline(time.Now()); err != nil {
		return // cannot end a Read: do not hang the handler on it
	}
	for g.reading {
		g.idle.Wait()
	}
}

// closingWriter closes an HTTP/1.1 connection after a response that
// started before the request body was read to its end.
type closingWriter struct {
	http.ResponseWriter
	g           *guardedBody
	wroteHeader bool
}

// WriteHeader asks for the connection to be closed if the body is unread.
func (w *closingWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		if !w.g.readToEnd() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the body, after the header.
func (w *closingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *closingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
