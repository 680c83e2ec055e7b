package h2guard_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/tollgate-gw/tollgate/internal/h2guard"
)

// clientBytes is a client's preface followed by resets RST_STREAM frames
// (and a PING between each, so that resets are not the only frames).
func clientBytes(t *testing.T, resets int) []byte {
	var b bytes.Buffer
	b.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&b, nil)
	for i := range resets {
		if err := fr.WriteRSTStream(uint32(2*i+1), http2.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		if err := fr.WritePing(false, [8]byte{}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestConn feeds a guarded connection the client's bytes in pieces of odd
// sizes (frame headers split across reads) while the server writes a frame
// in two halves, and checks whether the client got GOAWAY.
func TestConn(t *testing.T) {
	tests := []struct {
		name       string
		resets     int
		burst      int
		wantGoAway bool
	}{
		{"under the limit", 50, 50, false},
		{"over the limit", 51, 50, true},
		{"no limit", 500, 0, false},
	}
	for _, tt := range tests {
		for _, piece := range []int{1, 7, 4096} {
			t.Run(tt.name, func(t *testing.T) {
				server, client := net.Pipe()
				defer client.Close()
				limited := 0
				g := h2guard.New(server, h2guard.Limit{Burst: tt.burst}, func() { limited++ })
				defer g.Close()
				_ = client.SetDeadline(time.Now().Add(5 * time.Second))

				// The server's SETTINGS, written in two halves: GOAWAY may
				// only follow the second.
				var settings bytes.Buffer
				_ = http2.NewFramer(&settings, nil).WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 10})
				half := settings.Len() / 2
				received := make(chan []byte, 1)
				go func() {
					b, _ := io.ReadAll(client)
					received <- b
				}()
				if _, err := g.Write(settings.Bytes()[:half]); err != nil {
					t.Fatal(err)
				}

				in := clientBytes(t, tt.resets)
				want := len(in)
				go func() {
					for len(in) > 0 {
						n := min(piece, len(in))
						if _, err := client.Write(in[:n]); err != nil {
							return
						}
						in = in[n:]
					}
				}()
				var readErr error
				buf := make([]byte, 1000)
				total := 0
				for total < want {
					n, err := g.Read(buf)
					total += n
					if err != nil {
						readErr = err
						break
					}
				}
				_, _ = g.Write(settings.Bytes()[half:])
				g.Close()
				client.Close()
				out := <-received

				if got := errors.Is(readErr, h2guard.ErrTooManyResets); got != tt.wantGoAway {
					t.Fatalf("read error %v, want ErrTooManyResets: %v", readErr, tt.wantGoAway)
				}
				if !bytes.HasPrefix(out, settings.Bytes()) {
					t.Fatalf("the server's frame was cut: got %x", out)
				}
				rest := out[settings.Len():]
				fr := http2.NewFramer(nil, bytes.NewReader(rest))
				f, err := fr.ReadFrame()
				if !tt.wantGoAway {
					if len(rest) != 0 || limited != 0 {
						t.Fatalf("unexpected bytes after the server's frame: %x (limited %d)", rest, limited)
					}
					return
				}
				ga, ok := f.(*http2.GoAwayFrame)
				if err != nil || !ok || ga.ErrCode != http2.ErrCodeEnhanceYourCalm || limited != 1 {
					t.Fatalf("after the server's frame: %v, %v (limited %d); want GOAWAY ENHANCE_YOUR_CALM", f, err, limited)
				}
			})
		}
	}
}

// BenchmarkRead measures what the guard adds to reading a client's frames:
// 1 MiB of 16 KiB DATA frames and small HEADERS-sized frames, in 32 KiB
// reads.
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{100, 16 << 10} {
		b.Run(fmt.Sprintf("frames of %d bytes", size), func(b *testing.B) {
			var in bytes.Buffer
			in.WriteString(http2.ClientPreface)
			fr := http2.NewFramer(&in, nil)
			payload := make([]byte, size)
			for in.Len() < 1<<20 {
				_ = fr.WriteData(1, false, payload)
			}
			data := in.Bytes()
			b.SetBytes(int64(len(data)))
			buf := make([]byte, 32<<10)
			for b.Loop() {
				g := h2guard.New(&sliceConn{r: bytes.NewReader(data)}, h2guard.Limit{Burst: 1000}, nil)
				for {
					if _, err := g.Read(buf); err != nil {
						break
					}
				}
			}
		})
	}
}

// sliceConn is a net.Conn reading from r.
type sliceConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *sliceConn) Read(p []byte) (int, error) { return c.r.Read(p) }
