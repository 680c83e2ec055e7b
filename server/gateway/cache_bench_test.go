package gateway_test

import (
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
)

// BenchmarkResponseCache compares a GetBook answered from the response
// cache with the same call passed through to the backend (a stage without
// a cache), end to end through the gateway over gRPC and REST. Compare the
// "hit" and "uncached" ns/op of each protocol.
func BenchmarkResponseCache(b *testing.B) {
	be := &countingBookstore{}
	addr := startServerTB(b, func(s *grpc.Server) { examplev1.RegisterBookstoreServiceServer(s, be) })
	c := cache.New(cache.WithCodec(grpcproxy.Messages{}))
	b.Cleanup(c.Close)
	gw, err := gateway.New(gateway.WithInterceptors(c.StreamServerInterceptor()))
	if err != nil {
		b.Fatal(err)
	}
	tg := serveGateway(b, gw)
	d := deployment(b, "shop", "v1", addr)
	cached := cacheStage()
	cached.Deployment = d.GetName()
	uncached := &adminv1.Stage{Name: "apis/shop/stages/nocache", Deployment: d.GetName()}
	if errs := gw.Load(routing.Config{Stages: []routing.Entry{{Stage: cached, Deployment: d}, {Stage: uncached, Deployment: d}}}); len(errs) > 0 {
		b.Fatal(errs)
	}
	conn := tg.grpcConn(b)
	client := examplev1.NewBookstoreServiceClient(conn)
	// The floor: a call the gateway refuses at once (no such stage), which
	// costs the client-to-gateway hop and routing only.
	b.Run("grpc/floor", func(b *testing.B) {
		ctx := metadata.AppendToOutgoingContext(ctx(b), gateway.StageMetadataKey, "nope")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.GetBook(ctx, &examplev1.GetBookRequest{Name: "shelves/1/books/1"}); status.Code(err) != codes.Unimplemented {
				b.Fatal(err)
			}
		}
	})
	// "1ms-backend" is a backend that works for a millisecond per call.
	for _, tc := range []struct{ name, stage, book string }{
		{"grpc/uncached", "nocache", "1"}, {"grpc/hit", "prod", "1"},
		{"grpc/uncached-1ms-backend", "nocache", "slow"}, {"grpc/hit-1ms-backend", "prod", "slow"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := metadata.AppendToOutgoingContext(ctx(b), gateway.StageMetadataKey, tc.stage)
			req := &examplev1.GetBookRequest{Name: "shelves/1/books/" + tc.book}
			var hdr metadata.MD
			if _, err := client.GetBook(ctx, req, grpc.Header(&hdr)); err != nil {
				b.Fatal(err)
			}
			if got := hdr.Get(cache.StatusHeader); (tc.stage == "prod") != (len(got) == 1) {
				b.Fatalf("warm-up call: cache %v", got)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.GetBook(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	httpClient := &http.Client{}
	for _, tc := range []struct{ name, stage string }{{"rest/uncached", "nocache"}, {"rest/hit", "prod"}} {
		b.Run(tc.name, func(b *testing.B) {
			url := tg.url("/" + tc.stage + "/v1/shelves/1/books/1")
			get := func() string {
				resp, err := httpClient.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
				return resp.Header.Get("X-Tollgate-Cache")
			}
			if got := get(); (tc.stage == "prod") != (got != "") {
				b.Fatalf("warm-up call: cache %q", got)
			}
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}
