package wsredis_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tollgate-gw/tollgate/internal/redisconn"
	"github.com/tollgate-gw/tollgate/internal/redistest"
	"github.com/tollgate-gw/tollgate/server/gateway/websocket/wsredis"
)

// BenchmarkCallback measures one @connections call on node B for a client
// on node A (Redis on loopback), against the same call on node A: the
// cost of a Redis lookup and a Pub/Sub round trip. The client reads every
// message, so the send queue never fills.
func BenchmarkCallback(b *testing.B) {
	r := redistest.Start(b)
	na, nb := startNode(b, r.URL, wsredis.WithNode("a")), startNode(b, r.URL, wsredis.WithNode("b"))
	na.limits.SendQueueSize = 1 << 20 // the client reads slower than the benchmark posts
	c, id := na.dial(b)
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	for _, tc := range []struct {
		name   string
		via    *node
		method string
	}{
		{"POST/local", na, http.MethodPost},
		{"POST/remote", nb, http.MethodPost},
		{"GET/local", na, http.MethodGet},
		{"GET/remote", nb, http.MethodGet},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code, body := tc.via.callback(b, tc.method, "/"+id, "m"); code != http.StatusOK {
					b.Fatalf("%d %s", code, body)
				}
			}
		})
	}
	// What an entry costs Redis.
	client, err := redisconn.Open(r.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	n, err := client.MemoryUsage(context.Background(), wsredis.DefaultPrefix+"c:"+id).Result()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("redis MEMORY USAGE of one connection entry: %d bytes", n)
}
