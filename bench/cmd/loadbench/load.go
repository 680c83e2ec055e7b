package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
)

// callFunc makes one call and returns how many messages it received (1 for
// a unary call, the stream length for a server stream).
type callFunc func(ctx context.Context) (msgs int, err error)

// loadResult is what one load run measured.
type loadResult struct {
	Elapsed   time.Duration
	Calls     int
	Msgs      int
	Errors    int
	FirstErr  string
	Latencies []time.Duration // of successful calls, sorted
}

// runLoad runs conc goroutines that call fn in a loop for d.
func runLoad(conc int, d time.Duration, fn callFunc) loadResult {
	type worker struct {
		lat      []time.Duration
		msgs     int
		errs     int
		firstErr error
	}
	workers := make([]worker, conc)
	ctx := context.Background()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			for time.Now().Before(deadline) {
				t0 := time.Now()
				n, err := fn(ctx)
				lat := time.Since(t0)
				if err != nil {
					w.errs++
					if w.firstErr == nil {
						w.firstErr = err
					}
					continue
				}
				w.msgs += n
				w.lat = append(w.lat, lat)
			}
		})
	}
	wg.Wait()
	r := loadResult{Elapsed: time.Since(start)}
	for _, w := range workers {
		r.Latencies = append(r.Latencies, w.lat...)
		r.Msgs += w.msgs
		r.Errors += w.errs
		if w.firstErr != nil && r.FirstErr == "" {
			r.FirstErr = w.firstErr.Error()
		}
	}
	r.Calls = len(r.Latencies) + r.Errors
	slices.Sort(r.Latencies)
	return r
}

// quantile returns the q-quantile (nearest rank) of sorted latencies.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func dialGRPC(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// grpcUnary calls Echo with md (the Tollgate stage and credentials).
func grpcUnary(conn *grpc.ClientConn, md metadata.MD, payload []byte) callFunc {
	c := examplev1.NewEchoServiceClient(conn)
	req := &examplev1.EchoRequest{Message: "bench", Payload: payload}
	return func(ctx context.Context) (int, error) {
		ctx = metadata.NewOutgoingContext(ctx, md)
		resp, err := c.Echo(ctx, req)
		if err != nil {
			return 0, err
		}
		if len(resp.GetPayload()) != len(payload) {
			return 0, fmt.Errorf("payload: got %d bytes, want %d", len(resp.GetPayload()), len(payload))
		}
		return 1, nil
	}
}

// grpcStream calls EchoServerStream with repeat n and reads every message.
func grpcStream(conn *grpc.ClientConn, md metadata.MD, payload []byte, n int32) callFunc {
	c := examplev1.NewEchoServiceClient(conn)
	req := &examplev1.EchoRequest{Message: "bench", Payload: payload, Repeat: n}
	return func(ctx context.Context) (int, error) {
		ctx = metadata.NewOutgoingContext(ctx, md)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := c.EchoServerStream(ctx, req)
		if err != nil {
			return 0, err
		}
		got := 0
		for {
			_, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return got, err
			}
			got++
		}
		if got != int(n) {
			return got, fmt.Errorf("stream: got %d messages, want %d", got, n)
		}
		return got, nil
	}
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// restUnary POSTs the JSON form of an EchoRequest to url (HTTP/1.1).
func restUnary(client *http.Client, url string, header http.Header, payload []byte) callFunc {
	body, _ := json.Marshal(map[string]string{
		"message": "bench",
		"payload": base64.StdEncoding.EncodeToString(payload),
	})
	return func(ctx context.Context) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
		}
		if len(b) < len(payload) {
			return 0, fmt.Errorf("response of %d bytes is shorter than the payload", len(b))
		}
		return 1, nil
	}
}
