package websocket

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSmallBuffersKeepReadAhead hijacks a connection whose client sent
// bytes right behind its request, as a client that does not wait for the
// 101 does: the small buffers replace net/http's, and those bytes are
// read first, then what the client sends later.
func TestSmallBuffersKeepReadAhead(t *testing.T) {
	type result struct {
		got          string
		rsize, wsize int
		err          error
	}
	done := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := smallBuffers(w, &readBuffers{}).Hijack()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		// The library does this with what it is handed.
		brw.Reader.Reset(conn)
		_, _ = brw.WriteString("ok")
		_ = brw.Flush()
		b := make([]byte, len("early+late"))
		_, err = io.ReadFull(brw.Reader, b)
		done <- result{string(b), brw.Reader.Size(), brw.Writer.Size(), err}
	}))
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nearly+"); err != nil {
		t.Fatal(err)
	}
	ok := make([]byte, 2)
	if _, err := io.ReadFull(bufio.NewReader(c), ok); err != nil || string(ok) != "ok" {
		t.Fatalf("read %q, %v", ok, err)
	}
	if _, err := io.WriteString(c, "late"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.got != "early+late" {
		t.Fatalf("server read %q, %v; want %q", r.got, r.err, "early+late")
	}
	if r.rsize != libraryReadBufferSize || r.wsize != writeBufferSize {
		t.Errorf("buffers %d and %d bytes, want %d and %d", r.rsize, r.wsize, libraryReadBufferSize, writeBufferSize)
	}
}

// TestPooledReaderOverTLSBorrowsNothing reads part of what a TLS client
// sent: the pooled reader reads straight from the *tls.Conn, which keeps
// the rest of the record, so no pooled buffer stays borrowed (a reader
// blocked in the tls.Conn's Read would hold it for the connection's idle
// life), and the rest is read in order.
func TestPooledReaderOverTLSBorrowsNothing(t *testing.T) {
	const msg = "a message longer than the library's sixteen-byte buffer"
	type result struct {
		got      string
		borrowed bool
		err      error
	}
	done := make(chan result, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := smallBuffers(w, &readBuffers{}).Hijack()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		brw.Reader.Reset(conn)
		_, _ = brw.WriteString("ok")
		_ = brw.Flush()
		first := make([]byte, 4)
		if _, err := io.ReadFull(brw.Reader, first); err != nil {
			done <- result{err: err}
			return
		}
		pr := conn.(*pooledReader)
		borrowed := pr.buf != nil || pr.Buffered() > 0
		rest := make([]byte, len(msg)-len(first))
		_, err = io.ReadFull(brw.Reader, rest)
		done <- result{string(first) + string(rest), borrowed, err}
	}))
	t.Cleanup(srv.Close)
	c, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	ok := make([]byte, 2)
	if _, err := io.ReadFull(bufio.NewReader(c), ok); err != nil || string(ok) != "ok" {
		t.Fatalf("read %q, %v", ok, err)
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.got != msg {
		t.Fatalf("server read %q, %v; want %q", r.got, r.err, msg)
	}
	if r.borrowed {
		t.Error("a pooled buffer is borrowed over TLS")
	}
}
