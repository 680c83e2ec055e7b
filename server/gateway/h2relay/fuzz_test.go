package h2relay

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzParseTimeout: a grpc-timeout value parses without panicking, and
// what FormatTimeout writes parses back to at least the duration it
// formatted (rounded up, never down: a backend must not get less time).
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "100m", "99999999H", "0n", "", "1", "12345678u", "123456789S", "-1S", "+1S", "1x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseTimeout(s)
		if ok && d < 0 {
			t.Fatalf("ParseTimeout(%q) = %v, negative", s, d)
		}
		if !ok || d <= 0 {
			return
		}
		back, ok := ParseTimeout(FormatTimeout(d))
		if !ok || back < d && back != 1<<63-1 {
			t.Fatalf("FormatTimeout(%v) = %q parses to %v, %v", d, FormatTimeout(d), back, ok)
		}
	})
}

// FuzzMsgScanner: following messages over any split of the bytes finds
// what following them in one piece finds.
func FuzzMsgScanner(f *testing.F) {
	msg := func(n int) []byte {
		b := make([]byte, 5+n)
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		return b
	}
	f.Add(append(msg(3), msg(0)...), uint8(2), uint16(16))
	f.Add(msg(100), uint8(7), uint16(50))
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, uint8(1), uint16(1000))
	f.Fuzz(func(t *testing.T, data []byte, step uint8, limit uint16) {
		whole := msgScanner{max: uint32(limit)}
		wr := whole.scan(data)
		parts := msgScanner{max: uint32(limit)}
		var pr scanResult
		n := int(step%16) + 1
		for p := data; len(p) > 0 && pr.tooLarge == 0; {
			k := min(n, len(p))
			r := parts.scan(p[:k])
			pr.messages += r.messages
			pr.tooLarge = r.tooLarge
			p = p[k:]
		}
		if wr != pr || whole.payload != parts.payload || whole.msgs != parts.msgs {
			t.Fatalf("whole %+v (%d bytes), in parts of %d %+v (%d bytes)", wr, whole.payload, n, pr, parts.payload)
		}
		if whole.payload > int64(len(data)) {
			t.Fatalf("payload %d of %d bytes", whole.payload, len(data))
		}
	})
}

// FuzzServerFrames: any frames a client sends after the preface end in
// a response, a reset or a closed connection, never a panic or a hang.
func FuzzServerFrames(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	_ = fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, hf := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/a.B/C"}, {Name: ":authority", Value: "x"}, {Name: "content-type", Value: "application/grpc"}, {Name: "grpc-timeout", Value: "1S"}, {Name: "k-bin", Value: "AAE"}} {
		_ = enc.WriteField(hf)
	}
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	_ = fr.WriteData(1, true, []byte{0, 0, 0, 0, 2, 8, 1})
	_ = fr.WriteWindowUpdate(0, 1000)
	_ = fr.WritePing(false, [8]byte{1})
	_ = fr.WriteRSTStream(1, http2.ErrCodeCancel)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frames []byte) {
		srv := NewServer(func(st *Stream) {
			var buf [64]byte
			for {
				// Read the request as a handler that needs messages would.
				if err := st.readFull(buf[:1]); err != nil {
					break
				}
			}
			st.Finish(nil)
		}, WithIdleTimeout(time.Second))
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(done)
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = client.Write([]byte(http2.ClientPreface))
		_, _ = client.Write(frames)
		_ = client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not end the connection")
		}
		srv.Close()
	})
}
