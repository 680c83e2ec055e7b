package h2relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// TestOutboxCoalesces checks what a drain of the outbox writes: each
// stream's payloads in their order, in as few DATA frames as the maximum
// frame size allows, streams in the order of their first frame, nothing
// left behind, and the buffer given back.
func TestOutboxCoalesces(t *testing.T) {
	type add struct {
		id uint32
		n  int
	}
	type frame struct {
		id uint32
		n  int
	}
	for _, tc := range []struct {
		name     string
		maxFrame int
		adds     []add
		want     []frame
	}{
		{"one message", 16384, []add{{1, 1039}}, []frame{{1, 1039}}},
		{"consecutive", 16384, []add{{1, 1039}, {1, 1039}, {1, 1039}}, []frame{{1, 3117}}},
		{"interleaved", 16384, []add{{1, 1039}, {3, 1039}, {1, 1039}, {5, 10}, {3, 1039}}, []frame{{1, 2078}, {3, 2078}, {5, 10}}},
		{"split at the maximum", 16384, []add{{1, 10000}, {3, 100}, {1, 10000}}, []frame{{1, 16384}, {1, 3616}, {3, 100}}},
		{"larger than a frame", 16384, []add{{7, 40000}}, []frame{{7, 16384}, {7, 16384}, {7, 7232}}},
		{"a larger maximum", 1 << 20, []add{{1, 30000}, {3, 1}, {1, 30000}}, []frame{{1, 60000}, {3, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := newBufPool(64 << 10)
			var out bytes.Buffer
			w := &frameWriter{bw: bufio.NewWriterSize(&out, writeBuffer)}
			w.maxFrame.Store(uint32(tc.maxFrame))
			sent := map[uint32][]byte{}
			var seq byte
			for _, a := range tc.adds {
				p := make([]byte, a.n)
				for i := range p {
					seq++
					p[i] = seq
				}
				if !w.out.add(pool, a.id, p, tc.maxFrame, func() bool { return true }) {
					t.Fatalf("add(%d, %d bytes) refused", a.id, a.n)
				}
				sent[a.id] = append(sent[a.id], p...)
			}
			w.drain()
			if err := w.bw.Flush(); err != nil {
				t.Fatal(err)
			}
			if w.out.box != nil || w.out.n.Load() != 0 {
				t.Fatal("the outbox kept its buffer after a drain")
			}
			var got []frame
			recv := map[uint32][]byte{}
			for _, d := range readDataFrames(t, &out, 1<<24) {
				if d.end {
					t.Fatalf("unexpected END_STREAM on stream %d", d.id)
				}
				got = append(got, frame{d.id, len(d.data)})
				recv[d.id] = append(recv[d.id], d.data...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("frames %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("frames %v, want %v", got, tc.want)
				}
			}
			for id, p := range sent {
				if !bytes.Equal(recv[id], p) {
					t.Errorf("stream %d: its payloads changed on the way", id)
				}
			}
		})
	}
}

// TestOutboxBounds checks that the outbox never holds more than its one
// buffer of the stream window, nor more records than maxOutboxFrames
// (the work of a drain), whatever the frames it is given: what does not
// fit is refused, for the streams' relays to send.
func TestOutboxBounds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		size      int // payload bytes per add
		streams   uint32
		wantAdded int
	}{
		// 64 KiB of 1 KiB frames with their 9-byte headers: 63 fit.
		{"window", 1024, 64, 63},
		// One-byte frames of alternating streams: the record limit.
		{"records", 1, 2, maxOutboxFrames},
		// One stream's one-byte frames grow its last record up to the
		// maximum frame size: four records of 64 KiB.
		{"one stream", 1, 1, 64<<10 - 4*frameHeaderLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const window = 64 << 10
			pool := newBufPool(window)
			var o outbox
			p := make([]byte, tc.size)
			added := 0
			for i := 0; i < 1<<17; i++ {
				id := uint32(2*(i%int(tc.streams)) + 1)
				if !o.add(pool, id, p, defaultMaxFrame, func() bool { return true }) {
					break
				}
				added++
				if cap(*o.box) != window || len(*o.box) > window {
					t.Fatalf("after %d adds the outbox holds %d bytes in a buffer of %d", added, len(*o.box), cap(*o.box))
				}
			}
			if added != tc.wantAdded {
				t.Errorf("%d adds fit, want %d", added, tc.wantAdded)
			}
			if o.frames > maxOutboxFrames {
				t.Errorf("%d records, more than %d", o.frames, maxOutboxFrames)
			}
		})
	}
}

// FuzzOutbox adds frames of the streams and sizes the input describes (two
// bytes each: a stream among eight, a size) to an outbox, at a maximum
// frame size the first byte chooses, draining it when it refuses one, and
// checks what the drains wrote: valid DATA frames no larger than the
// maximum, each stream's payloads whole and in order.
func FuzzOutbox(f *testing.F) {
	f.Add([]byte{0, 1, 200, 3, 200, 1, 200})
	f.Add([]byte{3, 1, 255, 1, 255, 1, 255, 3, 1, 5, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		maxFrame := defaultMaxFrame << (in[0] % 4)
		in = in[1:]
		pool := newBufPool(16 << 10)
		var out bytes.Buffer
		w := &frameWriter{bw: bufio.NewWriterSize(&out, writeBuffer)}
		w.maxFrame.Store(uint32(maxFrame))
		sent := map[uint32][]byte{}
		var seq byte
		for ; len(in) >= 2; in = in[2:] {
			id := uint32(in[0]%8)*2 + 1
			p := make([]byte, int(in[1])*int(in[1]))
			for i := range p {
				seq++
				p[i] = seq
			}
			if !w.out.add(pool, id, p, maxFrame, func() bool { return true }) {
				w.drain()
				if !w.out.add(pool, id, p, maxFrame, func() bool { return true }) {
					if len(p)+frameHeaderLen <= 16<<10 {
						t.Fatalf("an empty outbox refused %d bytes", len(p))
					}
					continue // larger than the outbox: the relay's to send
				}
			}
			sent[id] = append(sent[id], p...)
		}
		w.drain()
		if err := w.bw.Flush(); err != nil {
			t.Fatal(err)
		}
		recv := map[uint32][]byte{}
		for _, d := range readDataFrames(t, &out, uint32(maxFrame)) {
			if d.end || len(d.data) == 0 {
				t.Fatalf("unexpected DATA frame on stream %d: END_STREAM %v, %d bytes", d.id, d.end, len(d.data))
			}
			recv[d.id] = append(recv[d.id], d.data...)
		}
		for id, p := range sent {
			if !bytes.Equal(recv[id], p) {
				t.Fatalf("stream %d: %d bytes sent, %d received or changed", id, len(p), len(recv[id]))
			}
		}
	})
}

// dataFrame is a DATA frame read back from what a frameWriter wrote.
type dataFrame struct {
	id   uint32
	end  bool // END_STREAM
	data []byte
}

// readDataFrames reads every frame in r (of at most maxFrame bytes), each
// of which must be a DATA frame.
func readDataFrames(t testing.TB, r io.Reader, maxFrame uint32) []dataFrame {
	t.Helper()
	fr := http2.NewFramer(nil, r)
	fr.SetMaxReadFrameSize(maxFrame)
	var frames []dataFrame
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		d, ok := f.(*http2.DataFrame)
		if !ok {
			t.Fatalf("unexpected frame %v, want DATA", f)
		}
		frames = append(frames, dataFrame{id: d.StreamID, end: d.StreamEnded(), data: bytes.Clone(d.Data())})
	}
}
