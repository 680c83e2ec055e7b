package transcode

import (
	"bytes"
	"testing"
)

// FuzzHasControl: hasControl's word-at-a-time test agrees with a byte loop.
func FuzzHasControl(f *testing.F) {
	for _, s := range []string{"", "abc", "abcdefgh\x1f", "\x00", "\x7f\x80\xff\x20\x21", "0123456789abcdef\n", "\xe2\x82\xac\xe2\x82\xac\x1f"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		want := false
		for _, c := range s {
			if c < ' ' {
				want = true
			}
		}
		if got := hasControl(s); got != want {
			t.Fatalf("hasControl(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestHasControlEveryByte: each byte value, at each position of a word
// and after it, is found exactly when it is below 0x20.
func TestHasControlEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 11; pos++ {
			for _, fill := range []byte{'a', 0x80, 0xff, 0x20} {
				s := bytes.Repeat([]byte{fill}, 11)
				s[pos] = byte(c)
				if got, want := hasControl(s), c < 0x20; got != want {
					t.Fatalf("hasControl(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}
