package grpcproxy

import "testing"

func TestBufferPool(t *testing.T) {
	p := NewBufferPool()
	for _, n := range []int{0, 1, 255, 256, 257, 1029, 16384, 16385, 1 << 20, 1<<20 + 1, 3 << 20} {
		b := p.Get(n)
		if len(*b) != n {
			t.Fatalf("Get(%d) has length %d", n, len(*b))
		}
		if n <= 1<<20 {
			if c := cap(*b); c < n || c&(c-1) != 0 || c < 256 {
				t.Fatalf("Get(%d) has capacity %d, want a power of two >= max(n, 256)", n, c)
			}
		}
		p.Put(b)
		again := p.Get(n)
		if len(*again) != n {
			t.Fatalf("Get(%d) after Put has length %d", n, len(*again))
		}
	}
	// Foreign capacities are dropped, not pooled into the wrong tier.
	odd := make([]byte, 300)
	p.Put(&odd)
	if b := p.Get(300); cap(*b) != 512 {
		t.Fatalf("Get(300) capacity %d after putting a 300-byte buffer, want 512", cap(*b))
	}
}

func BenchmarkBufferPool(b *testing.B) {
	p := NewBufferPool()
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(16384))
	}
}
