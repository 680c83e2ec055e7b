package rawsock

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// maxChunk bounds the bytes one system call moves, so that a large
// write (a socket buffer of megabytes) does not hold the thread's P in
// the kernel for long: between chunks the goroutine can be preempted.
const maxChunk = 256 << 10

// Conn is a socket that reads and writes without entering the
// scheduler's system call state (see the package documentation). Its
// other methods are the socket's.
type Conn struct {
	net.Conn
	rc syscall.RawConn
	// rd and wr hold each direction's callback and its arguments and
	// results, made once per connection: a closure made per call escapes
	// to the heap through syscall.RawConn, two allocations a read and
	// a write.
	rd, wr rawOp
}

// rawOp is one direction's callback for syscall.RawConn with its
// arguments and results. mu serialises the callers of that direction
// (the net package's descriptor lock already does inside the call, and
// one goroutine per direction is the rule anyway).
type rawOp struct {
	mu    sync.Mutex
	p     []byte
	done  int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

// socket is what a wrapped connection must be: a socket of the net
// package (*net.TCPConn, *net.UnixConn).
type socket interface {
	net.Conn
	SyscallConn() (syscall.RawConn, error)
}

// Wrap returns c as a *Conn if c is a non-blocking socket of the net
// package (*net.TCPConn or *net.UnixConn) on a platform where raw reads
// and writes are supported, else c itself.
func Wrap(c net.Conn) net.Conn {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return c
	}
	s := c.(socket)
	rc, err := s.SyscallConn()
	if err != nil || !supported(rc) {
		return c
	}
	w := &Conn{Conn: c, rc: rc}
	w.rd.fn, w.wr.fn = w.rd.read, w.wr.write
	return w
}

// read is a read's callback: one read(2), or a wait for readiness.
func (o *rawOp) read(fd uintptr) bool {
	o.done, o.errno = ReadFD(int(fd), o.p)
	return o.errno != syscall.EAGAIN
}

// write is a write's callback: write(2) until all of o.p is written, an
// error, or a wait for room.
func (o *rawOp) write(fd uintptr) bool {
	for o.done < len(o.p) {
		n, errno := WriteFD(int(fd), o.p[o.done:min(len(o.p), o.done+maxChunk)])
		switch {
		case errno == syscall.EAGAIN:
			return false
		case errno != 0 || n <= 0:
			o.errno = errno
			return true
		}
		o.done += n
	}
	return true
}

// run runs the direction's callback on p through call (the RawConn's
// Read or Write) and returns what it did.
func (o *rawOp) run(call func(func(fd uintptr) bool) error, p []byte) (int, syscall.Errno, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.p, o.done, o.errno = p, 0, 0
	err := call(o.fn)
	o.p = nil
	return o.done, o.errno, err
}

// RawConn returns the socket's syscall.RawConn.
func (c *Conn) RawConn() syscall.RawConn { return c.rc }

// SyscallConn returns the socket's syscall.RawConn (for socket options).
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// NetConn returns the socket.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// CloseWrite shuts down the writing side of the socket.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// CloseRead shuts down the reading side of the socket.
func (c *Conn) CloseRead() error {
	if cr, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return cr.CloseRead()
	}
	return c.Conn.Close()
}

// Read reads up to len(p) bytes, waiting in the poller while the socket
// is empty.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	if len(p) > maxChunk {
		p = p[:maxChunk]
	}
	n, errno, err := c.rd.run(c.rc.Read, p)
	switch {
	case err != nil:
		// A deadline or Close: the net package reads again and reports
		// it in its own words (both persist).
		return c.Conn.Read(p)
	case errno != 0:
		return 0, OpError(c, "read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting in the poller while the socket's
// buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Write(p)
	}
	done, errno, err := c.wr.run(c.rc.Write, p)
	switch {
	case err != nil:
		// A deadline or Close: the net package writes the rest and
		// reports it in its own words (both persist).
		n, err := c.Conn.Write(p[done:])
		return done + n, err
	case errno != 0:
		return done, OpError(c, "write", errno)
	case done < len(p):
		return done, OpError(c, "write", syscall.EIO)
	}
	return done, nil
}

// OpError reports errno from op ("read", "write") on c as the net
// package reports a failed read or write. A socket's pending error (a
// reset, a broken pipe) is consumed by the call that returns it, so a
// raw read or write that got one cannot leave it to the net.Conn to
// report.
func OpError(c net.Conn, op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
}

// listener wraps the connections a net.Listener accepts.
type listener struct{ net.Listener }

// Listener returns ln, whose accepted sockets are wrapped with Wrap.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

// Accept accepts the next connection and wraps it.
func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// Dialer returns dial, whose connections are wrapped with Wrap.
func Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Wrap(c), nil
	}
}
