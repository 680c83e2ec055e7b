package h2relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// TestWriteDataFrom checks the DATA frame a relay writes straight from
// its stream's queue into the write buffer: the bytes fill copied, in one
// frame of that length (END_STREAM if fill says so), after what the
// buffer already held; nothing when fill copies nothing or refuses; a
// buffer too full for the frame is flushed first.
func TestWriteDataFrom(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  int // bytes already in the write buffer
		n       int // asked for
		copied  int // what fill copies
		end     bool
		refuse  bool
		wantErr error
		want    int // payload written
	}{
		{"all", 0, 16384, 16384, false, false, nil, 16384},
		{"fewer than asked", 0, 16384, 1029, false, false, nil, 1029},
		{"the last", 0, 16384, 1029, true, false, nil, 1029},
		{"none", 0, 16384, 0, false, false, errNotWritten, 0},
		{"none, the last", 0, 16384, 0, true, false, errNotWritten, 0},
		{"refused", 0, 16384, 100, false, true, errNotWritten, 0},
		{"after other frames", 1000, 4096, 4096, false, false, nil, 4096},
		{"into a full buffer", writeBuffer - 100, 16384, 16384, false, false, nil, 16384},
		{"more than the buffer", 0, 1 << 20, 1 << 20, false, false, nil, writeBuffer - frameHeaderLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := &frameWriter{bw: bufio.NewWriterSize(&out, writeBuffer)}
			w.maxFrame.Store(defaultMaxFrame)
			prefix := bytes.Repeat([]byte{0xee}, tc.before)
			_, _ = w.bw.Write(prefix)
			var src []byte
			got, err := w.writeDataFrom(5, tc.n, true, func(p []byte) (int, bool, bool) {
				if len(p) > tc.n {
					t.Errorf("fill got %d bytes of room, asked for %d", len(p), tc.n)
				}
				k := min(tc.copied, len(p))
				for i := range k {
					p[i] = byte(i*7 + 1)
				}
				src = p[:k:k]
				return k, tc.end, !tc.refuse
			})
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("writeDataFrom = %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
			if err := w.bw.Flush(); err != nil {
				t.Fatal(err)
			}
			b := out.Bytes()
			if !bytes.Equal(b[:tc.before], prefix) {
				t.Fatal("the bytes buffered before were changed")
			}
			b = b[tc.before:]
			if tc.want == 0 {
				if len(b) != 0 {
					t.Fatalf("%d bytes written, want none", len(b))
				}
				return
			}
			fr := http2.NewFramer(nil, bytes.NewReader(b))
			fr.SetMaxReadFrameSize(1 << 24)
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			df, ok := f.(*http2.DataFrame)
			if !ok || df.StreamID != 5 || df.StreamEnded() != tc.end {
				t.Fatalf("frame %v, want DATA of stream 5, END_STREAM %v", f, tc.end)
			}
			want := make([]byte, tc.want)
			for i := range want {
				want[i] = byte(i*7 + 1)
			}
			if !bytes.Equal(df.Data(), want) || len(src) != tc.want {
				t.Fatalf("payload of %d bytes, want the %d fill copied", len(df.Data()), tc.want)
			}
			if _, err := fr.ReadFrame(); err != io.EOF {
				t.Fatalf("after the frame: %v, want EOF", err)
			}
		})
	}
}

// hookWriter is a socket whose next write first runs hook: what another
// goroutine does while a writer waits for the socket.
type hookWriter struct {
	out  bytes.Buffer
	hook func()
}

func (h *hookWriter) Write(p []byte) (int, error) {
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return h.out.Write(p)
}

// TestSendQueuedKeepsOrder checks that the response's bytes leave in their
// order when the backend connection's reader gets more of them while the
// relay copies the queue into the client connection's write buffer (here:
// while that writer flushes the full buffer to the socket, between the
// outbox's drain and the copy). The relay holds the response before it
// takes the writer, so the reader queues them behind the relay's. Had it
// held it only once under the writer, the reader would put the queue's
// first bytes and the next frame in the outbox, queue the frame after
// them (the client's window has no room left for it), and the relay would
// copy that last frame into the buffer ahead of the outbox's.
func TestSendQueuedKeepsOrder(t *testing.T) {
	const chunk = 1000
	pool := newBufPool(64 << 10)
	sock := &hookWriter{}
	sc := &serverConn{srv: &Server{bufs: pool}, sendWin: newWindow(1 << 20)}
	sc.w.bw = bufio.NewWriterSize(sock, writeBuffer)
	sc.w.maxFrame.Store(defaultMaxFrame)
	// The stream's window: the relay's first frame, then room for two
	// frames the reader relays, not three.
	st := &Stream{sc: sc, id: 1, sendWin: streamWindow{avail: chunk + 2*chunk + chunk/2}}
	cc := &clientConn{window: 1 << 30, bufs: pool}
	cs := &clientStream{cc: cc, id: 3, recvAvail: 1 << 30, resp: queue{pool: pool}, gotHdr: true, sink: st}
	cs.respScan.max = 1<<32 - 1

	var want []byte
	next := func() []byte {
		p := make([]byte, chunk)
		for i := range p {
			p[i] = byte(len(want) + i)
		}
		want = append(want, p...)
		return p
	}
	// The first chunk waits for the relay (the reader could not pass it
	// on); the buffer is nearly full, so the relay's write flushes it
	// first, and meanwhile the reader gets two more.
	cs.resp.push(next())
	prefix := bytes.Repeat([]byte{0xee}, writeBuffer-100)
	_, _ = sc.w.bw.Write(prefix)
	sock.hook = func() {
		for range 2 {
			if _, ok := cs.onData(next(), chunk, false); !ok {
				t.Error("onData refused a frame within the window")
			}
		}
	}
	for i := 0; cs.buffered() > 0; i++ {
		if i > 10 {
			t.Fatalf("%d bytes still queued after %d frames", cs.buffered(), i)
		}
		k, _, err := st.reserveSend(min(cs.buffered(), defaultMaxFrame))
		if err != nil || k == 0 {
			t.Fatalf("reserveSend = %d, %v", k, err)
		}
		got, _, err := cs.sendQueued(st, k)
		if err != nil && !errors.Is(err, errNotWritten) {
			t.Fatal(err)
		}
		if got < k {
			st.unreserveSend(k - got)
		}
	}
	sc.w.flush()
	b := sock.out.Bytes()
	if !bytes.Equal(b[:len(prefix)], prefix) {
		t.Fatal("the bytes buffered before were changed")
	}
	var data []byte
	for _, d := range readDataFrames(t, bytes.NewReader(b[len(prefix):]), defaultMaxFrame) {
		if d.id != 1 {
			t.Fatalf("DATA of stream %d, want stream 1", d.id)
		}
		data = append(data, d.data...)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("the client got %d bytes, not the %d sent in their order (first byte %d)", len(data), len(want), data[0])
	}
}
