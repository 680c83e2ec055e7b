package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tollgate-gw/tollgate/internal/testpki"
)

// waitingReaders returns how many connection readers wait for their client
// in waitReadable, rather than inside the library's Read.
func waitingReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "websocket.waitReadable(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestIdleWait checks what a connection whose reader waits for its client
// (see idleWait) does on each event that can end the wait.
func TestIdleWait(t *testing.T) {
	const ping = 30 * time.Second
	cases := []struct {
		name  string
		event func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn)
	}{
		{"messages after idle", func(t *testing.T, h *harness, c *websocket.Conn, _ *Conn) {
			for i := range 3 {
				echo(t, c, fmt.Sprint("after idle ", i))
				// The reader hands over to a fresh goroutine and waits.
				poll(t, "the reader waits again", func() bool { return waitingReaders() == 1 })
			}
			_ = c.Close(websocket.StatusNormalClosure, "bye")
			if d := h.disconnect(); d.code != int(websocket.StatusNormalClosure) || d.reason != "bye" {
				t.Errorf("$disconnect %+v", d)
			}
		}},
		{"client closes while idle", func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn) {
			_ = c.Close(websocket.StatusNormalClosure, "leaving")
			if d := h.disconnect(); d.id != sc.ID || d.code != int(websocket.StatusNormalClosure) || d.reason != "leaving" {
				t.Errorf("$disconnect %+v", d)
			}
		}},
		{"client vanishes while idle", func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn) {
			_ = c.CloseNow()
			if d := h.disconnect(); d.id != sc.ID || d.code != int(CloseAbnormal) {
				t.Errorf("$disconnect %+v", d)
			}
		}},
		{"gateway closes while idle", func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn) {
			sc.Close(CloseNormal, ReasonDeleted)
			if code, reason := closeOf(t, c); code != CloseNormal || reason != ReasonDeleted {
				t.Errorf("client saw close %d %q", code, reason)
			}
			if d := h.disconnect(); d.code != int(CloseNormal) || d.reason != ReasonDeleted {
				t.Errorf("$disconnect %+v", d)
			}
		}},
		{"keepalive while idle", func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn) {
			readCtx := c.CloseRead(context.Background()) // answers pings
			for i := range int64(3) {
				h.clk.Advance(ping)
				poll(t, "the client answered the ping", func() bool { return sc.pongs.Load() == i+1 })
				// The reader took the pong itself and waits again, rather
				// than in the library's Read.
				poll(t, "the reader waits again", func() bool { return waitingReaders() == 1 })
			}
			if readCtx.Err() != nil || h.reg.Len() != 1 {
				t.Fatal("a client answering every ping was disconnected")
			}
		}},
		{"gateway sends while idle", func(t *testing.T, h *harness, c *websocket.Conn, sc *Conn) {
			if err := sc.Send([]byte("pushed"), false); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			if _, got, err := c.Read(ctx); err != nil || string(got) != "pushed" {
				t.Fatalf("read %q, %v", got, err)
			}
			echo(t, c, "answer")
		}},
	}
	for _, transport := range transports {
		for _, tc := range cases {
			t.Run(transport.name+"/"+tc.name, func(t *testing.T) {
				h := transport.harness(t, Limits{PingInterval: ping})
				c, sc := h.dial("")
				poll(t, "the reader waits for the client", func() bool { return waitingReaders() == 1 })
				tc.event(t, h, c, sc)
			})
		}
	}
}

// transports are what the idle wait is tested over.
var transports = []struct {
	name    string
	harness func(*testing.T, Limits) *harness
}{
	{"plain", newHarness},
	{"TLS", newTLSHarness},
}

// TestIdleWaitReadsBufferedAtOnce sends bursts of messages, which the
// reader finds buffered (in the pooled read buffer, the library's
// bufio.Reader) after reading the first: it must read them without
// waiting for more bytes, which may never come.
func TestIdleWaitReadsBufferedAtOnce(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport.name, func(t *testing.T) {
			testIdleWaitReadsBufferedAtOnce(t, transport.harness(t, Limits{}))
		})
	}
}

func testIdleWaitReadsBufferedAtOnce(t *testing.T, h *harness) {
	c, _ := h.dial("")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for round := range 5 {
		const burst = 50
		// One message per write(2): the server reads several at once.
		for i := range burst {
			if err := c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "%d-%d", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]bool{}
		for range burst {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("round %d: %d echoes, then %v", round, len(got), err)
			}
			got[string(b)] = true
		}
		for i := range burst {
			if want := fmt.Sprintf("echo:%d-%d", round, i); !got[want] {
				t.Fatalf("round %d: no %q", round, want)
			}
		}
	}
}

// TestNoWaitReadsAtOnce checks the control: a reader without an idleWait
// parks in the library's Read.
func TestNoWaitReadsAtOnce(t *testing.T) {
	h := newHarness(t, Limits{})
	h.noWait = true
	c, _ := h.dial("")
	echo(t, c, "x")
	if n := waitingReaders(); n != 0 {
		t.Fatalf("%d readers wait with no idleWait", n)
	}
}

// wrapped is a connection wrapper that holds n buffered bytes.
type wrapped struct {
	net.Conn
	n int
}

func (w *wrapped) Buffered() int     { return w.n }
func (w *wrapped) NetConn() net.Conn { return w.Conn }

// opaque is a connection wrapper that cannot say what it buffers.
type opaque struct{ net.Conn }

// TestIdleWaitFindsSocket checks which connections are waited on: only
// those where no wrapper between the socket and the library holds a byte.
func TestIdleWaitFindsSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := client.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	bufs := &readBuffers{}
	// idle builds the chain the upgrade builds over conn and reads k bytes
	// through it.
	idle := func(conn net.Conn, k int) *idleWait {
		pr := &pooledReader{Conn: conn, bufs: bufs}
		w := &idleWait{br: bufio.NewReaderSize(pr, libraryReadBufferSize), pr: pr}
		if k > 0 {
			if _, err := w.br.Discard(k); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	cases := []struct {
		name        string
		w           *idleWait
		want, drain bool
	}{
		{"plain socket", idle(server, 0), true, false},
		{"through drained wrappers", idle(&wrapped{Conn: &prefixConn{Conn: server}}, 0), true, false},
		{"a wrapper holds bytes", idle(&wrapped{Conn: server, n: 1}, 0), false, false},
		{"read-ahead not yet read", idle(&prefixConn{Conn: server, prefix: []byte("x")}, 0), false, false},
		{"an unknown wrapper", idle(opaque{server}, 0), false, false},
		{"TLS not yet drained", idle(tls.Server(server, &tls.Config{}), 0), false, true},
		{"nil", nil, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, drain := tc.w.rawConn()
			if got := rc != nil; got != tc.want || drain != tc.drain {
				t.Errorf("socket found: %v, drain %v; want %v, %v", got, drain, tc.want, tc.drain)
			}
		})
	}
	// Bytes in the library's bufio.Reader, then in the pooled buffer,
	// then none.
	w := idle(server, 1)
	if waits(w) {
		t.Error("waits with bytes in the bufio.Reader")
	}
	if _, err := w.br.Discard(w.br.Buffered()); err != nil {
		t.Fatal(err)
	}
	pr := &pooledReader{Conn: server, bufs: bufs}
	if _, err := client.Write([]byte("abcdefghij")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	if _, err := pr.Read(p); err != nil {
		t.Fatal(err)
	}
	w = &idleWait{br: bufio.NewReaderSize(pr, libraryReadBufferSize), pr: pr}
	if pr.Buffered() == 0 || waits(w) {
		t.Errorf("waits with %d bytes in the pooled buffer", pr.Buffered())
	}
	for pr.Buffered() > 0 {
		if _, err := pr.Read(p); err != nil {
			t.Fatal(err)
		}
	}
	if pr.buf != nil {
		t.Error("the drained reader still holds its buffer")
	}
	if !waits(w) {
		t.Error("does not wait on a drained connection")
	}
}

// waits reports whether w finds a socket to wait on.
func waits(w *idleWait) bool {
	rc, _ := w.rawConn()
	return rc != nil
}

// TestPongWaitRefusesAfterFunc checks that ending a ping's wait for its
// pong cannot run what the library watches a write's context with (it
// closes the connection), while the wait itself sees the context done.
func TestPongWaitRefusesAfterFunc(t *testing.T) {
	ctx := pongWait{Context: context.Background(), done: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { t.Error("context.AfterFunc ran on a pongWait") })
	close(ctx.done)
	if ctx.Err() == nil {
		t.Fatal("Err() is nil once done")
	}
	// stop reports false once the function has been started.
	if !stop() {
		t.Fatal("context.AfterFunc started its function on a pongWait")
	}
}

// heldWrites is a client connection that, while hold is set, holds what
// is written until flush, so that several TLS records reach the server in
// one write(2).
type heldWrites struct {
	net.Conn
	hold bool
	held []byte
}

func (c *heldWrites) Write(p []byte) (int, error) {
	if !c.hold {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *heldWrites) flush(t *testing.T) {
	t.Helper()
	c.hold = false
	if _, err := c.Conn.Write(c.held); err != nil {
		t.Fatal(err)
	}
	c.held = nil
}

// TestIdleWaitDrainsTLS checks the wait over TLS step by step: a whole
// record the tls.Conn read ahead is found (by drainNow) before the reader
// would wait, the socket is waited on once nothing but part of a record is
// held above it, fill decrypts what came then, from which takePong takes
// a pong, and a close is kept for the library's read.
func TestIdleWaitDrainsTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	leaf := testpki.NewCA(t, "idle CA").Issue(t, "127.0.0.1")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	sraw, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer sraw.Close()
	held := &heldWrites{Conn: raw}
	client := tls.Client(held, &tls.Config{InsecureSkipVerify: true}) // the test's own certificate
	server := tls.Server(sraw, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	handshake := make(chan error, 1)
	go func() { handshake <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-handshake; err != nil {
		t.Fatal(err)
	}

	pr := &pooledReader{Conn: server, bufs: &readBuffers{}, direct: overTLS(server)}
	w := &idleWait{br: bufio.NewReaderSize(pr, libraryReadBufferSize), pr: pr}
	read := func(want string) {
		t.Helper()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(w.br, got); err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	// Two records in one write(2): the tls.Conn reads both with the first.
	held.hold = true
	for _, m := range []string{"first", "second"} {
		if _, err := client.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	held.flush(t)
	read("first")
	if rc, drain := w.rawConn(); rc != nil || !drain {
		t.Fatalf("with a record read ahead: socket found %v, drain %v", rc != nil, drain)
	}
	pr.drainNow()
	if rc, drain := w.rawConn(); rc != nil || drain || pr.Buffered() != len("second") {
		t.Fatalf("after drainNow: socket found %v, drain %v, %d bytes buffered", rc != nil, drain, pr.Buffered())
	}
	read("second")
	if pr.buf != nil {
		t.Error("the drained reader still holds its buffer")
	}
	pr.drainNow()
	rc, _ := w.rawConn()
	if rc == nil {
		t.Fatal("no socket to wait on with nothing held above it")
	}
	// A pong, then a message, in one record: fill decrypts it (the read
	// deadline of drainNow is gone), takePong takes the pong.
	pong := []byte{0x8A, 0x80 | 2, 1, 2, 3, 4, 'p' ^ 1, 'g' ^ 2}
	if _, err := client.Write(append(pong, "third"...)); err != nil {
		t.Fatal(err)
	}
	waitReadable(rc)
	pr.fill()
	if !pr.takePong() {
		t.Fatal("the pong was not taken")
	}
	if pr.takePong() {
		t.Fatal("a message taken as a pong")
	}
	read("third")
	// Part of a record: the tls.Conn keeps it, and the rest comes from the
	// socket, which is waited on.
	held.hold = true
	if _, err := client.Write([]byte("fourth")); err != nil {
		t.Fatal(err)
	}
	record := held.held
	held.hold, held.held = false, nil
	if _, err := raw.Write(record[:10]); err != nil {
		t.Fatal(err)
	}
	pr.drainNow()
	if rc, _ = w.rawConn(); rc == nil {
		t.Fatal("no socket to wait on with part of a record held")
	}
	if _, err := raw.Write(record[10:]); err != nil {
		t.Fatal(err)
	}
	waitReadable(rc)
	pr.fill()
	read("fourth")
	// The client closes: fill keeps the error for the library's read.
	_ = client.Close()
	pr.drainNow()
	if pr.Buffered() == 0 {
		if rc, _ := w.rawConn(); rc != nil {
			waitReadable(rc)
		}
		pr.fill()
	}
	if pr.Buffered() == 0 {
		t.Fatal("the close is not pending")
	}
	if _, err := w.br.ReadByte(); err == nil {
		t.Fatal("read past the client's close")
	}
}

// FuzzPongFrameSize checks that pongFrameSize only ever accepts a whole
// masked client pong frame at the front of its input.
func FuzzPongFrameSize(f *testing.F) {
	f.Add([]byte{0x8A, 0x80, 1, 2, 3, 4})
	f.Add([]byte{0x8A, 0x82, 1, 2, 3, 4, 'p', 'g', 0x81})
	f.Add([]byte{0x8A, 0x82, 1, 2, 3})
	f.Add([]byte{0x89, 0x80, 1, 2, 3, 4})
	f.Add([]byte{0x8A, 0xFE, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		size := pongFrameSize(b)
		if size == 0 {
			return
		}
		if size > len(b) || size < 6 || size > maxPongFrame {
			t.Fatalf("size %d of %d bytes", size, len(b))
		}
		if b[0] != 0x8A || b[1]&0x80 == 0 || size != 6+int(b[1]&0x7F) {
			t.Fatalf("% x taken as a %d-byte pong", b[:min(len(b), 8)], size)
		}
	})
}
