package fleetbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/fleetbus"
	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
)

// TestDelivery: a notice published by one node reaches the others, not
// itself.
func TestDelivery(t *testing.T) {
	r := redistest.Start(t)
	type got struct{ node, topic, payload string }
	ch := make(chan got, 10)
	var buses []*fleetbus.Bus
	for _, name := range []string{"a", "b", "c"} {
		c, err := redisconn.Open(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		b := fleetbus.New(c, nil)
		t.Cleanup(func() { _ = b.Close(); _ = c.Close() })
		// The loop below publishes until both others heard, so more
		// notices may arrive than it reads: a full channel drops them
		// rather than blocking the bus's receiver, which Close waits for.
		b.Handle("flush", func(topic, payload string) {
			select {
			case ch <- got{name, topic, payload}:
			default:
			}
		})
		buses = append(buses, b)
	}
	// Subscriptions are asynchronous: publish until both others heard.
	seen := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(seen) < 2 {
		if err := buses[0].Publish(context.Background(), "flush", "apis/a/stages/s"); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-ch:
			if g.node == "a" {
				t.Fatal("the publishing node received its own notice")
			}
			if g.topic != "flush" || g.payload != "apis/a/stages/s" {
				t.Fatalf("received %+v", g)
			}
			seen[g.node] = true
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %v received the notice", seen)
		}
	}
}
