package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/testkit"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/h2relay"
)

// restRelayLimit is the message size limit of TestRESTBackendCalls'
// gateway.
const restRelayLimit = 64 << 10

// agentEcho serves the example Echo service and records the user-agent
// each call came with; the message "gzip" has the response compressed,
// "big" has it over restRelayLimit.
type agentEcho struct {
	mu     sync.Mutex
	agents []string
}

func (a *agentEcho) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	a.mu.Lock()
	a.agents = append(a.agents, strings.Join(md.Get("user-agent"), ","))
	a.mu.Unlock()
	switch req.(*examplev1.EchoRequest).GetMessage() {
	case "gzip":
		if err := grpc.SetSendCompressor(ctx, gzip.Name); err != nil {
			return nil, err
		}
	case "big":
		return &examplev1.EchoResponse{Payload: make([]byte, 2*restRelayLimit)}, nil
	}
	return handler(ctx, req)
}

// lastAgent returns the user-agent of the last call and forgets the calls.
func (a *agentEcho) lastAgent() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.agents) == 0 {
		return ""
	}
	last := a.agents[len(a.agents)-1]
	a.agents = nil
	return last
}

func startAgentEcho(t *testing.T) (*agentEcho, string) {
	t.Helper()
	a := &agentEcho{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(a.intercept))
	examplev1.RegisterEchoServiceServer(srv, examplebackend.NewEcho())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return a, ln.Addr().String()
}

// restOutcome is what a REST client gets from a call, for comparing the
// two relays: status, body and the metadata headers and trailers.
type restOutcome struct {
	Status  int
	Body    map[string]any
	Header  map[string][]string
	Trailer map[string][]string
}

func restOutcomeOf(t *testing.T, url, body string, header map[string]string) restOutcome {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := restOutcome{Status: resp.StatusCode, Header: map[string][]string{}, Trailer: map[string][]string{}}
	if err := json.Unmarshal(b, &out.Body); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	for k, vs := range resp.Header {
		if strings.HasPrefix(k, "Grpc-") || strings.HasPrefix(k, "X-Echo") {
			out.Header[k] = vs
		}
	}
	for k, vs := range resp.Trailer {
		out.Trailer[k] = vs
	}
	return out
}

// TestRESTBackendCalls: transcoded unary calls get the same answers,
// headers and trailers whichever relay the data port runs — with the frame
// relay they reach a cleartext backend over its pool (the backend sees its
// user-agent, not grpc-go's), with grpc-go's relay through grpcproxy —
// for a success with header and trailer metadata, a status with details,
// the route's and the client's deadlines, a compressed response, one over
// the size limit, a backend that is down and one that resets the stream.
// A route with retries keeps grpcproxy on both.
func TestRESTBackendCalls(t *testing.T) {
	tests := []struct {
		name, stage, body string
		header            map[string]string
		wantStatus        int
		check             func(t *testing.T, o restOutcome)
		// racyMessage: the message of a deadline's status depends on
		// which side notices it first (grpc-go's client reports the
		// backend's RST_STREAM CANCEL when it arrives before its own
		// timer), so only the status and code are compared.
		racyMessage bool
	}{
		{name: "metadata", stage: "prod", body: `{"message":"hi"}`, header: map[string]string{"X-Echo-A": "aaa", "Te": "trailers"}, wantStatus: http.StatusOK,
			check: func(t *testing.T, o restOutcome) {
				if o.Body["message"] != "hi" || fmt.Sprint(o.Header["Grpc-Metadata-X-Echo-A"]) != "[aaa]" || fmt.Sprint(o.Trailer["Grpc-Trailer-X-Echo-Trailer"]) != "[done]" {
					t.Errorf("outcome %+v", o)
				}
			}},
		{name: "status with details", stage: "prod", body: `{"message":"fail:FAILED_PRECONDITION"}`, wantStatus: http.StatusBadRequest,
			check: func(t *testing.T, o restOutcome) {
				if !strings.Contains(fmt.Sprint(o.Body["details"]), examplebackend.FailureReason) || o.Body["message"] != examplebackend.FailureMessage {
					t.Errorf("body %v", o.Body)
				}
			}},
		{name: "route timeout", stage: "prod", body: `{"message":"sleep:5s"}`, wantStatus: http.StatusGatewayTimeout, racyMessage: true},
		{name: "client deadline", stage: "slow", body: `{"message":"sleep:5s"}`, header: map[string]string{"Grpc-Timeout": "200m"}, wantStatus: http.StatusGatewayTimeout, racyMessage: true},
		{name: "gzip response", stage: "prod", body: `{"message":"gzip"}`, wantStatus: http.StatusOK,
			check: func(t *testing.T, o restOutcome) {
				if o.Body["message"] != "gzip" {
					t.Errorf("body %v", o.Body)
				}
			}},
		{name: "response over the limit", stage: "prod", body: `{"message":"big"}`, wantStatus: http.StatusTooManyRequests,
			check: func(t *testing.T, o restOutcome) {
				if !strings.Contains(fmt.Sprint(o.Body["message"]), "larger than max") {
					t.Errorf("body %v", o.Body)
				}
			}},
		{name: "backend down", stage: "down", body: `{"message":"x"}`, wantStatus: http.StatusBadGateway},
		{name: "backend resets the stream", stage: "reset", body: `{"message":"x"}`, wantStatus: http.StatusBadGateway},
	}
	got := map[string]map[gateway.GRPCRelay]restOutcome{}
	for _, relay := range []gateway.GRPCRelay{gateway.RelayGRPC, gateway.RelayFrames} {
		t.Run(string(relay), func(t *testing.T) {
			echo, addr := startAgentEcho(t)
			reset := testkit.HTTP2Backend(t, func(a *testkit.HTTP2Answer) {
				if a.Request != nil {
					_ = a.Headers(false, hpack.HeaderField{Name: ":status", Value: "200"}, hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
				}
				_ = a.Reset(http2.ErrCodeInternal)
			})
			tg := startGateway(t, gateway.WithGRPCRelay(relay), gateway.WithMaxRecvMsgSize(restRelayLimit))
			route := func(timeout time.Duration) *adminv1.Route {
				return &adminv1.Route{
					Name:    "apis/shop/routes/echo",
					Match:   &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.EchoService/Echo"},
					Timeout: durationpb.New(timeout),
				}
			}
			prod := deployment(t, "shop", "v1", addr, route(300*time.Millisecond))
			retryRoute := route(time.Minute)
			retryRoute.RetryPolicy = &adminv1.RetryPolicy{Attempts: 2}
			retried := deployment(t, "retry", "v1", addr, retryRoute)
			prod.Snapshot.Api.HeaderMapping = &adminv1.HeaderMapping{RequestHeadersToMetadata: []string{"X-Echo-A"}}
			tg.load(t,
				entry("shop", "prod", prod, nil),
				entry("slow", "slow", deployment(t, "slow", "v1", addr, route(time.Minute)), nil),
				entry("down", "down", deployment(t, "down", "v1", testkit.ClosedAddr(t)), nil),
				entry("reset", "reset", deployment(t, "reset", "v1", reset), nil),
				entry("retry", "retry", retried, nil),
			)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					o := restOutcomeOf(t, tg.url("/"+tc.stage+"/v1/echo"), tc.body, tc.header)
					if o.Status != tc.wantStatus {
						t.Fatalf("status %d, want %d: %+v", o.Status, tc.wantStatus, o)
					}
					if tc.check != nil {
						tc.check(t, o)
					}
					if tc.racyMessage {
						if o.Body["code"] != float64(codes.DeadlineExceeded) {
							t.Errorf("code %v, want DEADLINE_EXCEEDED: %+v", o.Body["code"], o)
						}
						delete(o.Body, "message")
					}
					if got[tc.name] == nil {
						got[tc.name] = map[gateway.GRPCRelay]restOutcome{}
					}
					got[tc.name][relay] = o
				})
			}
			// The path taken: the frame relay's client, or grpc-go's.
			_ = restOutcomeOf(t, tg.url("/prod/v1/echo"), `{"message":"which"}`, nil)
			agent := echo.lastAgent()
			if relay == gateway.RelayFrames && agent != h2relay.UnaryUserAgent || relay == gateway.RelayGRPC && !strings.HasPrefix(agent, "grpc-go/") {
				t.Errorf("with the %s relay the backend saw user-agent %q", relay, agent)
			}
			// A retried route needs the request whole: grpcproxy, whichever
			// relay.
			if o := restOutcomeOf(t, tg.url("/retry/v1/echo"), `{"message":"again"}`, nil); o.Status != http.StatusOK || o.Body["message"] != "again" {
				t.Errorf("retried route: %+v", o)
			}
			if agent := echo.lastAgent(); !strings.HasPrefix(agent, "grpc-go/") {
				t.Errorf("with the %s relay the backend of a retried route saw user-agent %q", relay, agent)
			}
		})
	}
	for name, byRelay := range got {
		if a, b := byRelay[gateway.RelayGRPC], byRelay[gateway.RelayFrames]; !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the relays differ:\ngrpc:   %+v\nframes: %+v", name, a, b)
		}
	}
}
