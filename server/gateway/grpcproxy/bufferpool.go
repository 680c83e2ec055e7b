package grpcproxy

import (
	"math/bits"
	"sync"

	"google.golang.org/grpc/mem"
)

// Buffer sizes pooled by BufferPool: 256 B to 1 MiB, by powers of two.
const (
	minPooledShift = 8
	maxPooledShift = 20
)

// BufferPool is the gRPC buffer pool of the gateway's client and server
// transports. It is grpc-go's tiered pool without zeroing: grpc-go clears
// every pooled buffer's whole capacity when it hands it out, which for a
// proxy that only relays bytes is most of the cost of receiving a message
// (a 16 KiB clear per DATA frame). Not zeroing is safe here because gRPC
// fills every buffer it gets up to the length it asked for before anyone
// reads it, and the proxy never looks past a message's length.
type BufferPool struct {
	tiers [maxPooledShift - minPooledShift + 1]sync.Pool
}

var _ mem.BufferPool = (*BufferPool)(nil)

// NewBufferPool returns an empty pool.
func NewBufferPool() *BufferPool { return &BufferPool{} }

// tier returns the index of the smallest tier holding n bytes, or -1.
func tier(n int) int {
	if n > 1<<maxPooledShift {
		return -1
	}
	shift := max(bits.Len(uint(n-1)), minPooledShift)
	if n <= 1 {
		shift = minPooledShift
	}
	return shift - minPooledShift
}

// Get returns a buffer of length n, possibly with old contents.
func (p *BufferPool) Get(n int) *[]byte {
	t := tier(n)
	if t < 0 {
		b := make([]byte, n)
		return &b
	}
	if b, ok := p.tiers[t].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(t+minPooledShift))
	return &b
}

// Put returns a buffer obtained from Get. Buffers of other capacities are
// left to the garbage collector.
func (p *BufferPool) Put(b *[]byte) {
	c := cap(*b)
	if c < 1<<minPooledShift || c > 1<<maxPooledShift || c&(c-1) != 0 {
		return
	}
	p.tiers[bits.Len(uint(c))-1-minPooledShift].Put(b)
}
