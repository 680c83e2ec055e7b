package h1guard

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// readAll feeds in through a guarded connection in pieces of size piece
// and returns what the server reads.
func readAll(t testing.TB, in []byte, piece int) ([]byte, int) {
	server, client := net.Pipe()
	refused := 0
	g := New(server, func() { refused++ })
	go func() {
		for len(in) > 0 {
			n := min(piece, len(in))
			if _, err := client.Write(in[:n]); err != nil {
				return
			}
			in = in[n:]
		}
		client.Close()
	}()
	out, err := io.ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	return out, refused
}

func TestConn(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		refused bool
	}{
		{"both headers", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
		{"bare line feeds", "POST / HTTP/1.1\nContent-Length: 3\nTransfer-Encoding: chunked\n\n0\n\n", true},
		{"chunked then both", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"head inside a body", "POST / HTTP/1.1\r\nContent-Length: 47\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n", false},
		{"chunked only", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"upgrade stops inspecting", "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	}
	for _, tt := range tests {
		for _, piece := range []int{1, 5, 1 << 16} {
			t.Run(tt.name, func(t *testing.T) {
				out, refused := readAll(t, []byte(tt.in), piece)
				if (refused == 1) != tt.refused || refused > 1 {
					t.Fatalf("refused %d times, want %v", refused, tt.refused)
				}
				if !tt.refused && string(out) != tt.in {
					t.Fatalf("the bytes were changed:\n%q\nwant\n%q", out, tt.in)
				}
				if tt.refused && !bytes.Contains(out, []byte(malformed)) {
					t.Fatalf("no malformed line in %q", out)
				}
			})
		}
	}
}

// FuzzScan checks that any input, in any two pieces, is refused or passed
// the same way, and passed through unchanged unless refused.
func FuzzScan(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 10)
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 3)
	f.Fuzz(func(t *testing.T, in []byte, cut int) {
		whole := parser{state: stateHead, first: true}
		at := whole.scan(bytes.Clone(in))
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		split := parser{state: stateHead, first: true}
		at2 := split.scan(bytes.Clone(in[:cut]))
		if at2 < 0 {
			if a := split.scan(bytes.Clone(in[cut:])); a >= 0 {
				at2 = cut + a
			}
		}
		if at != at2 {
			t.Fatalf("refusal at %d in one piece, at %d in two (cut %d)", at, at2, cut)
		}
		if at >= 0 && in[at] != '\n' {
			t.Fatalf("refusal at %d, not a line feed", at)
		}
	})
}
