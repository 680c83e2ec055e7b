package fleetbus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultChannel is the Pub/Sub channel of a Bus.
const DefaultChannel = "tollgate:fleet"

// publishTimeout bounds one publish.
const publishTimeout = 500 * time.Millisecond

// Handler applies a notice of topic with payload sent by another node.
type Handler func(topic, payload string)

// Bus sends and receives notices. Build it with New; stop it with Close.
type Bus struct {
	client  redis.UniversalClient
	channel string
	node    string
	log     *slog.Logger

	mu       sync.RWMutex
	handlers map[string]Handler

	sub  *redis.PubSub
	done chan struct{}
}

// New subscribes to the fleet's channel on client and starts delivering
// notices of other nodes to the handlers registered with Handle. It does
// not wait for Redis: go-redis resubscribes by itself after a disconnect.
// log may be nil.
func New(client redis.UniversalClient, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	b := &Bus{client: client, channel: DefaultChannel, node: hex.EncodeToString(id), log: log,
		handlers: map[string]Handler{}, done: make(chan struct{})}
	b.sub = client.Subscribe(context.Background(), b.channel)
	go b.receive()
	return b
}

// Handle registers h for the notices of topic, replacing any handler.
func (b *Bus) Handle(topic string, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[topic] = h
}

// Publish sends a notice of topic to the other nodes. topic must not
// contain a newline.
func (b *Bus) Publish(ctx context.Context, topic, payload string) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := b.client.Publish(ctx, b.channel, b.node+"\n"+topic+"\n"+payload).Err(); err != nil {
		return fmt.Errorf("fleetbus: publish %s: %w", topic, err)
	}
	return nil
}

// receive delivers notices until Close.
func (b *Bus) receive() {
	defer close(b.done)
	for msg := range b.sub.Channel() {
		node, rest, ok1 := strings.Cut(msg.Payload, "\n")
		topic, payload, ok2 := strings.Cut(rest, "\n")
		if !ok1 || !ok2 || node == b.node {
			continue
		}
		b.mu.RLock()
		h := b.handlers[topic]
		b.mu.RUnlock()
		if h == nil {
			b.log.Debug("fleetbus: notice without a handler", "topic", topic)
			continue
		}
		h(topic, payload)
	}
}

// Close unsubscribes and waits for the delivery goroutine to end.
func (b *Bus) Close() error {
	err := b.sub.Close()
	<-b.done
	return err
}
