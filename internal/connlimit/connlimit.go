package connlimit

import (
	"net"
	"sync"
	"sync/atomic"
)

// Limits are the caps of a Listener. A zero or negative field means no
// limit at that level.
type Limits struct {
	// Total caps the connections open at once.
	Total int
	// PerIP caps the connections open at once from one IP address.
	PerIP int
}

// Listener is a net.Listener that enforces Limits. Its Accept returns only
// connections within the limits; the others are closed at once and
// counted as refused. It is safe for concurrent use.
type Listener struct {
	net.Listener
	*counts
}

// counts are the connections of one or more listeners that share limits.
type counts struct {
	limits Limits

	open    atomic.Int64
	refused atomic.Int64

	mu    sync.Mutex
	perIP map[string]int // only with a PerIP limit
}

// New returns a Listener over ln that enforces limits.
func New(ln net.Listener, limits Limits) *Listener {
	return &Listener{Listener: ln, counts: &counts{limits: limits, perIP: map[string]int{}}}
}

// Share returns a Listener over ln that counts into l's limits: the
// connections of both (a cleartext and a TLS port, say) share one total
// and one per-IP cap.
func (l *Listener) Share(ln net.Listener) *Listener {
	return &Listener{Listener: ln, counts: l.counts}
}

// Open returns how many accepted connections are not closed yet, on every
// listener sharing l's limits.
func (l *Listener) Open() int64 { return l.open.Load() }

// Refused returns how many connections were closed at once for being over
// a limit, on every listener sharing l's limits.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Accept waits for the next connection within the limits. Errors of the
// underlying listener are returned as they are.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ipOf(c.RemoteAddr())
		if !l.admit(ip) {
			l.refused.Add(1)
			// Closed before anything is read: the client sees its
			// connection reset or closed, and may retry later.
			_ = c.Close()
			continue
		}
		return &conn{Conn: c, l: l.counts, ip: ip}, nil
	}
}

// admit counts a new connection from ip if it fits the limits.
func (l *counts) admit(ip string) bool {
	if l.limits.PerIP <= 0 {
		if n := l.open.Add(1); l.limits.Total > 0 && n > int64(l.limits.Total) {
			l.open.Add(-1)
			return false
		}
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip] >= l.limits.PerIP {
		return false
	}
	if n := l.open.Add(1); l.limits.Total > 0 && n > int64(l.limits.Total) {
		l.open.Add(-1)
		return false
	}
	l.perIP[ip]++
	return true
}

// release uncounts a closed connection from ip.
func (l *counts) release(ip string) {
	l.open.Add(-1)
	if l.limits.PerIP <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip] <= 1 {
		delete(l.perIP, ip) // the map holds only clients with connections
	} else {
		l.perIP[ip]--
	}
}

// ipOf is the address a per-IP limit counts a connection under.
func ipOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// conn uncounts itself once, on its first Close.
type conn struct {
	net.Conn
	l      *counts
	ip     string
	closed atomic.Bool
}

// NetConn returns the counted connection, as tls.Conn.NetConn does.
func (c *conn) NetConn() net.Conn { return c.Conn }

// Buffered returns 0: the connection reads straight from NetConn.
func (c *conn) Buffered() int { return 0 }

// Close closes the connection and frees its place.
func (c *conn) Close() error {
	err := c.Conn.Close()
	if !c.closed.Swap(true) {
		c.l.release(c.ip)
	}
	return err
}

// Defaults returns limits derived from the process's file descriptor limit
// (RLIMIT_NOFILE, which the Go runtime raises to its hard limit at start):
// 80% of it in total, leaving room for the store, the admin port and
// backend connections, and a tenth of that per IP address. Without a
// readable limit it returns Limits{Total: 8000, PerIP: 800}.
func Defaults() Limits {
	n, err := FileLimit()
	if err != nil || n <= 0 {
		n = 10000
	}
	total := max(int(n*8/10), 1)
	return Limits{Total: total, PerIP: max(total/10, 1)}
}
