// Package rawsock reads and writes the gateway's sockets without
// entering the Go scheduler's system call state.
//
// The net package reads and writes a socket with syscall.Read and
// syscall.Write, which tell the scheduler that the thread may block
// (entersyscall). The first such call after all of the process's Ps went
// idle wakes the runtime's monitor thread (sysmon) from its deep sleep,
// and a monitor woken that way polls every 20 µs for the next
// millisecond or more (golang/go#18236). A proxy's Ps go idle between
// bursts of frames many times a millisecond, so the monitor never slept
// long: it was 8–9 % of the gateway's CPU at 64 concurrent unary calls on
// one core, and waking it cost every burst's first read a futex call.
//
// The sockets the net package makes are non-blocking, so a read or write
// on them never waits: there is nothing for the scheduler to hand the P
// away for (golang/go#29734 proposed a variant of syscall.Syscall for
// such calls). A Conn reads and writes with syscall.RawSyscall instead,
// inside the socket's syscall.RawConn, which waits for readiness in the
// runtime's poller as net.Conn does and honours deadlines and Close the
// same way. Any other outcome than bytes or EAGAIN (end of stream, an
// error, a deadline) is read or written again through the net.Conn, so
// callers see exactly the errors the net package reports.
//
// Under the race detector, a raw read or write does not order memory as
// syscall.Read and Write do (they synchronize through the runtime's
// ioSync): that matters only to code passing memory between goroutines of
// one process through a socket, which the gateway does not do.
//
// Wrap is applied where a socket is made: the data and admin listeners
// and the backend connections the gateway dials, beneath every other
// wrapper (TLS, PROXY protocol, connection limits).
package rawsock
