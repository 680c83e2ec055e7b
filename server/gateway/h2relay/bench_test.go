package h2relay_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// TestManyCalls makes many calls through the frame relay, one at a time
// and 64 at once: none may fail (no stream lost or broken).
func TestManyCalls(t *testing.T) {
	addr := interopBackend(t)
	pool := h2relay.NewPool(nil, 64<<10)
	t.Cleanup(pool.Close)
	client := testgrpc.NewTestServiceClient(relayServer(t, frameHandler(pool, addr)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := &testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}}
	for i := range 2000 {
		if _, err := client.UnaryCall(ctx, req); err != nil {
			t.Fatalf("serial call %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for range 100 {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkRelayUnary measures a unary call of 1 KiB each way: straight
// to the backend, through the frame relay and through the message relay
// on the same server (client, relay and backend in this process).
func BenchmarkRelayUnary(b *testing.B) {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	direct, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = direct.Close() })
	for _, tc := range []struct {
		name string
		conn *grpc.ClientConn
	}{
		{"direct", direct},
		{"frames", relayServer(b, frameHandler(pool, addr))},
		{"messages", relayServer(b, messageHandler(b, addr))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			req := &testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// streamTarget is a connection a streaming benchmark calls through.
type streamTarget struct {
	name string
	conn *grpc.ClientConn
}

// streamTargets returns the interop backend called directly and through the
// frame relay, and with messages also through the message relay.
func streamTargets(b *testing.B, messages bool) []streamTarget {
	addr := interopBackend(b)
	pool := h2relay.NewPool(nil, 64<<10)
	b.Cleanup(pool.Close)
	direct, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = direct.Close() })
	targets := []streamTarget{{"direct", direct}, {"frames", relayServer(b, frameHandler(pool, addr))}}
	if messages {
		targets = append(targets, streamTarget{"messages", relayServer(b, messageHandler(b, addr))})
	}
	return targets
}

// responseParams asks for n responses of 1 KiB.
func responseParams(n int) []*testpb.ResponseParameters {
	params := make([]*testpb.ResponseParameters, n)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: 1024}
	}
	return params
}

// BenchmarkRelayServerStream measures a server stream of 100 × 1 KiB.
func BenchmarkRelayServerStream(b *testing.B) {
	params := responseParams(100)
	for _, tc := range streamTargets(b, true) {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := s.Recv(); err != nil {
						break
					}
				}
			}
		})
	}
}

// writeCounter counts the Write calls (system calls) on the connections
// it wraps.
type writeCounter struct{ n atomic.Int64 }

type countedConn struct {
	net.Conn
	w *writeCounter
}

func (c countedConn) Write(p []byte) (int, error) {
	c.w.n.Add(1)
	return c.Conn.Write(p)
}

// writeCountingListener wraps the connections l accepts.
type writeCountingListener struct {
	net.Listener
	w *writeCounter
}

func (l writeCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countedConn{c, l.w}, nil
}

// BenchmarkRelayUnaryConcurrent makes 64 unary calls at a time through
// the frame relay on one client connection and reports the relay's write
// system calls per call to the backend and to the client: with one P
// (-cpu 1) the calls woken by one read share their flushes.
func BenchmarkRelayUnaryConcurrent(b *testing.B) {
	addr := interopBackend(b)
	var toBackend, toClient writeCounter
	var d net.Dialer
	pool := h2relay.NewPool(func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return countedConn{c, &toBackend}, nil
	}, 64<<10)
	b.Cleanup(pool.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := h2relay.NewServer(frameHandler(pool, addr), h2relay.WithStreamWorkers(64))
	go func() { _ = srv.Serve(writeCountingListener{ln, &toClient}) }()
	b.Cleanup(srv.Close)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	client := testgrpc.NewTestServiceClient(conn)
	req := &testpb.SimpleRequest{ResponseSize: 1024, Payload: &testpb.Payload{Body: make([]byte, 1024)}}
	if _, err := client.UnaryCall(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(64)
	b.ResetTimer()
	backend0, client0 := toBackend.n.Load(), toClient.n.Load()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.UnaryCall(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(toBackend.n.Load()-backend0)/float64(b.N), "backend-writes/op")
	b.ReportMetric(float64(toClient.n.Load()-client0)/float64(b.N), "client-writes/op")
}

// frameStats counts what is written to connections: write calls, bytes,
// and HTTP/2 frames by type (the frames parsed out of the bytes written).
type frameStats struct {
	mu            sync.Mutex
	writes, bytes int64
	frames        [10]int64 // by http2.FrameType
}

// frameConn is a connection whose writes are counted in stats.
type frameConn struct {
	net.Conn
	stats      *frameStats
	frameParse             // of the writes
	reads      *frameStats // nil: reads are not counted
	readParse  frameParse
}

func (c *frameConn) Write(p []byte) (int, error) {
	c.stats.count(p, &c.frameParse)
	return c.Conn.Write(p)
}

func (c *frameConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.reads != nil && n > 0 {
		c.reads.count(p[:n], &c.readParse)
	}
	return n, err
}

// frameParse follows frame boundaries across the calls of one direction.
type frameParse struct {
	preface int // bytes of a client preface still to skip
	hdr     []byte
	left    int // payload bytes of the current frame still to come
}

// count counts one call of p's bytes.
func (s *frameStats) count(p []byte, f *frameParse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.bytes += int64(len(p))
	if f.preface > 0 {
		n := min(f.preface, len(p))
		f.preface -= n
		p = p[n:]
	}
	for len(p) > 0 {
		if f.left > 0 {
			n := min(f.left, len(p))
			f.left -= n
			p = p[n:]
			continue
		}
		n := min(9-len(f.hdr), len(p))
		f.hdr = append(f.hdr, p[:n]...)
		p = p[n:]
		if len(f.hdr) == 9 {
			if t := int(f.hdr[3]); t < len(s.frames) {
				s.frames[t]++
			}
			f.left = int(f.hdr[0])<<16 | int(f.hdr[1])<<8 | int(f.hdr[2])
			f.hdr = f.hdr[:0]
		}
	}
}

// frameListener counts the writes to the connections it accepts.
type frameListener struct {
	net.Listener
	stats *frameStats
}

func (l frameListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &frameConn{Conn: c, stats: l.stats}, nil
}

// snapshot returns the counts so far.
func (s *frameStats) snapshot() (writes, bytes int64, frames [10]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes, s.bytes, s.frames
}

// BenchmarkRelayServerStream64 measures 64 concurrent server streams of
// 1,000 × 1 KiB on one client connection (loadbench's grpc-stream cell at
// c=64); an op is one message. The frames target reports what the relay
// writes per message: to the client, its write calls, DATA frames and
// bytes per write; to the backend, its WINDOW_UPDATE frames and writes;
// and the DATA frames the backend sent.
func BenchmarkRelayServerStream64(b *testing.B) {
	params := responseParams(1000)
	addr := interopBackend(b)
	var toClient, toBackend, fromBackend frameStats
	var d net.Dialer
	pool := h2relay.NewPool(func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return &frameConn{Conn: c, stats: &toBackend, frameParse: frameParse{preface: len(http2.ClientPreface)}, reads: &fromBackend}, nil
	}, 64<<10)
	b.Cleanup(pool.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := h2relay.NewServer(frameHandler(pool, addr))
	go func() { _ = srv.Serve(frameListener{ln, &toClient}) }()
	b.Cleanup(srv.Close)
	dial := func(addr string) *grpc.ClientConn {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	for _, tc := range []streamTarget{{"direct", dial(addr)}, {"frames", dial(ln.Addr().String())}} {
		b.Run(tc.name, func(b *testing.B) {
			client := testgrpc.NewTestServiceClient(tc.conn)
			ctx := context.Background()
			cw0, cb0, cf0 := toClient.snapshot()
			bw0, _, bf0 := toBackend.snapshot()
			_, _, rf0 := fromBackend.snapshot()
			b.ReportAllocs()
			b.SetParallelism(32) // 64 streams on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for {
					ctx, cancel := context.WithCancel(ctx)
					s, err := client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
					if err != nil {
						cancel()
						b.Error(err)
						return
					}
					for {
						if _, err := s.Recv(); err != nil {
							break
						}
						if !pb.Next() {
							cancel()
							return
						}
					}
					cancel()
				}
			})
			if tc.name == "direct" {
				return
			}
			b.StopTimer()
			cw, cb, cf := toClient.snapshot()
			bw, _, bf := toBackend.snapshot()
			_, _, rf := fromBackend.snapshot()
			n := float64(b.N)
			b.ReportMetric(float64(rf[http2.FrameData]-rf0[http2.FrameData])/n, "backend-DATA/msg")
			b.ReportMetric(float64(cw-cw0)/n, "client-writes/msg")
			b.ReportMetric(float64(cf[http2.FrameData]-cf0[http2.FrameData])/n, "client-DATA/msg")
			if cw > cw0 {
				b.ReportMetric(float64(cb-cb0)/float64(cw-cw0), "B/client-write")
			}
			b.ReportMetric(float64(bw-bw0)/n, "backend-writes/msg")
			b.ReportMetric(float64(bf[http2.FrameWindowUpdate]-bf0[http2.FrameWindowUpdate])/n, "backend-WU/msg")
		})
	}
}
