package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// The dispatch benchmarks compare one 1 KiB unary call made directly to the
// backend, through the gateway over gRPC, over gRPC-Web and Connect
// (HTTP/1.1, translated into the same gRPC server in process), and over
// REST/JSON (transcoded and dispatched in-process into the same gRPC chain).

func BenchmarkUnary(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 1024)
	be, tg := startBenchGateway(b)
	b.Run("direct", func(b *testing.B) {
		conn, err := grpc.NewClient(be, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		client := examplev1.NewEchoServiceClient(conn)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Echo(context.Background(), &examplev1.EchoRequest{Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gateway-grpc", func(b *testing.B) {
		conn, err := grpc.NewClient(tg.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		client := examplev1.NewEchoServiceClient(conn)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Echo(context.Background(), &examplev1.EchoRequest{Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, wc := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"gateway-grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
		{"gateway-connect", nil},
		{"gateway-connect-json", []connect.ClientOption{connect.WithProtoJSON()}},
	} {
		b.Run(wc.name, func(b *testing.B) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := connect.NewClient[examplev1.EchoRequest, examplev1.EchoResponse](&http.Client{Transport: tr}, tg.url("/prod"+echoService+"Echo"), wc.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.CallUnary(context.Background(), connect.NewRequest(&examplev1.EchoRequest{Payload: payload})); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("gateway-rest", func(b *testing.B) {
		body := []byte(`{"payload":"` + base64.StdEncoding.EncodeToString(payload) + `"}`)
		client := &http.Client{}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(tg.url("/prod/v1/echo"), "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// startBenchGateway starts a backend and a gateway serving it on stage prod.
func startBenchGateway(b *testing.B) (backendAddr string, tg *testGateway) {
	be := backend(b)
	tg = startGateway(b)
	tg.load(b, entry("shop", "prod", deployment(b, "shop", "v1", be.Addr()), nil))
	return be.Addr(), tg
}

// BenchmarkLoad measures recompiling the routing table of 50 stages, which
// every deploy-affecting admin write does before it is acknowledged.
func BenchmarkLoad(b *testing.B) {
	be := backend(b)
	tg := startGateway(b)
	var entries []routing.Entry
	for i := range 50 {
		api := "api" + strconv.Itoa(i)
		entries = append(entries, entry(api, "prod", deployment(b, api, "v1", be.Addr()), nil))
	}
	b.ReportAllocs()
	for b.Loop() {
		tg.load(b, entries...)
	}
}
