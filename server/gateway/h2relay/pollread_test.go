package h2relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"testing"

	"golang.org/x/net/http2"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// writeInPieces writes b to c in pieces of n bytes (all at once if n is
// 0), then closes c if end.
func writeInPieces(c net.Conn, b []byte, n int, end bool) {
	if n <= 0 {
		n = len(b)
	}
	for len(b) > 0 {
		k := min(n, len(b))
		if _, err := c.Write(b[:k]); err != nil {
			return
		}
		b = b[k:]
	}
	if end {
		_ = c.Close()
	}
}

// TestPollRead: a reader running inside RawConn.Read (pollRead) gets
// every frame whole and in order however the peer's bytes arrive (whole,
// one byte at a time, pieces that split frame headers), leaves it for a
// frame larger than its buffer and for a header block continued in
// CONTINUATION frames (read with Conn.Read), and sees the peer's end.
func TestPollRead(t *testing.T) {
	var want bytes.Buffer
	fw := http2.NewFramer(&want, nil)
	payload := func(n int) []byte { return bytes.Repeat([]byte{byte(n)}, n) }
	var sizes []int
	for _, n := range []int{0, 1, 100, 1015, 300, 2000, 7} { // 1015 fills the 1 KiB buffer
		_ = fw.WriteData(1, false, payload(n))
		sizes = append(sizes, n)
		_ = fw.WritePing(false, [8]byte{byte(n)})
		sizes = append(sizes, -1)
	}
	_ = fw.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: []byte{0x88}, EndHeaders: false})
	_ = fw.WriteContinuation(3, true, []byte{0x88})
	sizes = append(sizes, -2, -3)
	stream := want.Bytes()

	for _, piece := range []int{0, 1, 3, 10, 1000} {
		c, s := tcpPair(t)
		sr := newSockReader(c)
		if sr.rc == nil {
			t.Fatal("no RawConn for a *net.TCPConn")
		}
		br := bufio.NewReaderSize(sr, 1024)
		fr := http2.NewFramer(io.Discard, br)
		go writeInPieces(s, stream, piece, true)

		var got []int
		check := func() error {
			f, err := fr.ReadFrame()
			if err != nil {
				return err
			}
			switch f := f.(type) {
			case *http2.DataFrame:
				if !bytes.Equal(f.Data(), payload(len(f.Data()))) {
					t.Fatalf("pieces of %d: DATA of %d bytes garbled", piece, len(f.Data()))
				}
				got = append(got, len(f.Data()))
			case *http2.PingFrame:
				got = append(got, -1)
			case *http2.HeadersFrame:
				got = append(got, -2)
			case *http2.ContinuationFrame:
				got = append(got, -3)
			}
			return nil
		}
		var stepErr error
		step := func() pollStep {
			if stepErr = check(); stepErr != nil {
				return pollStop
			}
			return pollNext
		}
		var leaves int
		for {
			s, err := sr.pollRead(br, step, func() {})
			if err != nil || stepErr != nil {
				t.Fatalf("pieces of %d: %v, %v", piece, err, stepErr)
			}
			if s != pollLeave {
				t.Fatalf("pieces of %d: step %d", piece, s)
			}
			leaves++
			if err := check(); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("pieces of %d: %v", piece, err)
				}
				break
			}
		}
		if !slices.Equal(got, sizes) {
			t.Fatalf("pieces of %d: frames %v, want %v", piece, got, sizes)
		}
		// The 2000-byte frame, the HEADERS the CONTINUATION goes on from,
		// and the end.
		if leaves < 3 {
			t.Fatalf("pieces of %d: left RawConn.Read %d times, want at least 3", piece, leaves)
		}
	}
}

// TestPollReadClose: closing the connection (stop, then Close) ends a
// reader that waits inside RawConn.Read, or that is handling a frame
// when Close is called (Close waits for it to leave), without a hang;
// a stalled peer's partial frame is never handed to step.
func TestPollReadClose(t *testing.T) {
	t.Run("waiting on a partial frame", func(t *testing.T) {
		c, s := tcpPair(t)
		sr := newSockReader(c)
		br := bufio.NewReaderSize(sr, 1024)
		var frame bytes.Buffer
		_ = http2.NewFramer(&frame, nil).WriteData(1, false, make([]byte, 100))
		if _, err := s.Write(frame.Bytes()[:50]); err != nil { // and then stalls
			t.Fatal(err)
		}
		done := make(chan error, 1)
		waits := make(chan struct{}, 1)
		go func() {
			_, err := sr.pollRead(br, func() pollStep {
				t.Error("step called with a partial frame")
				return pollStop
			}, func() {
				select {
				case waits <- struct{}{}:
				default:
				}
			})
			done <- err
		}()
		<-waits // it waits at least once for the rest (its first reads may find less)
		sr.stop()
		_ = c.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want %v", err, net.ErrClosed)
		}
	})
	t.Run("handling a frame", func(t *testing.T) {
		c, s := tcpPair(t)
		sr := newSockReader(c)
		br := bufio.NewReaderSize(sr, 1024)
		fr := http2.NewFramer(io.Discard, br)
		go func() {
			var b bytes.Buffer
			fw := http2.NewFramer(&b, nil)
			for range 1000 {
				_ = fw.WritePing(false, [8]byte{})
				if _, err := s.Write(b.Bytes()); err != nil {
					return
				}
				b.Reset()
			}
		}()
		closed := make(chan struct{})
		n := 0
		step := func() pollStep {
			if _, err := fr.ReadFrame(); err != nil {
				t.Errorf("frame %d: %v", n, err)
				return pollStop
			}
			if n++; n == 3 {
				go func() {
					sr.stop()
					_ = c.Close() // waits for the reader to leave RawConn.Read
					close(closed)
				}()
			}
			return pollNext
		}
		for {
			s, err := sr.pollRead(br, step, func() {})
			if err != nil || s == pollStop {
				break
			}
			// Left on stop: Conn.Read reports the close.
			if _, err := fr.ReadFrame(); err != nil {
				break
			}
		}
		<-closed
	})
}
