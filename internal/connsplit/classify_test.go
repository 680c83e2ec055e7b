package connsplit

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Start returns a client preface and SETTINGS frame, as clients send them.
func h2Start(t testing.TB) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(clientPreface)
	fr := http2.NewFramer(&b, nil)
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteWindowUpdate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	return &b
}

// headerBlockFor HPACK-encodes a request's headers.
func headerBlockFor(t testing.TB, contentType string) []byte {
	t.Helper()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "localhost:8080"},
		{Name: ":path", Value: "/tollgate.example.v1.EchoService/Echo"},
		{Name: "content-type", Value: contentType},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: strings.Repeat("x", 300)},
	} {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	return hb.Bytes()
}

// withHeaders appends a HEADERS frame (split into CONTINUATIONs when split >
// 0) carrying a request with the given content type.
func withHeaders(t testing.TB, contentType string, split int, padded, priority bool) []byte {
	t.Helper()
	b := h2Start(t)
	fr := http2.NewFramer(b, nil)
	block := headerBlockFor(t, contentType)
	first, rest := block, []byte(nil)
	if split > 0 {
		first, rest = block[:split], block[split:]
	}
	p := http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndHeaders: len(rest) == 0}
	if padded {
		p.PadLength = 7
	}
	if priority {
		p.Priority = http2.PriorityParam{StreamDep: 0, Weight: 15}
	}
	if err := fr.WriteHeaders(p); err != nil {
		t.Fatal(err)
	}
	for len(rest) > 0 {
		n := min(len(rest), 50)
		if err := fr.WriteContinuation(1, n == len(rest), rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	return b.Bytes()
}

func TestClassify(t *testing.T) {
	grpcReq := withHeaders(t, "application/grpc", 0, false, false)
	tests := []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, Undecided},
		{"HTTP/1.1 request", []byte("GET /prod/books HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP},
		{"HTTP/1.0 request shorter than the preface", []byte("GET / HTTP/1.0\r\n\r\n"), HTTP},
		{"first byte differs", []byte("G"), HTTP},
		{"partial preface", []byte("PRI * HTTP/2"), Undecided},
		{"preface only", []byte(clientPreface), Undecided},
		{"preface and settings", h2Start(t).Bytes(), Undecided},
		{"gRPC request", grpcReq, GRPC},
		{"gRPC request, headers cut short", grpcReq[:len(grpcReq)-3], Undecided},
		{"gRPC+proto", withHeaders(t, "application/grpc+proto", 0, false, false), GRPC},
		{"gRPC with parameters", withHeaders(t, "application/grpc;charset=utf-8", 0, false, false), GRPC},
		{"gRPC padded with priority", withHeaders(t, "application/grpc", 0, true, true), GRPC},
		{"gRPC in continuation frames", withHeaders(t, "application/grpc", 20, false, false), GRPC},
		{"gRPC in continuation frames, cut short", withHeaders(t, "application/grpc", 20, false, false)[:len(grpcReq)-10], Undecided},
		{"gRPC-Web is HTTP", withHeaders(t, "application/grpc-web", 0, false, false), HTTP},
		{"grpcfoo is HTTP", withHeaders(t, "application/grpcfoo", 0, false, false), HTTP},
		{"JSON over h2c", withHeaders(t, "application/json", 0, false, false), HTTP},
		{"no content type", withHeaders(t, "", 0, false, false), HTTP},
		{"oversized frame", append([]byte(clientPreface), 0xff, 0xff, 0xff, 0x4, 0, 0, 0, 0, 0), HTTP},
		{"invalid HPACK", append([]byte(clientPreface), 0, 0, 2, frameHeaders, flagEndHeaders, 0, 0, 0, 1, 0xff, 0xff), HTTP},
		{"padding longer than payload", append([]byte(clientPreface), 0, 0, 2, frameHeaders, flagEndHeaders|flagPadded, 0, 0, 0, 1, 9, 0), HTTP},
		{"other frame between HEADERS and CONTINUATION", append(withHeaders(t, "application/grpc", 20, false, false)[:len(clientPreface)+15+13+9+20], 0, 0, 0, 0x8, 0, 0, 0, 0, 1), HTTP},
		{"too many frames before a request", bytes.Repeat([]byte{0, 0, 0, 0x4, 0, 0, 0, 0, 0}, maxFramesBeforeFirst+1), HTTP},
	}
	tests[len(tests)-1].in = append([]byte(clientPreface), tests[len(tests)-1].in...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.in); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassifyBoundsUndecidedInput(t *testing.T) {
	// A client that keeps sending SETTINGS-sized frames without a request
	// cannot make the splitter buffer without bound.
	b := h2Start(t).Bytes()
	frame := append([]byte{0, 0x40, 0, 0x0, 0, 0, 0, 0, 1}, make([]byte, 1<<14)...) // DATA frames
	for range 5 {
		b = append(b, frame...)
	}
	if got := Classify(b); got != HTTP {
		t.Fatalf("Classify of %d undecided bytes = %v, want http", len(b), got)
	}
}

// FuzzClassify checks that Classify never panics and that a decision, once
// made, does not change as more bytes arrive.
func FuzzClassify(f *testing.F) {
	f.Add(withHeaders(f, "application/grpc", 0, false, false), 40)
	f.Add(withHeaders(f, "application/json", 30, true, true), 70)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), 3)
	f.Add(h2Start(f).Bytes(), 24)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in)
		}
		prefix := Classify(in[:cut])
		full := Classify(in)
		if prefix != Undecided && prefix != full && len(in) <= maxSniffBytes {
			t.Fatalf("Classify(prefix) = %v but Classify(all) = %v", prefix, full)
		}
	})
}

func BenchmarkClassifyGRPC(b *testing.B) {
	in := withHeaders(b, "application/grpc", 0, false, false)
	b.ReportAllocs()
	for b.Loop() {
		if Classify(in) != GRPC {
			b.Fatal("not gRPC")
		}
	}
}
