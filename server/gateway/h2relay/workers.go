package h2relay

import "sync"

// workerRenewal is how many streams a worker serves before its goroutine
// ends (the next stream starts a fresh one), so that a stack grown by one
// deep call shrinks.
const workerRenewal = 1 << 14

// workerPool runs streams on reused goroutines (WithStreamWorkers). Idle
// workers are a stack: the worker that finished last serves the next
// stream. With a FIFO of idle workers (a channel that all of them wait
// on), calls rotated through every worker, and the collector shrank
// each stack between two of its calls, so that most calls grew their
// worker's stack again, copying it several times, and every collection
// scanned every worker; the stack keeps a few warm ones in use.
type workerPool struct {
	max int              // the most workers; 0: none
	run func(st *Stream) // serves a stream: (*Stream).run

	mu      sync.Mutex
	idle    []*worker // the most recently idle last
	running int       // workers whose goroutine has not ended
	closed  bool
}

// worker is one worker's goroutine, idle or serving a stream.
type worker struct {
	next chan *Stream // the stream to serve next; closed by workerPool.close
}

// start runs st on an idle worker, or on a new one if fewer than max are
// running, and reports whether it did.
func (p *workerPool) start(st *Stream) bool {
	if p.max <= 0 {
		return false
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.next <- st // never blocks: an idle worker's channel is empty
		return true
	}
	if p.closed || p.running >= p.max {
		p.mu.Unlock()
		return false
	}
	p.running++
	p.mu.Unlock()
	go p.serve(st)
	return true
}

// serve runs st, then the streams it is given while idle, until the pool
// is closed or workerRenewal streams were served.
func (p *workerPool) serve(st *Stream) {
	w := &worker{next: make(chan *Stream, 1)}
	for served := 1; ; served++ {
		p.run(st)
		p.mu.Lock()
		if p.closed || served >= workerRenewal {
			p.running--
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		var ok bool
		if st, ok = <-w.next; !ok {
			return
		}
	}
}

// close ends the idle workers; busy ones end after their stream, and no
// new one starts.
func (p *workerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		close(w.next)
	}
	p.idle = nil
}
