package rawsock_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/rawsock"
)

// tcpPair returns both ends of a loopback TCP connection: the accepted
// one wrapped by rawsock.Listener, the dialed one wrapped by
// rawsock.Dialer.
func tcpPair(t *testing.T) (accepted, dialed net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rl := rawsock.Listener(ln)
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := rl.Accept()
		ch <- res{c, err}
	}()
	var d net.Dialer
	dialed, err = rawsock.Dialer(d.DialContext)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.Close(); dialed.Close() })
	return r.c, dialed
}

func TestWrap(t *testing.T) {
	a, b := tcpPair(t)
	for _, c := range []net.Conn{a, b} {
		if _, ok := c.(*rawsock.Conn); !ok {
			t.Fatalf("a TCP socket was not wrapped: %T", c)
		}
	}
	if rawsock.Wrap(a) != a {
		t.Error("a wrapped socket was wrapped again")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := rawsock.Wrap(p1); got != p1 {
		t.Errorf("Wrap(net.Pipe) = %T, want the pipe itself", got)
	}

	// A socket made blocking (e.g. through File on old Go versions)
	// must not be read raw: the read would hold the thread's P.
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plainLn.Close()
	go func() {
		if c, err := plainLn.Accept(); err == nil {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}
	}()
	bc, err := net.Dial("tcp", plainLn.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	rc, _ := bc.(*net.TCPConn).SyscallConn()
	_ = rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), false) })
	if got := rawsock.Wrap(bc); got != bc {
		t.Errorf("Wrap(blocking socket) = %T, want the socket itself", got)
	}
	_ = rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), true) })

	dir := t.TempDir()
	uln, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	go func() {
		if c, err := uln.Accept(); err == nil {
			c.Close()
		}
	}()
	uc, err := net.Dial("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if _, ok := rawsock.Wrap(uc).(*rawsock.Conn); !ok {
		t.Error("a Unix socket was not wrapped")
	}
}

// TestTransfer sends payloads larger than the socket buffers both ways at
// once, so that writes meet a full buffer (EAGAIN, then the poller) and
// reads an empty one.
func TestTransfer(t *testing.T) {
	for _, size := range []int{1, 1000, 64 << 10, 300 << 10, 8 << 20} {
		a, b := tcpPair(t)
		pa, pb := random(t, size), random(t, size)
		var wg sync.WaitGroup
		var gotA, gotB []byte
		var errA, errB error
		wg.Add(4)
		go func() { defer wg.Done(); _, errA = writeAll(a, pa) }()
		go func() { defer wg.Done(); _, errB = writeAll(b, pb) }()
		go func() { defer wg.Done(); gotB, _ = readN(b, size) }()
		go func() { defer wg.Done(); gotA, _ = readN(a, size) }()
		wg.Wait()
		if errA != nil || errB != nil {
			t.Fatalf("size %d: writes: %v, %v", size, errA, errB)
		}
		if !bytes.Equal(gotB, pa) || !bytes.Equal(gotA, pb) {
			t.Fatalf("size %d: the bytes read differ from those written", size)
		}
	}
}

// TestSmallReads reads a payload a few bytes at a time: each Read returns
// what is there, never more than asked.
func TestSmallReads(t *testing.T) {
	a, b := tcpPair(t)
	want := random(t, 10_000)
	go func() { _, _ = a.Write(want) }()
	var got []byte
	buf := make([]byte, 7)
	for len(got) < len(want) {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from those written")
	}
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
}

func TestEndsAndErrors(t *testing.T) {
	tests := []struct {
		name string
		// provoke does something to the peer (or the conn) and returns
		// what the conn's next Read or Write must report.
		run func(t *testing.T, c, peer net.Conn)
	}{
		{"EOF after the peer closes", func(t *testing.T, c, peer net.Conn) {
			_, _ = peer.Write([]byte("last"))
			peer.Close()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "last" {
				t.Fatalf("ReadAll = %q, %v; want \"last\", nil", got, err)
			}
			if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the end = %d, %v; want 0, io.EOF", n, err)
			}
		}},
		{"read deadline", func(t *testing.T, c, _ net.Conn) {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			_, err := c.Read(make([]byte, 8))
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Read past the deadline: %v; want a timeout", err)
			}
			var op *net.OpError
			if !errors.As(err, &op) || op.Op != "read" {
				t.Fatalf("Read past the deadline: %#v; want the net package's read error", err)
			}
		}},
		{"write deadline with the peer not reading", func(t *testing.T, c, _ net.Conn) {
			_ = c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := c.Write(make([]byte, 64<<20))
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write past the deadline: %v; want a timeout", err)
			}
			if n <= 0 || n >= 64<<20 {
				t.Fatalf("Write past the deadline wrote %d bytes; want some, not all", n)
			}
		}},
		{"Close while a Read waits", func(t *testing.T, c, _ net.Conn) {
			errc := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 8))
				errc <- err
			}()
			time.Sleep(20 * time.Millisecond) // let the Read wait in the poller (either way the result must hold)
			c.Close()
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Read across Close: %v; want net.ErrClosed", err)
			}
			if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Write after Close: %v; want net.ErrClosed", err)
			}
		}},
		{"reset by the peer", func(t *testing.T, c, peer net.Conn) {
			_ = peer.(*rawsock.Conn).NetConn().(*net.TCPConn).SetLinger(0)
			peer.Close()
			time.Sleep(20 * time.Millisecond) // the RST arrives (a Read before it would wait for it)
			_, err := c.Read(make([]byte, 8))
			var op *net.OpError
			if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) || op.Op != "read" {
				t.Fatalf("Read after a reset: %v; want the net package's read error with ECONNRESET", err)
			}
			_, err = c.Write([]byte("x"))
			if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Write after a reset: %v; want EPIPE or ECONNRESET", err)
			}
		}},
		{"CloseWrite ends the peer's reads", func(t *testing.T, c, peer net.Conn) {
			_, _ = c.Write([]byte("bye"))
			if err := c.(*rawsock.Conn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(peer)
			if err != nil || string(got) != "bye" {
				t.Fatalf("peer's ReadAll = %q, %v; want \"bye\", nil", got, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tcpPair(t)
			tt.run(t, a, b)
		})
	}
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeAll(c net.Conn, p []byte) (int, error) {
	// Uneven pieces, so that writes end inside the socket buffer's edge.
	done := 0
	for done < len(p) {
		n, err := c.Write(p[done:min(len(p), done+100_003)])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func readN(c net.Conn, n int) ([]byte, error) {
	p := make([]byte, n)
	_, err := io.ReadFull(c, p)
	return p, err
}

// BenchmarkEcho sends 1 KiB to an echo peer and reads it back, through a
// wrapped socket and through the net package's, on one loopback
// connection.
func BenchmarkEcho(b *testing.B) {
	for _, tc := range []struct {
		name string
		wrap bool
	}{{"raw", true}, {"net", false}} {
		b.Run(tc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if tc.wrap {
				c = rawsock.Wrap(c)
			}
			msg := make([]byte, 1024)
			buf := make([]byte, 1024)
			b.SetBytes(1024)
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
