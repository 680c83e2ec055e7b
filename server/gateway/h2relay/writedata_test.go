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
