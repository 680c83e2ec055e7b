package webclients

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTextReader: base64 bodies split anywhere and padded per chunk decode
// to the original bytes; a body ending inside a quantum is an error.
func TestTextReader(t *testing.T) {
	data := bytes.Repeat([]byte("gRPC-Web text \x00\x01\xff"), 400)
	for _, tc := range []struct {
		name   string
		chunks []int // sizes of the separately encoded chunks
	}{
		{"one", []int{len(data)}},
		{"padded chunks", []int{1, 2, 3, 4, 5, 100, 1000, 4000}},
		{"ones", []int{1, 1, 1, 1, 1, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var enc strings.Builder
			rest := data
			for _, n := range tc.chunks {
				n = min(n, len(rest))
				enc.WriteString(base64.StdEncoding.EncodeToString(rest[:n]))
				rest = rest[n:]
			}
			enc.WriteString(base64.StdEncoding.EncodeToString(rest))
			got, err := io.ReadAll(&textReader{src: io.NopCloser(iotestHalf(strings.NewReader(enc.String())))})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("decoded %d bytes, want %d", len(got), len(data))
			}
		})
	}
	if _, err := io.ReadAll(&textReader{src: io.NopCloser(strings.NewReader("QUJD" + "QQ"))}); err != errTextTruncated {
		t.Errorf("truncated body: got %v, want errTextTruncated", err)
	}
	if _, err := io.ReadAll(&textReader{src: io.NopCloser(strings.NewReader("QU!D"))}); err == nil {
		t.Error("invalid base64: no error")
	}
}

// iotestHalf reads at most 7 bytes at a time, to split quanta.
func iotestHalf(r io.Reader) io.Reader { return smallReader{r} }

type smallReader struct{ r io.Reader }

func (s smallReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 7)]) }

// TestTextWriter: writes of any size, flushed anywhere, produce base64
// that decodes to what was written, with the text Content-Type.
func TestTextWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/grpc-web+proto")
	tw := &textWriter{w: rec}
	var want []byte
	for i, n := range []int{5, 1, 1, 2, 7, 3, 300} {
		p := bytes.Repeat([]byte{byte(i)}, n)
		want = append(want, p...)
		if _, err := tw.Write(p); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			tw.Flush()
		}
	}
	tw.finish()
	if ct := rec.Header().Get("Content-Type"); ct != "application/grpc-web-text+proto" {
		t.Errorf("Content-Type %q", ct)
	}
	var got []byte
	b := rec.Body.Bytes()
	for len(b) > 0 {
		end := len(b)
		if i := bytes.IndexByte(b, '='); i >= 0 {
			end = i - i%4 + 4
		}
		d, err := base64.StdEncoding.DecodeString(string(b[:end]))
		if err != nil {
			t.Fatalf("%q: %v", b[:end], err)
		}
		got = append(got, d...)
		b = b[end:]
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decoded %x, want %x", got, want)
	}
}

// FuzzTextReader: any bytes, encoded as separately padded chunks split
// anywhere, decode to themselves.
func FuzzTextReader(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x05hello"), uint8(3))
	f.Add([]byte{}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		n := int(split)%7 + 1
		var enc strings.Builder
		for rest := data; len(rest) > 0; {
			k := min(n, len(rest))
			enc.WriteString(base64.StdEncoding.EncodeToString(rest[:k]))
			rest = rest[k:]
		}
		got, err := io.ReadAll(&textReader{src: io.NopCloser(iotestHalf(strings.NewReader(enc.String())))})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("decoded %x, want %x", got, data)
		}
	})
}
