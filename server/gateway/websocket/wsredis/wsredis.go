package wsredis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/server/gateway/websocket"
)

// Defaults of the options.
const (
	// DefaultTTL is how long an entry outlives its node's last heartbeat.
	DefaultTTL = 30 * time.Second
	// DefaultReplyTimeout bounds the wait for another node's answer.
	DefaultReplyTimeout = 2 * time.Second
	// DefaultPrefix starts every key and channel.
	DefaultPrefix = "tollgate:ws:"
)

// subscribeWait bounds how long Attach waits for Redis to confirm the
// subscriptions (it goes on without: go-redis subscribes when it can).
const subscribeWait = 2 * time.Second

// Option configures a Fleet.
type Option func(*Fleet)

// WithTTL sets how long a connection's entry outlives its node's last
// heartbeat (the heartbeat runs every ttl/3). Default DefaultTTL.
func WithTTL(ttl time.Duration) Option {
	return func(f *Fleet) {
		if ttl > 0 {
			f.ttl = ttl
		}
	}
}

// WithReplyTimeout bounds the wait for another node's answer to a call.
// Default DefaultReplyTimeout.
func WithReplyTimeout(d time.Duration) Option {
	return func(f *Fleet) {
		if d > 0 {
			f.replyTimeout = d
		}
	}
}

// WithLogger sets the logger; nil discards.
func WithLogger(l *slog.Logger) Option {
	return func(f *Fleet) {
		if l != nil {
			f.log = l
		}
	}
}

// WithNode names this node (default: 16 random hex digits). Every node
// of a fleet needs its own name.
func WithNode(name string) Option {
	return func(f *Fleet) {
		if name != "" {
			f.node = name
		}
	}
}

// WithBreaker shares a circuit breaker with the other users of the Redis:
// while it is open, connections are not recorded (other nodes cannot reach
// them until a heartbeat succeeds), and callbacks for connections this
// node does not hold answer 503 at once instead of waiting on Redis.
// Default: a breaker of its own.
func WithBreaker(b *redisconn.Breaker) Option {
	return func(f *Fleet) {
		if b != nil {
			f.breaker = b
		}
	}
}

// WithPrefix sets the prefix of keys and channels. Default DefaultPrefix.
func WithPrefix(p string) Option {
	return func(f *Fleet) {
		if p != "" {
			f.prefix = p
		}
	}
}

// Fleet is a websocket.Fleet on Redis. Make it with New; a registry
// attaches itself to it.
type Fleet struct {
	client       redis.UniversalClient
	node         string
	prefix       string
	ttl          time.Duration
	replyTimeout time.Duration
	log          *slog.Logger
	breaker      *redisconn.Breaker

	local   websocket.Local
	sub     *redis.PubSub
	nextReq atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]chan reply

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ websocket.Fleet = (*Fleet)(nil)

// New returns a Fleet on client. It does nothing until attached.
func New(client redis.UniversalClient, opts ...Option) *Fleet {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	f := &Fleet{
		client: client, node: hex.EncodeToString(id), prefix: DefaultPrefix, ttl: DefaultTTL,
		replyTimeout: DefaultReplyTimeout, log: slog.New(slog.DiscardHandler), breaker: &redisconn.Breaker{},
		pending: map[uint64]chan reply{}, stop: make(chan struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Node returns this node's name in the fleet.
func (f *Fleet) Node() string { return f.node }

// Keys and channels.
func (f *Fleet) entryKey(id string) string    { return f.prefix + "c:" + id }
func (f *Fleet) nodeChannel(n string) string  { return f.prefix + "n:" + n }
func (f *Fleet) replyChannel(n string) string { return f.prefix + "r:" + n }
func (f *Fleet) allChannel() string           { return f.prefix + "all" }

// request is a call sent to another node (or to all).
type request struct {
	Req  uint64         `json:"req"`
	From string         `json:"from"`
	Call websocket.Call `json:"call"`
}

// reply is a node's answer to a request.
type reply struct {
	Req    uint64           `json:"req"`
	From   string           `json:"from"`
	Result websocket.Result `json:"result"`
	Reason string           `json:"reason,omitempty"` // websocket.Reason of the error
	Error  string           `json:"error,omitempty"`
}

// Attach subscribes to this node's channels and starts serving other
// nodes' calls on local and the heartbeat of its entries.
func (f *Fleet) Attach(local websocket.Local) {
	f.local = local
	chans := []string{f.nodeChannel(f.node), f.replyChannel(f.node), f.allChannel()}
	ctx, cancel := context.WithTimeout(context.Background(), subscribeWait)
	f.sub = f.client.Subscribe(ctx, chans...)
	// Calls to this node's connections are answered only once Redis has
	// the subscriptions: wait for them, a little.
	for range chans {
		if _, err := f.sub.Receive(ctx); err != nil {
			f.log.Warn("websocket fleet: redis did not confirm the subscriptions; callbacks for this node's connections fail from other nodes until it does", "error", err.Error())
			break
		}
	}
	cancel()
	f.wg.Add(2)
	go f.receive()
	go f.heartbeat()
}

// receive dispatches what arrives on the subscribed channels.
func (f *Fleet) receive() {
	defer f.wg.Done()
	ch := f.sub.Channel()
	for {
		select {
		case <-f.stop:
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			if msg.Channel == f.replyChannel(f.node) {
				f.deliver(msg.Payload)
				continue
			}
			var req request
			if err := json.Unmarshal([]byte(msg.Payload), &req); err != nil || req.From == f.node {
				continue
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(req)
			}()
		}
	}
}

// serve runs another node's call and answers it.
func (f *Fleet) serve(req request) {
	res, err := f.local.Apply(req.Call)
	rep := reply{Req: req.Req, From: f.node, Result: res}
	if err != nil {
		rep.Reason, rep.Error = websocket.Reason(err), err.Error()
	}
	b, _ := json.Marshal(rep)
	ctx, cancel := context.WithTimeout(context.Background(), f.replyTimeout)
	defer cancel()
	if err := f.client.Publish(ctx, f.replyChannel(req.From), b).Err(); err != nil {
		f.log.Warn("websocket fleet: answering another node", "node", req.From, "error", err.Error())
	}
}

// deliver hands a reply to the call waiting for it.
func (f *Fleet) deliver(payload string) {
	var rep reply
	if err := json.Unmarshal([]byte(payload), &rep); err != nil {
		return
	}
	f.mu.Lock()
	ch := f.pending[rep.Req]
	f.mu.Unlock()
	if ch != nil {
		select {
		case ch <- rep:
		default: // more answers than expected: a late one
		}
	}
}

// heartbeat rewrites the entries of this node's connections every TTL/3,
// so that they expire only when this node stops refreshing them.
func (f *Fleet) heartbeat() {
	defer f.wg.Done()
	t := time.NewTicker(f.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.refresh()
		}
	}
}

// refresh rewrites every local entry with a fresh TTL (and its latest
// activity). An entry is re-created if Redis lost it (an outage longer
// than the TTL); one whose connection ended meanwhile is deleted again.
func (f *Fleet) refresh() {
	entries := f.local.Entries()
	if len(entries) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.ttl/3)
	defer cancel()
	// Not skipped by an open breaker: the heartbeat is what records the
	// connections again once Redis is back.
	_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range entries {
			e.Node = f.node
			b, _ := json.Marshal(e)
			p.Set(ctx, f.entryKey(e.ID), b, f.ttl)
		}
		return nil
	})
	if err != nil {
		f.log.Warn("websocket fleet: heartbeat failed; other nodes may answer 410 for this node's connections until it succeeds", "connections", len(entries), "error", err.Error())
		return
	}
	for _, e := range entries {
		if !f.local.Has(e.ID) {
			f.Forget(ctx, e.ID)
		}
	}
}

// errBreakerOpen is the error of a Redis call the breaker skipped.
var errBreakerOpen = errors.New("redis is failing (circuit breaker open)")

// guard runs one Redis call unless the breaker is open, and records its
// outcome (redis.Nil is an answer, not a failure).
func (f *Fleet) guard(call func() error) error {
	if !f.breaker.Allow() {
		return errBreakerOpen
	}
	err := call()
	f.breaker.Done(err == nil || errors.Is(err, redis.Nil))
	return err
}

// Save records a local connection's entry.
func (f *Fleet) Save(ctx context.Context, e websocket.Entry, create bool) {
	e.Node = f.node
	b, _ := json.Marshal(e)
	err := f.guard(func() error {
		if create {
			return f.client.Set(ctx, f.entryKey(e.ID), b, f.ttl).Err()
		}
		return f.client.SetXX(ctx, f.entryKey(e.ID), b, f.ttl).Err()
	})
	if err != nil && !errors.Is(err, errBreakerOpen) { // not once per connection while Redis is known to fail
		f.log.Warn("websocket fleet: recording a connection; other nodes cannot reach it until the next heartbeat", "connection_id", e.ID, "error", err.Error())
	}
}

// Forget deletes a connection's entry.
func (f *Fleet) Forget(ctx context.Context, id string) {
	if err := f.guard(func() error { return f.client.Del(ctx, f.entryKey(id)).Err() }); err != nil && !errors.Is(err, errBreakerOpen) {
		f.log.Warn("websocket fleet: removing a connection; its entry expires by its TTL", "connection_id", id, "error", err.Error())
	}
}

// Lookup returns another node's connection's entry.
func (f *Fleet) Lookup(ctx context.Context, id string) (websocket.Entry, error) {
	var b []byte
	err := f.guard(func() (err error) {
		b, err = f.client.Get(ctx, f.entryKey(id)).Bytes()
		return err
	})
	switch {
	case errors.Is(err, redis.Nil):
		return websocket.Entry{}, fmt.Errorf("connection %q: %w", id, websocket.ErrGone)
	case err != nil:
		if !errors.Is(err, errBreakerOpen) {
			f.log.Warn("websocket fleet: looking up a connection", "connection_id", id, "error", err.Error())
		}
		return websocket.Entry{}, fmt.Errorf("%w: the fleet's connection registry (redis) is unavailable", websocket.ErrNodeUnavailable)
	}
	var e websocket.Entry
	if err := json.Unmarshal(b, &e); err != nil || e.Node == f.node || e.ID != id {
		// This node's own entry, not registered here any more: gone.
		return websocket.Entry{}, fmt.Errorf("connection %q: %w", id, websocket.ErrGone)
	}
	return e, nil
}

// Forward runs a call on node and returns its answer. A node that does
// not listen (it stopped or died) holds no connection: ErrGone.
func (f *Fleet) Forward(ctx context.Context, node string, call websocket.Call) (websocket.Result, error) {
	reps, n, err := f.ask(ctx, f.nodeChannel(node), call, 1)
	if err != nil {
		return websocket.Result{}, err
	}
	if n == 0 {
		return websocket.Result{}, fmt.Errorf("connection %q: its node is gone: %w", call.ConnectionID, websocket.ErrGone)
	}
	if len(reps) == 0 {
		return websocket.Result{}, fmt.Errorf("%w (within %v)", websocket.ErrNodeUnavailable, f.replyTimeout)
	}
	return result(reps[0])
}

// Broadcast runs a call on every other node and adds up their answers. A
// node that does not answer in time is logged and left out.
func (f *Fleet) Broadcast(ctx context.Context, call websocket.Call) (websocket.Result, error) {
	var sum websocket.Result
	reps, n, err := f.ask(ctx, f.allChannel(), call, -1)
	if err != nil {
		return sum, err
	}
	if want := int(n) - 1; len(reps) < want { // n counts this node too
		f.log.Warn("websocket fleet: some nodes did not answer a broadcast in time", "stage", call.Stage, "group", call.Group, "nodes", want, "answers", len(reps))
	}
	var first error
	for _, rep := range reps {
		res, err := result(rep)
		sum.Sent += res.Sent
		sum.Dropped += res.Dropped
		if err != nil && first == nil {
			first = err
		}
	}
	return sum, first
}

// ask publishes a call on channel and collects answers until want of them
// (-1: as many as the channel had other subscribers) or the reply timeout.
// n is how many subscribers received the call.
func (f *Fleet) ask(ctx context.Context, channel string, call websocket.Call, want int) ([]reply, int64, error) {
	id := f.nextReq.Add(1)
	size := 1
	if want < 0 {
		size = 1024 // a broadcast's answers, one per node
	}
	ch := make(chan reply, size)
	f.mu.Lock()
	f.pending[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.pending, id)
		f.mu.Unlock()
	}()
	b, err := json.Marshal(request{Req: id, From: f.node, Call: call})
	if err != nil {
		return nil, 0, fmt.Errorf("websocket fleet: %w", err)
	}
	var n int64
	err = f.guard(func() (err error) {
		n, err = f.client.Publish(ctx, channel, b).Result()
		return err
	})
	if err != nil {
		if !errors.Is(err, errBreakerOpen) {
			f.log.Warn("websocket fleet: forwarding a call", "op", call.Op, "error", err.Error())
		}
		return nil, 0, fmt.Errorf("%w: the fleet's channel (redis) is unavailable", websocket.ErrNodeUnavailable)
	}
	if want < 0 {
		want = int(n) - 1
	}
	var reps []reply
	if want <= 0 || n == 0 {
		return reps, n, nil
	}
	timer := time.NewTimer(f.replyTimeout)
	defer timer.Stop()
	for len(reps) < want {
		select {
		case rep := <-ch:
			reps = append(reps, rep)
		case <-timer.C:
			return reps, n, nil
		case <-ctx.Done():
			return reps, n, nil
		}
	}
	return reps, n, nil
}

// result is a reply's result and error.
func result(rep reply) (websocket.Result, error) {
	if rep.Error == "" {
		return rep.Result, nil
	}
	return rep.Result, websocket.FromReason(rep.Reason, rep.Error)
}

// Close stops serving calls and refreshing entries. Entries of
// connections still open then expire by their TTL.
func (f *Fleet) Close() error {
	var err error
	f.closeOnce.Do(func() {
		close(f.stop)
		if f.sub != nil {
			err = f.sub.Close()
		}
		f.wg.Wait()
	})
	return err
}

// callbackKeyName is the key of the fleet's callback token key.
const callbackKeyName = "callback-key"

// CallbackKey returns the key every node signs callback tokens with, so
// that a backend may send a token minted by one node to any node. The
// first node to ask creates it (32 random bytes) in Redis; it has no TTL.
// Deleting it (and restarting the nodes) rotates it.
func CallbackKey(ctx context.Context, client redis.UniversalClient, prefix string) ([]byte, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("websocket fleet: callback key: %w", err)
	}
	key := prefix + callbackKeyName
	if err := client.SetNX(ctx, key, base64.RawStdEncoding.EncodeToString(fresh), 0).Err(); err != nil {
		return nil, fmt.Errorf("websocket fleet: callback key: %w", err)
	}
	s, err := client.Get(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("websocket fleet: callback key: %w", err)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("websocket fleet: the callback key in redis (%s) is not 16 or more bytes of base64", key)
	}
	return b, nil
}
