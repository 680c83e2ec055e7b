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
			if c := cap(*b); c < max(n, 256) || c > max(n+n/4, 256) || tierOf(c) < 0 {
				t.Fatalf("Get(%d) has capacity %d, want a tier's size within a quarter above max(n, 256)", n, c)
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
	if b := p.Get(300); cap(*b) != 320 {
		t.Fatalf("Get(300) capacity %d after putting a 300-byte buffer, want 320", cap(*b))
	}
}

// TestBufferPoolTiers: every size up to the largest tier gets the smallest
// tier that holds it, and a buffer put back lands in the tier Get takes it
// from.
func TestBufferPoolTiers(t *testing.T) {
	tests := []struct{ n, want int }{
		{0, 256}, {256, 256}, {257, 320}, {320, 320}, {321, 384}, {1024, 1024},
		{1029, 1280}, {1280, 1280}, {1281, 1536}, {1537, 1792}, {1793, 2048},
		{16384, 16384}, {16385, 20480}, {1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		if _, got := tier(tt.n); got != tt.want {
			t.Errorf("tier(%d) size %d, want %d", tt.n, got, tt.want)
		}
	}
	prevIndex, prevSize := 0, 256
	for n := 1; n <= 1<<20; n++ {
		i, size := tier(n)
		if size < n || i < 0 || i >= numTiers || tierOf(size) != i {
			t.Fatalf("tier(%d) = %d, %d; tierOf(%d) = %d", n, i, size, size, tierOf(size))
		}
		// A new tier starts right after the previous one's size.
		if i != prevIndex && (i != prevIndex+1 || n != prevSize+1) {
			t.Fatalf("tier(%d) = %d (size %d) after tier %d of size %d", n, i, size, prevIndex, prevSize)
		}
		prevIndex, prevSize = i, size
	}
	if prevIndex != numTiers-1 {
		t.Fatalf("the largest tier is %d, want %d", prevIndex, numTiers-1)
	}
}

func BenchmarkBufferPool(b *testing.B) {
	p := NewBufferPool()
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(16384))
	}
}
