package h2relay

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// TestFrameBuffered checks when a connection reader may defer its
// wake-ups: only while its next frame, CONTINUATIONs included, is whole
// in its buffer, so that reading it cannot block.
func TestFrameBuffered(t *testing.T) {
	frames := func(write func(fr *http2.Framer)) []byte {
		var b bytes.Buffer
		write(http2.NewFramer(&b, nil))
		return b.Bytes()
	}
	data := frames(func(fr *http2.Framer) { _ = fr.WriteData(1, true, make([]byte, 100)) })
	headers := frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}, EndHeaders: true})
	})
	open := frames(func(fr *http2.Framer) {
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}})
	})
	cont := frames(func(fr *http2.Framer) { _ = fr.WriteContinuation(1, true, []byte{0x84}) })
	for _, tc := range []struct {
		name string
		buf  []byte
		want bool
	}{
		{"empty", nil, false},
		{"part of a header", data[:5], false},
		{"header only", data[:9], false},
		{"part of the payload", data[:50], false},
		{"whole DATA", data, true},
		{"whole DATA and part of the next", append(append([]byte{}, data...), data[:20]...), true},
		{"whole HEADERS", headers, true},
		{"HEADERS without END_HEADERS", append(append([]byte{}, open...), cont...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(tc.buf), blockingReader{}), 16<<10)
			if len(tc.buf) > 0 {
				if _, err := br.Peek(len(tc.buf)); err != nil {
					t.Fatal(err)
				}
			}
			if got := frameBuffered(br); got != tc.want {
				t.Errorf("frameBuffered = %v, want %v", got, tc.want)
			}
		})
	}
}

// blockingReader fails the test's reads past its bytes instead of
// blocking: frameBuffered must never read.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { return 0, io.ErrNoProgress }

// TestWakeBatch: the streams one read wakes or starts form one batch,
// each goroutine counted once (a stream started and given its request in
// the same read is one), and each member leaves it at its flush; a
// stream alone in its read leaves any batch it was in.
func TestWakeBatch(t *testing.T) {
	a, b, c := &Stream{}, &Stream{}, &Stream{}
	joinBatch([]*Stream{a, b}, []*Stream{b, nil, c})
	wb := a.batch.Load()
	if wb == nil || b.batch.Load() != wb || c.batch.Load() != wb {
		t.Fatalf("batches %p %p %p, want one", wb, b.batch.Load(), c.batch.Load())
	}
	if got := wb.left.Load(); got != 3 {
		t.Fatalf("left = %d, want 3 (a, b and c)", got)
	}
	for i, st := range []*Stream{a, b, c, a} {
		st.yieldToBatch()
		if want := int32(max(2-i, 0)); wb.left.Load() != want {
			t.Fatalf("after %d flushes left = %d, want %d", i+1, wb.left.Load(), want)
		}
		if st.batch.Load() != nil {
			t.Fatalf("stream %d still in its batch after its flush", i)
		}
	}
	joinBatch([]*Stream{a, b}, nil)
	joinBatch(nil, []*Stream{a})
	if a.batch.Load() != nil {
		t.Error("a stream alone in its read stayed in its last batch")
	}
	if b.batch.Load() == nil {
		t.Error("b left its batch without flushing")
	}
	joinBatch(nil, []*Stream{nil})
}
