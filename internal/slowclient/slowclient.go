package slowclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Limits are the bounds of Handler. A zero field is no bound.
type Limits struct {
	// BodyTimeout bounds how long a request body may take to arrive,
	// counted from when the handler starts.
	BodyTimeout time.Duration
	// MinReadRate is the slowest average rate, in bytes per second, at
	// which a request body may arrive once Grace has passed.
	MinReadRate int64
	// MinWriteRate is the slowest rate, in bytes per second, at which a
	// client may read: each write must complete within Grace plus its size
	// at this rate.
	MinWriteRate int64
	// Grace is the slack of both rates.
	Grace time.Duration
}

// ErrBodyTimeout is the error a request body's Read returns once the body
// arrived too slowly (wrapped with the details).
var ErrBodyTimeout = errors.New("slowclient: the request body arrived too slowly")

// Handler returns next with the limits applied to every request for which
// skip returns false (skip may be nil). Skip requests whose connection is
// taken over (WebSocket upgrades: deadlines would outlive the request) or
// whose streams have limits of their own (gRPC).
func Handler(next http.Handler, l Limits, skip func(*http.Request) bool) http.Handler {
	if l == (Limits{}) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if skip != nil && skip(r) {
			next.ServeHTTP(w, r)
			return
		}
		serve(next, l, w, r)
	})
}

// serve runs next for one request under the limits.
func serve(next http.Handler, l Limits, w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ww := &writer{ResponseWriter: w, rc: rc, l: l, http1: r.ProtoMajor == 1}
	var b *body
	if r.Body != nil && r.Body != http.NoBody && (l.BodyTimeout > 0 || l.MinReadRate > 0) {
		b = &body{rc: rc, inner: r.Body, l: l, start: time.Now()}
		b.setDeadline(b.deadline())
		ww.body = b
		r.Body = b
	}
	if l.MinWriteRate > 0 && r.ProtoMajor == 1 {
		// A keep-alive connection may carry the write deadline of its
		// previous response: this response starts afresh.
		_ = rc.SetWriteDeadline(time.Time{})
	}
	next.ServeHTTP(ww, r)
	if b != nil && b.timedOut() && !ww.wroteHeader {
		ww.writeTimeout()
	}
	if l.MinWriteRate > 0 {
		// What the server still buffers is written after the handler
		// returns: give it the same bound.
		_ = rc.SetWriteDeadline(time.Now().Add(l.Grace + rateTime(8<<10, l.MinWriteRate)))
	}
}

// rateTime is how long n bytes take at rate bytes per second.
func rateTime(n, rate int64) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(n) / float64(rate) * float64(time.Second))
}

// body is a request body read under a deadline that moves with the bytes
// read.
type body struct {
	rc    *http.ResponseController
	inner io.ReadCloser
	l     Limits
	start time.Time

	mu      sync.Mutex
	n       int64
	set     time.Time // the deadline in force
	expired bool
	done    bool // EOF seen: no deadline any more
}

// deadline is the body's deadline after b.n bytes.
func (b *body) deadline() time.Time {
	var d time.Time
	if b.l.BodyTimeout > 0 {
		d = b.start.Add(b.l.BodyTimeout)
	}
	if b.l.MinReadRate > 0 {
		r := b.start.Add(b.l.Grace + rateTime(b.n, b.l.MinReadRate))
		if d.IsZero() || r.Before(d) {
			d = r
		}
	}
	return d
}

// setDeadline sets the read deadline to d.
func (b *body) setDeadline(d time.Time) {
	b.set = d
	_ = b.rc.SetReadDeadline(d)
}

// Read reads from the body and moves the deadline on.
func (b *body) Read(p []byte) (int, error) {
	n, err := b.inner.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(n)
	switch {
	case err == io.EOF:
		if !b.done {
			b.done = true
			// A deadline left on an HTTP/1.1 connection would fail the
			// server's background read while the handler still runs.
			b.setDeadline(time.Time{})
		}
	case err != nil && isTimeout(err):
		b.expired = true
		return n, fmt.Errorf("%w: %d bytes in %s", ErrBodyTimeout, b.n, time.Since(b.start).Round(time.Millisecond))
	case n > 0 && !b.done:
		// The rate deadline moves with every byte; setting it costs a
		// message to the HTTP/2 connection's goroutine, so only when it
		// moved noticeably.
		if d := b.deadline(); d.Sub(b.set) > 50*time.Millisecond {
			b.setDeadline(d)
		}
	}
	return n, err
}

// Close closes the body.
func (b *body) Close() error { return b.inner.Close() }

// timedOut reports whether a read hit the deadline.
func (b *body) timedOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.expired
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writer bounds each write by the minimum write rate, and answers 408 in
// place of whatever the handler writes once the body timed out.
type writer struct {
	http.ResponseWriter
	rc    *http.ResponseController
	l     Limits
	body  *body
	http1 bool

	wroteHeader bool
	suppressed  bool // the handler's response is replaced by a 408
}

// armWrite bounds a write of n bytes.
func (w *writer) armWrite(n int) {
	if w.l.MinWriteRate > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.l.Grace + rateTime(int64(n), w.l.MinWriteRate)))
	}
}

// WriteHeader sends the status, or a 408 if the request body timed out.
func (w *writer) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if w.body != nil && w.body.timedOut() && code >= 200 {
		w.writeTimeout()
		return
	}
	if code >= 200 {
		w.wroteHeader = true
	}
	w.armWrite(0)
	w.ResponseWriter.WriteHeader(code)
}

// Write writes within the write deadline.
func (w *writer) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.suppressed {
		return len(p), nil
	}
	w.armWrite(len(p))
	return w.ResponseWriter.Write(p)
}

// FlushError flushes within the write deadline.
func (w *writer) FlushError() error {
	if w.suppressed {
		return nil
	}
	w.armWrite(0)
	return w.rc.Flush()
}

// Flush flushes, for handlers that look for http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timeoutBody is the google.rpc.Status JSON of a 408, as the gateway's
// other errors (code 4: DEADLINE_EXCEEDED).
const timeoutBody = `{"code":4,"message":"the request body did not arrive in time","details":[]}`

// writeTimeout answers 408 and, on HTTP/1.1, closes the connection: the
// rest of the body would be read as the next request.
func (w *writer) writeTimeout() {
	w.wroteHeader, w.suppressed = true, true
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if w.http1 {
		h.Set("Connection", "close") // HTTP/2 ends only the stream
	}
	w.armWrite(len(timeoutBody))
	w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
	_, _ = io.WriteString(w.ResponseWriter, timeoutBody)
}
