package server_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// TestIssue13RapidReset sends HEADERS+RST_STREAM for a routed method in a
// tight loop on one connection (CVE-2023-44487), on both HTTP/2 paths of
// the data port: a gRPC connection (grpc-go's transport) and an h2c REST
// one (net/http's). The connection must be ended with GOAWAY
// ENHANCE_YOUR_CALM, and a well-behaved client calling at the same time
// must get no 429: reset streams may not drain the account-wide bucket.
func TestIssue13RapidReset(t *testing.T) {
	const resetLimit = 300
	tests := []struct {
		name    string
		headers []hpack.HeaderField
	}{
		{"gRPC", []hpack.HeaderField{
			{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/tollgate.example.v1.EchoService/Echo"}, {Name: ":authority", Value: "x"},
			{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
		}},
		{"h2c REST", []hpack.HeaderField{
			{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/demo/v1/echo"}, {Name: ":authority", Value: "x"},
			{Name: "content-type", Value: "application/json"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Demo = true
			cfg.StreamResetLimit = resetLimit
			ts := startServer(t, cfg)
			admin := adminv1.NewAdminServiceClient(dial(t, ts.AdminAddr()))
			// Room for the good client's calls and the resets the limit
			// lets through, not for an unbounded flood.
			if _, err := admin.UpdateAccountSettings(withToken(t, ts.AdminToken()), &adminv1.UpdateAccountSettingsRequest{AccountSettings: &adminv1.AccountSettings{
				Name: "settings", Throttle: &adminv1.ThrottleSettings{RateLimit: 20, BurstLimit: 3 * resetLimit},
			}}); err != nil {
				t.Fatal(err)
			}

			// The well-behaved client, on its own connection.
			echo := examplev1.NewEchoServiceClient(dial(t, ts.DataAddr()))
			var good, throttled atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, err := echo.Echo(c, &examplev1.EchoRequest{Message: "hi"})
					cancel()
					switch status.Code(err) {
					case codes.OK:
						good.Add(1)
					case codes.ResourceExhausted:
						throttled.Add(1)
					default:
						t.Errorf("good client: %v", err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			})

			h := dialRawH2(t, ts.DataAddr())
			_ = h.conn.SetDeadline(time.Now().Add(10 * time.Second))
			ended := make(chan connEnd, 1)
			go func() {
				var end connEnd
				for {
					f, err := h.fr.ReadFrame()
					if err != nil {
						end.err = err
						ended <- end
						return
					}
					if g, ok := f.(*http2.GoAwayFrame); ok {
						end.goAway, end.goAwayCode = true, g.ErrCode
					}
				}
			}()
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			// Far more than the kernel's socket buffers hold (about 30
			// bytes a pair), so that the client can send them all only if
			// the gateway keeps reading.
			const maxStreams = 400000
			sent := 0
			for i := range maxStreams {
				id := uint32(2*i + 1)
				block.Reset()
				for _, f := range tt.headers {
					_ = enc.WriteField(f)
				}
				if h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true}) != nil ||
					h.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
					break
				}
				if i%50 == 49 && h.bw.Flush() != nil {
					break
				}
				sent = i + 1
			}
			_ = h.bw.Flush()
			var end connEnd
			select {
			case end = <-ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the attacking connection was not closed")
			}
			// The good client makes its calls during and after the attack.
			for deadline := time.Now().Add(10 * time.Second); good.Load()+throttled.Load() < 20 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			t.Logf("sent about %d HEADERS+RST_STREAM; connection ended: %v; good client: %d OK, %d throttled", sent, end, good.Load(), throttled.Load())
			if !end.goAway || end.goAwayCode != http2.ErrCodeEnhanceYourCalm {
				t.Errorf("the attacking connection ended with %v, want GOAWAY ENHANCE_YOUR_CALM", end)
			}
			if sent >= maxStreams {
				t.Errorf("all %d streams were accepted before the connection ended", sent)
			}
			if throttled.Load() > 0 || good.Load() < 20 {
				t.Errorf("the good client got %d OK and %d throttled calls, want no throttled ones", good.Load(), throttled.Load())
			}
			if v, ok := metricValue(t, ts, "tollgate_connections_reset_limited_total"); !ok || v != 1 {
				t.Errorf("tollgate_connections_reset_limited_total = %v (found %v), want 1", v, ok)
			}
			checkDataPortHealthy(t, ts)
		})
	}
}
