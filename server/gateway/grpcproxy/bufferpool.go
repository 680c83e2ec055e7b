package grpcproxy

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// Buffer sizes pooled by BufferPool: 256 B to 1 MiB, by powers of two and
// three sizes between each two (quarter steps: 1 KiB, 1.25, 1.5, 1.75,
// 2 KiB...).
const (
	minPooledShift = 8
	maxPooledShift = 20
	// stepsPerShift is how many sizes each power of two starts.
	stepsPerShift = 4
	numTiers      = (maxPooledShift-minPooledShift)*stepsPerShift + 1
)

// BufferPool is the gRPC buffer pool of the gateway's client and server
// transports. It is grpc-go's tiered pool without zeroing: grpc-go clears
// every pooled buffer's whole capacity when it hands it out, which for a
// proxy that only relays bytes is most of the cost of receiving a message
// (a 16 KiB clear per DATA frame). Not zeroing is safe here because gRPC
// fills every buffer it gets up to the length it asked for before anyone
// reads it, and the proxy never looks past a message's length.
//
// Its sizes are a quarter of a power of two apart, not a power of two: a
// stream's unread DATA frames wait in these buffers (up to the stream's
// window), and a frame of one 1 KiB message (1,029 bytes) took a 2 KiB
// buffer, doubling what a stalled stream holds; it now takes 1.25 KiB.
type BufferPool struct {
	tiers [numTiers]sync.Pool
}

var _ mem.BufferPool = (*BufferPool)(nil)

// NewBufferPool returns an empty pool.
func NewBufferPool() *BufferPool { return &BufferPool{} }

// tier returns the index and size of the smallest tier holding n bytes, or
// -1.
func tier(n int) (int, int) {
	if n > 1<<maxPooledShift {
		return -1, 0
	}
	if n <= 1<<minPooledShift {
		return 0, 1 << minPooledShift
	}
	// 2^shift < n <= 2^(shift+1): the tiers 2^shift × (1 + j/4), j = 1..4.
	shift := bits.Len(uint(n-1)) - 1
	step := 1 << (shift - 2)
	j := (n - 1<<shift + step - 1) / step
	return (shift-minPooledShift)*stepsPerShift + j, 1<<shift + j*step
}

// tierOf returns the index of the tier of buffers of capacity c, or -1 if
// c is not a tier's size.
func tierOf(c int) int {
	if c < 1<<minPooledShift || c > 1<<maxPooledShift {
		return -1
	}
	if t, size := tier(c); size == c {
		return t
	}
	return -1
}

// Get returns a buffer of length n, possibly with old contents.
func (p *BufferPool) Get(n int) *[]byte {
	t, size := tier(n)
	if t < 0 {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, size)
	return &b
}

// Put returns a buffer obtained from Get. Buffers of other capacities are
// left to the garbage collector.
func (p *BufferPool) Put(b *[]byte) {
	if t := tierOf(cap(*b)); t >= 0 {
		p.tiers[t].Put(b)
	}
}
