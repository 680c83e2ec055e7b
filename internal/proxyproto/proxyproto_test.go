package proxyproto_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/proxyproto"
)

// v2 builds a v2 header with an address block and trailing TLV bytes.
func v2(cmd, fam byte, block []byte) string {
	h := []byte("\r\n\r\n\x00\r\nQUIT\n")
	h = append(h, 0x20|cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(h[14:], uint16(len(block)))
	return string(append(h, block...))
}

func v4Block(src, dst [4]byte, sport, dport uint16) []byte {
	b := append(append([]byte{}, src[:]...), dst[:]...)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	return append(b, 0x04, 0, 1, 0) // a NOOP TLV, skipped
}

func TestReadHeader(t *testing.T) {
	v6src := netip.MustParseAddr("2001:db8::7").As16()
	v6 := append(append(v6src[:], make([]byte, 16)...), 0x1f, 0x90, 0, 80)
	for _, tc := range []struct {
		name, in string
		want     string // "" for none
		bad      bool
	}{
		{"no header", "GET / HTTP/1.1\r\n\r\n", "", false},
		{"a POST is no header", "POST / HTTP/1.1\r\n\r\n", "", false},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "", false},
		{"v1 TCP4", "PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\nGET /", "192.0.2.7:51234", false},
		{"v1 TCP6", "PROXY TCP6 2001:db8::7 ::1 8080 80\r\nGET /", "[2001:db8::7]:8080", false},
		{"v1 UNKNOWN", "PROXY UNKNOWN\r\nGET /", "", false},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::7 ::1 1 2\r\n", "", true},
		{"v1 bad port", "PROXY TCP4 192.0.2.7 10.0.0.1 65536 80\r\n", "", true},
		{"v1 no CRLF", "PROXY TCP4 192.0.2.7 10.0.0.1 1 2\n", "", true},
		{"v1 too long", "PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n", "", true},
		{"v2 TCP4", v2(1, 0x11, v4Block([4]byte{192, 0, 2, 9}, [4]byte{10, 0, 0, 1}, 40000, 8080)) + "GET /", "192.0.2.9:40000", false},
		{"v2 TCP6", v2(1, 0x21, v6) + "GET /", "[2001:db8::7]:8080", false},
		{"v2 LOCAL", v2(0, 0x11, v4Block([4]byte{192, 0, 2, 9}, [4]byte{10, 0, 0, 1}, 1, 2)) + "GET /", "", false},
		{"v2 UNSPEC", v2(1, 0x00, nil) + "GET /", "", false},
		{"v2 short block", v2(1, 0x11, []byte{1, 2, 3}), "", true},
		{"v2 bad version", strings.Replace(v2(1, 0x11, nil), "\x21", "\x31", 1), "", true},
		{"v2 truncated", v2(1, 0x11, v4Block([4]byte{1, 2, 3, 4}, [4]byte{1, 2, 3, 4}, 1, 2))[:20], "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.in))
			got, err := proxyproto.ReadHeader(br)
			if tc.bad {
				if !errors.Is(err, proxyproto.ErrHeader) {
					t.Fatalf("ReadHeader = %v, %v; want ErrHeader", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == "" && got.IsValid()) || (tc.want != "" && got.String() != tc.want) {
				t.Fatalf("ReadHeader = %v, want %q", got, tc.want)
			}
			rest, _ := io.ReadAll(br)
			if tc.want != "" && !strings.HasPrefix(string(rest), "GET /") {
				t.Fatalf("after the header: %q", rest)
			}
			if tc.want == "" && !strings.Contains(tc.in, "PROXY") && !strings.Contains(tc.in, "QUIT") && string(rest) != tc.in {
				t.Fatalf("bytes without a header changed: %q", rest)
			}
		})
	}
}

// TestListener: over real sockets, a trusted peer's header sets the
// connection's RemoteAddr; an untrusted peer's bytes pass untouched.
func TestListener(t *testing.T) {
	for _, tc := range []struct {
		name       string
		trusted    bool
		send, want string // want: RemoteAddr's host ("" for the peer's)
		wantRead   string
	}{
		{"trusted with header", true, "PROXY TCP4 192.0.2.7 10.0.0.1 5000 80\r\nhello", "192.0.2.7", "hello"},
		{"trusted without header", true, "hello", "", "hello"},
		{"untrusted header is data", false, "PROXY TCP4 192.0.2.7 10.0.0.1 5000 80\r\nhello", "", "PROXY TCP4 192.0.2.7 10.0.0.1 5000 80\r\nhello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := proxyproto.NewListener(raw, func(netip.Addr) bool { return tc.trusted })
			defer ln.Close()
			go func() {
				c, err := net.Dial("tcp", raw.Addr().String())
				if err != nil {
					return
				}
				_, _ = c.Write([]byte(tc.send))
				_ = c.(*net.TCPConn).CloseWrite()
			}()
			c, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != tc.wantRead {
				t.Fatalf("read %q, %v; want %q", got, err, tc.wantRead)
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			if want := tc.want; (want == "" && host != "127.0.0.1") || (want != "" && host != want) {
				t.Fatalf("RemoteAddr = %v, want %q", c.RemoteAddr(), tc.want)
			}
		})
	}
}

// FuzzReadHeader: never panics, and on success leaves the bytes after the
// header (or all of them) to the reader.
func FuzzReadHeader(f *testing.F) {
	f.Add("PROXY TCP4 192.0.2.7 10.0.0.1 51234 8080\r\nGET /")
	f.Add("PROXY TCP6 2001:db8::7 ::1 8080 80\r\n")
	f.Add(v2(1, 0x11, v4Block([4]byte{192, 0, 2, 9}, [4]byte{10, 0, 0, 1}, 40000, 8080)))
	f.Add("GET / HTTP/1.1\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		br := bufio.NewReader(strings.NewReader(in))
		addr, err := proxyproto.ReadHeader(br)
		if err != nil {
			return
		}
		rest, _ := io.ReadAll(br)
		if !addr.IsValid() && !strings.HasPrefix(in, "PROXY ") && !strings.HasPrefix(in, "\r\n\r\n\x00\r\nQUIT\n") && string(rest) != in {
			t.Fatalf("no header, but the bytes changed: %q → %q", in, rest)
		}
		if !strings.HasSuffix(in, string(rest)) {
			t.Fatalf("rest %q is not a suffix of %q", rest, in)
		}
	})
}
