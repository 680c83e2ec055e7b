package websocket

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/tollgate-gw/tollgate/internal/clock"
)

// Close codes the gateway sends (RFC 6455 section 7.4.1).
const (
	// CloseNormal ends a connection deleted through the callback API.
	CloseNormal = websocket.StatusNormalClosure
	// CloseGoingAway ends a connection on idle timeout, maximum duration,
	// missed pings and gateway shutdown.
	CloseGoingAway = websocket.StatusGoingAway
	// ClosePolicyViolation ends a connection whose send queue overflowed.
	ClosePolicyViolation = websocket.StatusPolicyViolation
	// CloseAbnormal is reported to $disconnect when the connection ended
	// without a close frame (the client vanished).
	CloseAbnormal = websocket.StatusAbnormalClosure
	// CloseInvalidPayload ends a connection that sent a text message that
	// is not valid UTF-8 (RFC 6455 section 8.1).
	CloseInvalidPayload = websocket.StatusInvalidFramePayloadData
)

// Close reasons the gateway sends.
const (
	ReasonIdle        = "idle timeout"
	ReasonMaxDuration = "maximum connection duration"
	ReasonOverflow    = "send queue overflow"
	ReasonPing        = "keepalive ping unanswered"
	ReasonShutdown    = "gateway shutting down"
	ReasonDeleted     = "closed through the callback API"
	ReasonStageGone   = "stage no longer deployed"
	ReasonInvalidUTF8 = "text message is not valid UTF-8"
)

// Info describes a connection. It is fixed once the connection is served.
type Info struct {
	// ID is the connection's ID.
	ID string
	// API and Stage are resource names.
	API, Stage string
	// SourceIP is the client's address.
	SourceIP string
	// UserAgent is the client's User-Agent header.
	UserAgent string
	// Principal is the identity an authorizer established at $connect.
	Principal string
	// AuthorizerContext is the context a custom authorizer returned.
	AuthorizerContext map[string]string
	// APIKey is the resource name of the API key used at $connect.
	APIKey string
	// CallbackURL is the stage's callback API base URL as this client
	// reached the gateway, "…/@connections".
	CallbackURL string
	// ConnectedAt is when the upgrade was accepted.
	ConnectedAt time.Time
}

// Conn is one live WebSocket connection.
type Conn struct {
	Info
	// Data is the data plane's own state of the connection, opaque here.
	Data any

	reg        *Registry
	sh         *shard
	ws         *websocket.Conn
	limits     Limits
	lastActive atomic.Int64 // unix nanoseconds
	inflight   chan struct{}

	mu          sync.Mutex
	queue       []outMsg
	writing     bool
	closed      bool
	closeCode   websocket.StatusCode
	closeReason string

	groups []string // guarded by sh.mu

	// One runtime timer (~140 B) times the idle timeout, the maximum
	// duration and the keepalive: it fires at the earliest deadline and
	// is re-armed for the next.
	timer    clock.Timer // guarded by mu
	endAt    time.Time   // maximum duration; zero: none; guarded by mu
	pingAt   time.Time   // next keepalive; zero: none; guarded by mu
	pinging  bool        // a ping awaits its pong; guarded by mu
	pingOwed bool        // pinging before Serve: ping when served; guarded by mu
	pingDone func()      // ends sendPing's wait for its pong; guarded by mu
	pongs    atomic.Int64
}

// outMsg is a message waiting to be written.
type outMsg struct {
	data   []byte
	binary bool
}

// NewID returns an unguessable connection ID: 16 random bytes, URL-safe
// base64 without padding (22 characters).
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("websocket: connection id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// LastActive returns when the last data message was read or queued.
func (c *Conn) LastActive() time.Time { return time.Unix(0, c.lastActive.Load()) }

// Groups returns the connection's groups, sorted.
func (c *Conn) Groups() []string {
	c.sh.mu.RLock()
	defer c.sh.mu.RUnlock()
	out := slices.Clone(c.groups)
	slices.Sort(out)
	return out
}

// touch records activity.
func (c *Conn) touch() { c.lastActive.Store(c.reg.clock.Now().UnixNano()) }

// Send queues a message for the client and returns at once. It fails with
// ErrGone once the connection is closing, and with ErrQueueFull when the
// client reads too slowly: the connection is then closed with 1008.
func (c *Conn) Send(data []byte, binary bool) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrGone
	}
	if len(c.queue) >= c.limits.SendQueueSize {
		c.mu.Unlock()
		c.reg.logger.Warn("websocket client too slow; disconnecting", "connection_id", c.ID, "stage", c.Stage, "queued", c.limits.SendQueueSize)
		c.Close(ClosePolicyViolation, ReasonOverflow)
		return ErrQueueFull
	}
	c.queue = append(c.queue, outMsg{data: data, binary: binary})
	start := !c.writing && c.ws != nil // before Serve, the queue waits
	c.writing = c.writing || start
	c.mu.Unlock()
	c.touch()
	if start {
		go c.writeLoop()
	}
	return nil
}

// writeLoop writes queued messages until the queue is empty, then exits:
// an idle connection has no writer goroutine.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 || c.closed {
			c.queue, c.writing = nil, false
			c.mu.Unlock()
			return
		}
		m := c.queue[0]
		c.queue[0] = outMsg{}
		c.queue = c.queue[1:]
		c.mu.Unlock()
		typ := websocket.MessageText
		if m.binary {
			typ = websocket.MessageBinary
		}
		// No deadline: a client too slow to take a write fills its queue
		// and is closed on overflow, a dead one misses its ping; either
		// close unblocks the write.
		err := c.ws.Write(context.Background(), typ, m.data)
		if err != nil {
			// The library closed the connection; the reader sees it.
			c.Close(CloseAbnormal, "")
		}
	}
}

// Close starts closing the connection with a close code and reason. It
// returns at once; the connection's reader then unregisters it and runs
// $disconnect exactly once. Only the first Close (or client close) counts.
func (c *Conn) Close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closeCode, c.closeReason = true, code, reason
	ws := c.ws
	c.mu.Unlock()
	c.stopTimers()
	if ws == nil {
		return // not served yet: Serve closes it
	}
	go func() {
		if code == CloseAbnormal {
			_ = ws.CloseNow()
			return
		}
		_ = ws.Close(code, reason)
	}()
}

// stopTimers stops the connection's timer.
func (c *Conn) stopTimers() {
	c.mu.Lock()
	t := c.timer
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// startTimers arms the idle, maximum-duration and keepalive deadlines, when
// the connection is registered: its time counts from then, and a client
// that sees the upgrade succeed sees a connection already timed. The timer
// is a runtime timer (with the system clock): no goroutine runs until it
// fires.
func (c *Conn) startTimers() {
	now := c.reg.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	// A zero limit is none (LimitsOf always fills them in).
	if c.limits.MaxDuration > 0 {
		c.endAt = now.Add(c.limits.MaxDuration)
	}
	if c.limits.PingInterval > 0 {
		c.pingAt = now.Add(c.limits.PingInterval)
	}
	if d, ok := c.nextDeadline(now); ok {
		c.timer = c.reg.clock.AfterFunc(d, c.onTimer)
	}
}

// nextDeadline returns how long until the earliest deadline, and false if
// there is none. The idle deadline follows the last activity: the hot path
// (each message) only stores a timestamp. c.mu must be held.
func (c *Conn) nextDeadline(now time.Time) (time.Duration, bool) {
	var next time.Time
	for _, t := range [...]time.Time{c.endAt, c.pingAt, c.idleAt()} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next.Sub(now), !next.IsZero()
}

// idleAt returns when the connection becomes idle, zero without an idle
// timeout.
func (c *Conn) idleAt() time.Time {
	if c.limits.IdleTimeout <= 0 {
		return time.Time{}
	}
	return c.LastActive().Add(c.limits.IdleTimeout)
}

// onTimer runs at a deadline: it closes a connection past its maximum
// duration or idle for the idle timeout, runs the keepalive when due, and
// re-arms for the next deadline.
func (c *Conn) onTimer() {
	now := c.reg.clock.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	var reason string
	switch {
	case !c.endAt.IsZero() && !now.Before(c.endAt):
		reason = ReasonMaxDuration
	case !c.idleAt().IsZero() && !now.Before(c.idleAt()):
		reason = ReasonIdle
	}
	var ping *websocket.Conn
	if reason == "" && !c.pingAt.IsZero() && !now.Before(c.pingAt) {
		// The previous ping is still unanswered: close; else ping the
		// client (without waiting for the pong, so that the timer's
		// goroutine never blocks). A connection not served yet is
		// pinged as soon as it is.
		if c.pinging {
			reason = ReasonPing
		} else {
			c.pinging = true
			c.pingOwed = c.ws == nil
			ping = c.ws
			c.pingAt = now.Add(c.limits.PingInterval)
		}
	}
	if reason == "" {
		if d, ok := c.nextDeadline(now); ok {
			c.timer.Reset(d)
		}
	}
	c.mu.Unlock()
	if reason != "" {
		c.Close(CloseGoingAway, reason)
		return
	}
	if ping != nil {
		go c.sendPing(ping)
	}
}

// sendPing pings the client and records its pong. It returns on the pong,
// or when the connection closes (at the latest at the next interval, as
// the ping is then unanswered).
//
// The connection's reader may take the pong itself (see takePong): it then
// cancels the wait through c.pingDone.
func (c *Conn) sendPing(ws *websocket.Conn) {
	ctx := pongWait{Context: context.Background(), done: make(chan struct{})}
	var once sync.Once
	cancel := func() { once.Do(func() { close(ctx.done) }) }
	defer cancel()
	c.mu.Lock()
	c.pingDone = cancel
	c.mu.Unlock()
	if err := ws.Ping(ctx); err != nil {
		return
	}
	c.ponged()
}

// pongWait is the context of a ping's wait for its pong, done when its
// channel is closed. The library closes the connection when the context of
// a write is done before the write has let go of it (it watches it with
// context.AfterFunc), and the reader may take the pong, and end the wait,
// that early. pongWait refuses such watches, so that being done only ends
// the wait: a ping's write has no timeout, as with context.Background. It
// is not derived from a cancelable context, which context.AfterFunc would
// watch directly.
type pongWait struct {
	context.Context // Background: no deadline, no values
	done            chan struct{}
}

// Done returns the channel closed when the wait ends.
func (p pongWait) Done() <-chan struct{} { return p.done }

// Err returns context.Canceled once the wait has ended.
func (p pongWait) Err() error {
	select {
	case <-p.done:
		return context.Canceled
	default:
		return nil
	}
}

// AfterFunc never calls f: see pongWait. context.AfterFunc uses it.
func (pongWait) AfterFunc(func()) func() bool { return func() bool { return true } }

// ponged records the client's pong.
func (c *Conn) ponged() {
	c.mu.Lock()
	c.pinging = false
	done := c.pingDone
	c.pingDone = nil
	c.mu.Unlock()
	if done != nil {
		done()
	}
	c.pongs.Add(1)
}

// closeStatus returns the close code and reason $disconnect reports: the
// gateway's own when it closed the connection, else the client's close
// frame, else 1006 (or 1009 for an oversize message).
func (c *Conn) closeStatus(readErr error) (int, string) {
	c.mu.Lock()
	closed, code, reason := c.closed, c.closeCode, c.closeReason
	c.closed = true
	c.mu.Unlock()
	if closed && code != CloseAbnormal {
		return int(code), reason
	}
	var ce websocket.CloseError
	if errors.As(readErr, &ce) {
		return int(ce.Code), ce.Reason
	}
	if errors.Is(readErr, websocket.ErrMessageTooBig) {
		return int(websocket.StatusMessageTooBig), "message too big"
	}
	return int(CloseAbnormal), ""
}
