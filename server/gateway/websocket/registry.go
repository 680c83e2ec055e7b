package websocket

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/tollgate-gw/tollgate/internal/clock"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

// shardCount spreads the registry's locks: connects, disconnects and
// lookups of different connections rarely contend.
const shardCount = 64

// groupPattern is what a group name may be.
var groupPattern = lazyregexp.New(`^[A-Za-z0-9_.:-]{1,128}$`)

// Option configures a Registry.
type Option func(*Registry)

// WithLogger sets the logger. The default discards logs.
func WithLogger(l *slog.Logger) Option {
	return func(r *Registry) {
		if l != nil {
			r.logger = l
		}
	}
}

// WithClock sets the clock that times connections (idle, maximum
// duration, keepalive) and stamps their activity. The default is
// clock.Real; tests move a testkit.Clock instead of sleeping.
func WithClock(c clock.Clock) Option {
	return func(r *Registry) {
		if c != nil {
			r.clock = c
		}
	}
}

// WithFleet shares the registry's connections with the other nodes of a
// fleet (nil: none). The registry attaches itself to f when made.
func WithFleet(f Fleet) Option {
	return func(r *Registry) { r.fleet = f }
}

// Registry holds every live connection of the gateway, by ID, by stage and
// by group. The zero value is not usable; use NewRegistry.
type Registry struct {
	logger  *slog.Logger
	clock   clock.Clock
	fleet   Fleet // nil: connections are this node's alone
	seed    maphash.Seed
	shards  [shardCount]shard
	serving tracker // connections being served and their handlers
	closing atomic.Bool
	count   atomic.Int64
	// readBufs lends read buffers to connections reading a message.
	readBufs readBuffers
}

// shard is one part of the registry.
type shard struct {
	mu     sync.RWMutex
	conns  map[string]*Conn
	stages map[string]map[*Conn]struct{}
	groups map[groupKey]map[*Conn]struct{}
}

// snapshot returns the shard's connections at one moment, so that the
// caller can act on them (close them, read them) without holding the lock.
func (sh *shard) snapshot() []*Conn {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	conns := make([]*Conn, 0, len(sh.conns))
	for _, c := range sh.conns {
		conns = append(conns, c)
	}
	return conns
}

// groupKey names a group of a stage.
type groupKey struct{ stage, group string }

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{logger: slog.New(slog.DiscardHandler), clock: clock.Real, seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(r)
	}
	for i := range r.shards {
		r.shards[i] = shard{conns: map[string]*Conn{}, stages: map[string]map[*Conn]struct{}{}, groups: map[groupKey]map[*Conn]struct{}{}}
	}
	if r.fleet != nil {
		r.fleet.Attach(r)
	}
	return r
}

// shardOf returns the shard of a connection ID.
func (r *Registry) shardOf(id string) *shard {
	return &r.shards[maphash.String(r.seed, id)%shardCount]
}

// Len returns the number of live connections.
func (r *Registry) Len() int { return int(r.count.Load()) }

// Get returns a live connection.
func (r *Registry) Get(id string) (*Conn, bool) {
	sh := r.shardOf(id)
	sh.mu.RLock()
	c, ok := sh.conns[id]
	sh.mu.RUnlock()
	return c, ok
}

// Handlers are what the data plane does with a connection's events.
type Handlers struct {
	// Message handles one data message in its own goroutine; at most
	// MaxInFlight run at once per connection. Nil drops messages.
	Message func(c *Conn, data []byte, binary bool)
	// Disconnect runs exactly once per served connection, after it is
	// closed and unregistered, with the close code and reason. Nil does
	// nothing.
	Disconnect func(c *Conn, code int, reason string)
}

// Register registers a connection about to be accepted, with its groups,
// so that it is reachable through the callback API as soon as the client
// sees the upgrade succeed. Messages sent to it wait in its queue until
// Start. Follow it with Start, or with Abort if the upgrade fails.
func (r *Registry) Register(info Info, limits Limits, data any, groups []string) *Conn {
	c := &Conn{Info: info, Data: data, reg: r, sh: r.shardOf(info.ID), limits: limits, inflight: make(chan struct{}, MaxInFlight)}
	c.touch()
	r.add(c)
	for _, g := range groups {
		if groupPattern.MatchString(g) {
			_ = r.join(c, g) // past MaxGroups, the rest are ignored
		}
	}
	c.startTimers()
	// Known to the fleet before the client learns it is connected.
	r.save(c, true)
	return c
}

// Abort unregisters a connection whose upgrade failed; $disconnect does
// not run, as the client never connected.
func (r *Registry) Abort(c *Conn) {
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	c.stopTimers()
	r.remove(c)
	r.forget(c)
}

// Start serves a registered connection over an accepted WebSocket until it
// closes, in a new goroutine: reading messages, enforcing the limits, and
// finally calling h.Disconnect exactly once, whatever ended the
// connection. The upgrade request's handler should return at once: the
// HTTP server then frees the request, its buffers and its (deep) stack.
func (r *Registry) Start(c *Conn, ws *websocket.Conn, h Handlers) {
	r.start(c, ws, h, nil)
}

// start is Start with what the reader waits for the client with (nil:
// it reads at once).
func (r *Registry) start(c *Conn, ws *websocket.Conn, h Handlers, idle *idleWait) {
	r.serving.add()
	go func() {
		defer r.serving.done()
		r.serve(c, ws, h, idle)
	}()
}

// serve starts the reader loop of a connection.
func (r *Registry) serve(c *Conn, ws *websocket.Conn, h Handlers, idle *idleWait) {
	ws.SetReadLimit(c.limits.MaxMessageBytes)
	c.mu.Lock()
	c.ws = ws
	closed, code, reason := c.closed, c.closeCode, c.closeReason
	start := !closed && len(c.queue) > 0
	c.writing = c.writing || start
	ping := !closed && c.pingOwed
	c.pingOwed = false
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	if ping {
		go c.sendPing(ws)
	}
	switch {
	case closed:
		// Closed (e.g. deleted) between registration and the upgrade.
		go func() { _ = ws.Close(code, reason) }()
	case r.closing.Load():
		c.Close(CloseGoingAway, ReasonShutdown)
	}
	r.read(&reader{c: c, ws: ws, h: h, idle: idle}, true)
}

// reader is a connection's reader loop, which moves from goroutine to
// goroutine (see read).
type reader struct {
	c       *Conn
	ws      *websocket.Conn
	h       Handlers
	idle    *idleWait
	invalid bool // a text message was not UTF-8: nothing more is handled
}

// read reads messages until the connection ends, then ends it. Before
// reading, it waits for the client at a shallow stack depth when nothing
// is buffered (see idleWait). Reading a message grows a goroutine's stack
// to 4 KiB for good, so a goroutine that has read one (fresh false) does
// not wait itself: it hands the loop to a new goroutine, whose stack is
// small, and ends. Over TLS, looking into the tls.Conn (drainNow, fill)
// goes as deep, so the goroutine that did waits no more either.
func (r *Registry) read(rd *reader, fresh bool) {
	for {
		rc, drain := rd.waitable()
		if drain {
			rd.idle.pr.drainNow()
			fresh = false
			// nil: bytes (or an error) to read, or closing.
			rc, _ = rd.waitable()
		}
		if rc != nil {
			if !fresh {
				r.serving.add()
				go func() {
					defer r.serving.done()
					r.read(rd, true)
				}()
				return
			}
			waitReadable(rc)
			if rd.idle.overTLS() {
				// Records came: decrypt what there is, which may be a
				// keepalive pong to take without the library's reader.
				rd.idle.pr.fill()
				fresh = false
				if rd.idle.pr.takePong() {
					rd.c.ponged()
				}
				continue
			}
			if takePong(rc) {
				// A keepalive answered: no need for the library's reader
				// (which would then wait for the next frame deep in its
				// stack).
				rd.c.ponged()
				continue
			}
		}
		fresh = false
		typ, msg, err := rd.ws.Read(context.Background())
		if err != nil {
			r.finish(rd, err)
			return
		}
		r.handle(rd, typ, msg)
	}
}

// waitable returns the socket to wait on before reading, or nil to read at
// once: when bytes are buffered, or when the connection is closing (the
// library's Close then reads the client's close frame itself, and the
// buffers must not be looked at concurrently: c.closed orders the two).
// drain reports that a *tls.Conn must be drained first (see idleWait).
func (rd *reader) waitable() (rc syscall.RawConn, drain bool) {
	if rd.idle == nil {
		return nil, false
	}
	c := rd.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, false
	}
	return rd.idle.rawConn()
}

// handle hands a message to h.Message in its own goroutine.
func (r *Registry) handle(rd *reader, typ websocket.MessageType, msg []byte) {
	c := rd.c
	c.touch()
	if typ == websocket.MessageText && !utf8.Valid(msg) {
		// Never handed to a backend; the reader goes on until the
		// close handshake ends.
		c.Close(CloseInvalidPayload, ReasonInvalidUTF8)
		rd.invalid = true
	}
	if rd.h.Message == nil || rd.invalid {
		return
	}
	c.inflight <- struct{}{}
	r.serving.add()
	go func() {
		defer r.serving.done()
		defer func() { <-c.inflight }()
		rd.h.Message(c, msg, typ == websocket.MessageBinary)
	}()
}

// finish ends a connection whose reader failed with readErr: it
// unregisters it and calls h.Disconnect once its messages are handled.
func (r *Registry) finish(rd *reader, readErr error) {
	c, ws, h := rd.c, rd.ws, rd.h
	code2, reason2 := c.closeStatus(readErr)
	c.stopTimers()
	_ = ws.CloseNow()
	r.remove(c)
	r.forget(c)
	// Messages being handled finish before $disconnect.
	for range MaxInFlight {
		c.inflight <- struct{}{}
	}
	if h.Disconnect != nil {
		h.Disconnect(c, code2, reason2)
	}
}

// add registers a connection.
func (r *Registry) add(c *Conn) {
	sh := c.sh
	sh.mu.Lock()
	sh.conns[c.ID] = c
	set := sh.stages[c.Stage]
	if set == nil {
		set = map[*Conn]struct{}{}
		sh.stages[c.Stage] = set
	}
	set[c] = struct{}{}
	sh.mu.Unlock()
	r.count.Add(1)
}

// remove unregisters a connection and its group memberships.
func (r *Registry) remove(c *Conn) {
	sh := c.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.conns[c.ID]; !ok {
		return
	}
	delete(sh.conns, c.ID)
	if set := sh.stages[c.Stage]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(sh.stages, c.Stage)
		}
	}
	for _, g := range c.groups {
		k := groupKey{c.Stage, g}
		if set := sh.groups[k]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(sh.groups, k)
			}
		}
	}
	c.groups = nil
	r.count.Add(-1)
}

// MaxGroups is how many groups one connection may belong to.
const MaxGroups = 64

// join adds a connection to a group. It fails with ErrGone for a
// connection no longer registered, and ErrInvalid past MaxGroups.
func (r *Registry) join(c *Conn, group string) error {
	sh := c.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.conns[c.ID] != c {
		return ErrGone
	}
	if slices.Contains(c.groups, group) {
		return nil
	}
	if len(c.groups) >= MaxGroups {
		return fmt.Errorf("%w: a connection belongs to at most %d groups", ErrInvalid, MaxGroups)
	}
	c.groups = append(c.groups, group)
	k := groupKey{c.Stage, group}
	set := sh.groups[k]
	if set == nil {
		set = map[*Conn]struct{}{}
		sh.groups[k] = set
	}
	set[c] = struct{}{}
	return nil
}

// leave removes a connection from a group.
func (r *Registry) leave(c *Conn, group string) bool {
	sh := c.sh
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.conns[c.ID] != c {
		return false
	}
	for i, g := range c.groups {
		if g == group {
			c.groups = append(c.groups[:i], c.groups[i+1:]...)
			break
		}
	}
	k := groupKey{c.Stage, group}
	if set := sh.groups[k]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(sh.groups, k)
		}
	}
	return true
}

// members returns the connections of a stage (group "") or of a group.
func (r *Registry) members(stage, group string) []*Conn {
	var out []*Conn
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		var set map[*Conn]struct{}
		if group == "" {
			set = sh.stages[stage]
		} else {
			set = sh.groups[groupKey{stage, group}]
		}
		for c := range set {
			out = append(out, c)
		}
		sh.mu.RUnlock()
	}
	return out
}

// CloseStage closes every connection of a stage, e.g. when the stage is
// no longer deployed.
func (r *Registry) CloseStage(stage string, code websocket.StatusCode, reason string) {
	for _, c := range r.members(stage, "") {
		c.Close(code, reason)
	}
}

// Stages returns the stages with live connections.
func (r *Registry) Stages() map[string]bool {
	out := map[string]bool{}
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for s := range sh.stages {
			out[s] = true
		}
		sh.mu.RUnlock()
	}
	return out
}

// Shutdown closes every connection with 1001 (going away), refuses new
// ones, and waits until each has run its $disconnect or ctx ends.
func (r *Registry) Shutdown(ctx context.Context) {
	r.closing.Store(true)
	for i := range r.shards {
		for _, c := range r.shards[i].snapshot() {
			c.Close(CloseGoingAway, ReasonShutdown)
		}
	}
	// Connections accepted meanwhile are closed as they start: wait
	// until none is left.
	for {
		select {
		case <-r.serving.idle():
			if r.serving.count() == 0 {
				return
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	// Cut what is left: readers then return at once.
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for _, c := range sh.conns {
			c.mu.Lock()
			ws := c.ws
			c.mu.Unlock()
			if ws != nil {
				_ = ws.CloseNow()
			}
		}
		sh.mu.RUnlock()
	}
	select {
	case <-r.serving.idle():
	case <-time.After(time.Second):
	}
	if r.fleet != nil {
		if err := r.fleet.Close(); err != nil {
			r.logger.Warn("websocket: leaving the fleet", "error", err)
		}
	}
}

// tracker counts running goroutines. Unlike a sync.WaitGroup, goroutines
// may start while someone waits (a connection upgraded during shutdown).
type tracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed when n drops to 0
}

// add counts a goroutine starting.
func (t *tracker) add() {
	t.mu.Lock()
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

// done counts a goroutine ending.
func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.zero)
	}
	t.mu.Unlock()
}

// count returns how many run.
func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// idle returns a channel closed once none runs.
func (t *tracker) idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.zero
}

// Closing reports whether Shutdown was called.
func (r *Registry) Closing() bool { return r.closing.Load() }
