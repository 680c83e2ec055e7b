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
