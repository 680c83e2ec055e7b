package websocket

import (
	"encoding/binary"
	"testing"
)

// frame returns a masked client frame header for a payload length, and
// the payload.
func frame(n int) []byte {
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x81, 0x80 | byte(n)}
	case n < 1<<16:
		h = []byte{0x81, 0x80 | 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h = make([]byte, 10)
		h[0], h[1] = 0x81, 0x80|127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	h = append(h, 1, 2, 3, 4) // masking key
	return append(h, make([]byte, n)...)
}

func TestFrameScanner(t *testing.T) {
	tests := []struct {
		name   string
		frames []int
		max    int64
		ok     bool
	}{
		{"small frames", []int{0, 10, 125}, 125, true},
		{"16-bit length under", []int{126, 300}, 300, true},
		{"16-bit length over", []int{10, 301}, 300, false},
		{"64-bit length over", []int{70000}, 65536, false},
		{"64-bit length under", []int{70000}, 70000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stream []byte
			for _, n := range tt.frames {
				stream = append(stream, frame(n)...)
			}
			// Byte by byte and all at once agree.
			f, g := NewFrameLimiter(tt.max), NewFrameLimiter(tt.max)
			whole := f.scan(stream)
			split := true
			for i := range stream {
				if !g.scan(stream[i : i+1]) {
					split = false
					break
				}
			}
			if whole != tt.ok || split != tt.ok {
				t.Errorf("scan whole %v, byte by byte %v; want %v", whole, split, tt.ok)
			}
		})
	}
}

func FuzzFrameScanner(f *testing.F) {
	f.Add(append(frame(10), frame(300)...), uint8(7), int64(256))
	f.Add(frame(70000)[:20], uint8(3), int64(1<<16))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8, max int64) {
		if max < 0 {
			max = -max
		}
		a, b := NewFrameLimiter(max), NewFrameLimiter(max)
		whole := a.scan(stream)
		i := min(int(cut), len(stream))
		split := b.scan(stream[:i]) && b.scan(stream[i:])
		if whole != split {
			t.Fatalf("whole %v, split at %d %v", whole, i, split)
		}
	})
}
