package transcode

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// FuzzAppendBase64: appendBase64 writes what base64.StdEncoding does, after
// whatever dst held.
func FuzzAppendBase64(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "abc", "abcd", "\x00\xff\x10\x80\x7f", string(bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 40))} {
		f.Add([]byte("prefix:"), []byte(s))
	}
	f.Fuzz(func(t *testing.T, dst, src []byte) {
		want := base64.StdEncoding.AppendEncode(bytes.Clone(dst), src)
		if got := appendBase64(bytes.Clone(dst), src); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64(%q, %q) = %q, want %q", dst, src, got, want)
		}
	})
}

// TestAppendBase64EveryTriple: every 12-bit half of every triple.
func TestAppendBase64EveryTriple(t *testing.T) {
	src := make([]byte, 0, 3*4096)
	for v := range 4096 {
		src = append(src, byte(v>>4), byte(v<<4|v>>8), byte(v))
	}
	for n := len(src) - 2; n <= len(src); n++ {
		if got, want := appendBase64(nil, src[:n]), base64.StdEncoding.AppendEncode(nil, src[:n]); !bytes.Equal(got, want) {
			t.Fatalf("appendBase64 of %d bytes differs from base64.StdEncoding", n)
		}
	}
}

// BenchmarkAppendBase64 encodes loadbench's 1 KiB payload.
func BenchmarkAppendBase64(b *testing.B) {
	src := bytes.Repeat([]byte("x"), 1024)
	buf := make([]byte, 0, 2048)
	b.Run("appendBase64", func(b *testing.B) {
		for b.Loop() {
			buf = appendBase64(buf[:0], src)
		}
	})
	b.Run("StdEncoding", func(b *testing.B) {
		for b.Loop() {
			buf = base64.StdEncoding.AppendEncode(buf[:0], src)
		}
	})
}
