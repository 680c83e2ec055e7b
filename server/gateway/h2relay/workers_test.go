package h2relay

import (
	"testing"
	"time"
)

// TestWorkerPool checks that workers start when needed up to the limit,
// that the worker which finished last serves the next stream, and that
// closing the pool ends the idle workers and starts no more.
func TestWorkerPool(t *testing.T) {
	ran := make(chan *Stream)
	release := make(chan struct{})
	p := &workerPool{max: 2, run: func(st *Stream) {
		ran <- st
		<-release
	}}
	a, b, c, d := &Stream{}, &Stream{}, &Stream{}, &Stream{}
	for _, st := range []*Stream{a, b} {
		if !p.start(st) {
			t.Fatalf("start: no worker for stream %p with fewer than max busy", st)
		}
		if got := <-ran; got != st {
			t.Fatalf("worker ran %p, want %p", got, st)
		}
	}
	if p.start(c) {
		t.Fatal("start: a third worker with max 2")
	}
	// Finish one stream, then the other: the second to finish is on top.
	release <- struct{}{}
	first := waitIdle(t, p, 1)
	release <- struct{}{}
	second := waitIdle(t, p, 2)
	if first == second {
		t.Fatal("the same worker is idle twice")
	}
	if !p.start(d) {
		t.Fatal("start: no worker with two idle")
	}
	if got := <-ran; got != d {
		t.Fatalf("worker ran %p, want %p", got, d)
	}
	p.mu.Lock()
	if len(p.idle) != 1 || p.idle[0] != first {
		t.Errorf("idle after a start: %v, want the worker that finished first (%p)", p.idle, first)
	}
	p.mu.Unlock()

	p.close()
	release <- struct{}{} // d's worker ends after its stream
	if p.start(&Stream{}) {
		t.Error("start: a worker after close")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 0 {
		t.Errorf("%d idle workers after close", len(p.idle))
	}
}

// TestWorkerPoolNone checks that a pool without workers runs nothing.
func TestWorkerPoolNone(t *testing.T) {
	var p workerPool
	if p.start(&Stream{}) {
		t.Fatal("start: a worker with max 0")
	}
	p.close()
}

// waitIdle waits until n workers are idle and returns the last to become
// idle.
func waitIdle(t *testing.T, p *workerPool, n int) *worker {
	t.Helper()
	for {
		p.mu.Lock()
		if len(p.idle) == n {
			w := p.idle[n-1]
			p.mu.Unlock()
			return w
		}
		p.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}
