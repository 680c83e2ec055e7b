package h2relay

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// block is one header block as frames: its encoded fragments (the first
// in HEADERS, the rest in CONTINUATIONs).
type block [][]byte

// encodeBlock encodes fields (names as given, unchecked) and splits the
// result into n fragments.
func encodeBlock(fields []hpack.HeaderField, n int) block {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range fields {
		_ = enc.WriteField(f)
	}
	return splitBlock(buf.Bytes(), n)
}

func splitBlock(b []byte, n int) block {
	var out block
	size := (len(b) + n - 1) / max(n, 1)
	for len(b) > size && size > 0 {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

// writeBlocks writes the blocks on streams 1, 3, … as frames.
func writeBlocks(t testing.TB, blocks []block) []byte {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	for i, b := range blocks {
		id := uint32(2*i + 1)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[0], EndHeaders: len(b) == 1, EndStream: true}); err != nil {
			t.Fatal(err)
		}
		for j, frag := range b[1:] {
			if err := fr.WriteContinuation(id, j == len(b)-2, frag); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// readAll reads frames until an error, describing each header block,
// PING and WINDOW_UPDATE frame (or error) as a string, with x/net's
// reader (ours false) or frameReader, both reading from a buffer of
// bufSize bytes (zero: 16 KiB).
func readAll(wire []byte, maxList uint32, ours bool, bufSize ...int) []string {
	size := 16 << 10
	if len(bufSize) > 0 {
		size = bufSize[0]
	}
	br := bufio.NewReaderSize(bytes.NewReader(wire), size)
	fr := http2.NewFramer(nil, br)
	fr.MaxHeaderListSize = maxList
	read := fr.ReadFrame
	if ours {
		read = newFrameReader(fr, br, maxList).ReadFrame
	} else {
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	}
	var out []string
	var kept [][]hpack.HeaderField
	for {
		f, err := read()
		if err != nil {
			switch err.(type) {
			case http2.StreamError, http2.ConnectionError:
				out = append(out, fmt.Sprintf("%T %v", err, err))
				if _, ok := err.(http2.StreamError); ok {
					continue
				}
			default:
				out = append(out, fmt.Sprintf("error %v", err))
			}
			break
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			kept = append(kept, f.Fields)
			out = append(out, fmt.Sprintf("stream %d truncated=%v ended=%v priority=%+v", f.StreamID, f.Truncated, f.StreamEnded(), f.Priority))
		case *http2.PingFrame:
			out = append(out, fmt.Sprintf("ping %+v %x", f.FrameHeader, f.Data))
		case *http2.WindowUpdateFrame:
			out = append(out, fmt.Sprintf("window update %+v %d", f.FrameHeader, f.Increment))
		case *http2.DataFrame:
			out = append(out, fmt.Sprintf("data %+v ended=%v %q", f.FrameHeader, f.StreamEnded(), f.Data()))
		case *bufferedData:
			out = append(out, fmt.Sprintf("data %+v ended=%v %q", f.FrameHeader, f.StreamEnded(), f.Data()))
		default:
			out = append(out, fmt.Sprintf("%+v", f.Header()))
		}
	}
	// Fields must stay the caller's after later blocks were read.
	for _, fs := range kept {
		out = append(out, fmt.Sprint(fs))
	}
	return out
}

func TestFrameReaderMatchesFramer(t *testing.T) {
	req := []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/a.B/C"},
		{Name: ":authority", Value: "x"}, {Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}
	long := append(append([]hpack.HeaderField(nil), req...), hpack.HeaderField{Name: "x-long", Value: string(bytes.Repeat([]byte("v"), 300))})
	with := func(extra ...hpack.HeaderField) []hpack.HeaderField {
		return append(append([]hpack.HeaderField(nil), req...), extra...)
	}
	tests := []struct {
		name    string
		blocks  []block
		maxList uint32
	}{
		{"one request", []block{encodeBlock(req, 1)}, 1 << 20},
		{"continuations", []block{encodeBlock(long, 4), encodeBlock(req, 2)}, 1 << 20},
		{"response and trailers", []block{
			encodeBlock([]hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, 1),
			encodeBlock([]hpack.HeaderField{{Name: "grpc-status", Value: "0"}, {Name: "grpc-message", Value: ""}}, 1),
		}, 1 << 20},
		{"truncated", []block{encodeBlock(long, 1), encodeBlock(req, 1)}, 400},
		{"far too large", []block{encodeBlock(long, 1)}, 100},
		{"upper-case name", []block{encodeBlock(with(hpack.HeaderField{Name: "X-Up", Value: "v"}), 1), encodeBlock(req, 1)}, 1 << 20},
		{"bad value", []block{encodeBlock(with(hpack.HeaderField{Name: "x-v", Value: "a\nb"}), 1), encodeBlock(req, 1)}, 1 << 20},
		{"pseudo after regular", []block{encodeBlock(append([]hpack.HeaderField{{Name: "x-a", Value: "1"}}, req...), 1)}, 1 << 20},
		{"unknown pseudo", []block{encodeBlock(with(), 1), encodeBlock([]hpack.HeaderField{{Name: ":nope", Value: "1"}}, 1)}, 1 << 20},
		{"duplicate pseudo", []block{encodeBlock(append([]hpack.HeaderField{{Name: ":path", Value: "/x"}}, req...), 1)}, 1 << 20},
		{"request and response", []block{encodeBlock(append([]hpack.HeaderField{{Name: ":status", Value: "200"}}, req...), 1)}, 1 << 20},
		{"trailer budget", []block{encodeBlock(with(hpack.HeaderField{Name: "trailer", Value: "a, b, c"}), 1)}, 1 << 20},
		{"bad hpack", []block{{{0xff, 0xff, 0xff, 0xff, 0xff}}}, 1 << 20},
		{"cut mid-field", []block{{encodeBlock(req, 1)[0][:5]}}, 1 << 20},
		{"empty block", []block{{nil}}, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := writeBlocks(t, tt.blocks)
			want := readAll(wire, tt.maxList, false)
			got := readAll(wire, tt.maxList, true)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frameReader differs from http2.Framer (-framer +ours):\n%s", diff)
			}
			if len(got) == 0 {
				t.Error("nothing read")
			}
		})
	}
}

// FuzzFrameReader checks frameReader against http2.Framer's own header
// block decoding on arbitrary blocks, split into fragments.
func FuzzFrameReader(f *testing.F) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, hf := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/a/b"}, {Name: "content-type", Value: "application/grpc"}, {Name: "x-k", Value: "v"}} {
		_ = enc.WriteField(hf)
	}
	f.Add(buf.Bytes(), uint8(1), uint16(1000))
	f.Add(buf.Bytes(), uint8(3), uint16(40))
	f.Add([]byte{0x82, 0x86, 0x84}, uint8(2), uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, parts uint8, maxList uint16) {
		blocks := []block{splitBlock(b, int(parts%8)+1), splitBlock(b, 1)}
		wire := writeBlocks(t, blocks)
		lim := uint32(maxList) + 1
		want := readAll(wire, lim, false)
		got := readAll(wire, lim, true)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("frameReader differs from http2.Framer (-framer +ours):\n%s", diff)
		}
	})
}

// rawFrame is one frame as bytes: its header and payload, unchecked.
func rawFrame(typ http2.FrameType, flags http2.Flags, id uint32, payload ...byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), byte(typ), byte(flags),
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}, payload...)
}

// TestFrameReaderParsesAsFramer: the frames frameReader parses itself
// (HEADERS with padding and priority, PING, WINDOW_UPDATE, DATA), well formed
// or not, read as http2.Framer reads them, with the frames after them.
func TestFrameReaderParsesAsFramer(t *testing.T) {
	block := encodeBlock([]hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, 1)[0]
	padded := append(append([]byte{3}, block...), 0, 0, 0)
	prio := append([]byte{0x80, 0, 0, 1, 42}, block...)
	ping := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	ok := rawFrame(http2.FramePing, 0, 0, ping...) // read after each case's frames
	tests := []struct {
		name string
		wire []byte
	}{
		{"ping", rawFrame(http2.FramePing, 0, 0, ping...)},
		{"ping ack", rawFrame(http2.FramePing, http2.FlagPingAck, 0, ping...)},
		{"ping short", rawFrame(http2.FramePing, 0, 0, ping[:7]...)},
		{"ping on a stream", rawFrame(http2.FramePing, 0, 1, ping...)},
		{"window update", rawFrame(http2.FrameWindowUpdate, 0, 0, 0, 1, 0, 0)},
		{"window update, reserved bit", rawFrame(http2.FrameWindowUpdate, 0, 3, 0x80, 0, 0, 9)},
		{"window update zero", rawFrame(http2.FrameWindowUpdate, 0, 0, 0, 0, 0, 0)},
		{"window update zero on a stream", rawFrame(http2.FrameWindowUpdate, 0, 5, 0x80, 0, 0, 0)},
		{"window update long", rawFrame(http2.FrameWindowUpdate, 0, 1, 0, 0, 0, 1, 0)},
		{"headers", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 1, block...)},
		{"headers padded", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPadded|http2.FlagHeadersEndStream, 1, padded...)},
		{"headers with priority", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPriority, 3, prio...)},
		{"headers padding too long", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPadded, 1, 200, 0x88)},
		{"headers padding cut", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPadded, 1)},
		{"headers priority cut", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPriority, 1, 0, 0, 1)},
		{"headers on stream 0", rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders, 0, block...)},
		{"headers then continuation", append(rawFrame(http2.FrameHeaders, 0, 1, block[:1]...), rawFrame(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 1, block[1:]...)...)},
		{"headers, then not a continuation", append(rawFrame(http2.FrameHeaders, 0, 1, block...), ok...)},
		{"payload cut", rawFrame(http2.FramePing, 0, 0, ping...)[:12]},
		{"data", rawFrame(http2.FrameData, 0, 1, 'a', 'b', 'c')},
		{"data ending the stream", rawFrame(http2.FrameData, http2.FlagDataEndStream, 3, 'a')},
		{"data empty", rawFrame(http2.FrameData, http2.FlagDataEndStream, 1)},
		{"data padded", rawFrame(http2.FrameData, http2.FlagDataPadded, 1, 2, 'a', 'b', 0, 0)},
		{"data all padding", rawFrame(http2.FrameData, http2.FlagDataPadded, 1, 2, 0, 0)},
		{"data padding too long", rawFrame(http2.FrameData, http2.FlagDataPadded, 1, 3, 'a', 0)},
		{"data padding cut", rawFrame(http2.FrameData, http2.FlagDataPadded, 1)},
		{"data on stream 0", rawFrame(http2.FrameData, 0, 0, 'a')},
		{"data cut", rawFrame(http2.FrameData, 0, 1, 'a', 'b', 'c')[:11]},
		{"data larger than the buffer", rawFrame(http2.FrameData, 0, 1, bytes.Repeat([]byte{'d'}, 40)...)},
		{"headers, then data", append(rawFrame(http2.FrameHeaders, 0, 1, block...), rawFrame(http2.FrameData, 0, 1, 'a')...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire := append(append([]byte(nil), tt.wire...), ok...)
			for _, size := range []int{16 << 10, 16} { // parsed in the buffer, or by the Framer
				want := readAll(wire, 1<<20, false, size)
				got := readAll(wire, 1<<20, true, size)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("buffer %d: frameReader differs from http2.Framer (-framer +ours):\n%s", size, diff)
				}
			}
		})
	}
}

// FuzzFrameReaderFrames checks frameReader against http2.Framer on
// arbitrary frames, which it parses itself or leaves to the Framer.
func FuzzFrameReaderFrames(f *testing.F) {
	f.Add(rawFrame(http2.FramePing, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8), uint16(0))
	f.Add(append(rawFrame(http2.FrameData, http2.FlagDataPadded, 1, 1, 'x', 0), rawFrame(http2.FrameData, http2.FlagDataEndStream, 1, 'y')...), uint16(0))
	f.Add(append(rawFrame(http2.FrameWindowUpdate, 0, 1, 0, 0, 1, 0), rawFrame(http2.FrameHeaders, http2.FlagHeadersEndHeaders|http2.FlagHeadersPadded, 1, 1, 0x88, 0)...), uint16(30))
	f.Add(append(rawFrame(http2.FrameHeaders, http2.FlagHeadersPriority, 1, 0, 0, 0, 0, 9, 0x82), rawFrame(http2.FrameContinuation, http2.FlagContinuationEndHeaders, 1, 0x84)...), uint16(1000))
	f.Fuzz(func(t *testing.T, wire []byte, maxList uint16) {
		lim := uint32(maxList) + 1
		for _, size := range []int{16 << 10, 16} {
			want := readAll(wire, lim, false, size)
			got := readAll(wire, lim, true, size)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("buffer %d: frameReader differs from http2.Framer (-framer +ours):\n%s", size, diff)
			}
		}
	})
}

// FuzzFieldValidity checks the field name and value checks against
// httpguts', which x/net's Framer uses.
func FuzzFieldValidity(f *testing.F) {
	for _, s := range []string{"", "a", "x-request-id", "X-Up", "a\tb", "a\nb", "0123456789abcdef\x7f", "ünïcode value", "\x00", ":path", "tab\tin a long value of many bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validFieldValue(s), httpguts.ValidHeaderFieldValue(s); got != want {
			t.Errorf("validFieldValue(%q) = %v, httpguts says %v", s, got, want)
		}
		want := s != ""
		for _, c := range s {
			if !httpguts.IsTokenRune(c) || 'A' <= c && c <= 'Z' {
				want = false
			}
		}
		if got := validWireHeaderFieldName(s); got != want {
			t.Errorf("validWireHeaderFieldName(%q) = %v, want %v", s, got, want)
		}
	})
}
