package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/interceptors/authorizer"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/customauth"
	"github.com/tollgate-gw/tollgate/server/gateway"
	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// countingBookstore answers GetBook, ListBooks and CreateBook with the
// number of the call in the title, so a test tells a cached answer from a
// fresh one; ListBooks's author is the principal the gateway asserted. A
// book named ".../slow" takes a millisecond more.
type countingBookstore struct {
	examplev1.UnimplementedBookstoreServiceServer
	calls atomic.Int64
	delay time.Duration
}

func (b *countingBookstore) GetBook(_ context.Context, req *examplev1.GetBookRequest) (*examplev1.Book, error) {
	n := b.calls.Add(1)
	time.Sleep(b.delay)
	if strings.HasSuffix(req.GetName(), "/slow") {
		time.Sleep(time.Millisecond) // a backend that does some work
	}
	if strings.HasSuffix(req.GetName(), "/missing") {
		return nil, status.Error(codes.NotFound, "no such book")
	}
	return &examplev1.Book{Name: req.GetName(), Title: "call " + strconv.FormatInt(n, 10)}, nil
}

func (b *countingBookstore) ListBooks(ctx context.Context, req *examplev1.ListBooksRequest) (*examplev1.ListBooksResponse, error) {
	n := b.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	return &examplev1.ListBooksResponse{Books: []*examplev1.Book{{
		Name: req.GetParent() + "/books/1", Title: "call " + strconv.FormatInt(n, 10), Author: strings.Join(md.Get("x-tollgate-principal"), ","),
	}}}, nil
}

func (b *countingBookstore) CreateBook(_ context.Context, req *examplev1.CreateBookRequest) (*examplev1.Book, error) {
	n := b.calls.Add(1)
	return &examplev1.Book{Name: req.GetParent() + "/books/new", Title: "call " + strconv.FormatInt(n, 10)}, nil
}

// tokenAuthorizer allows the tokens "alice", "bob" and "carol" (carol may
// also refresh the cache), and denies "eve".
type tokenAuthorizer struct {
	datav1.UnimplementedAuthorizerServiceServer
}

func (tokenAuthorizer) Authorize(_ context.Context, req *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
	tok := req.GetAuthorizationToken()
	switch tok {
	case "alice", "bob":
		return &datav1.AuthorizeResponse{PrincipalId: tok, Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/prod/*"}}}}, nil
	case "carol":
		return &datav1.AuthorizeResponse{PrincipalId: tok, Policy: []*datav1.Statement{
			{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/prod/*"}, Actions: []string{customauth.ActionInvoke, customauth.ActionInvalidateCache}},
		}}, nil
	}
	return &datav1.AuthorizeResponse{PrincipalId: tok, Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"*"}}}}, nil
}

// cacheEnv is a gateway with the authorizer and the response cache in its
// chain (the server's order: authorization, then the cache), in front of a
// counting bookstore.
type cacheEnv struct {
	tg    *testGateway
	gw    *gateway.Gateway
	cache *cache.Cache
	be    *countingBookstore
	clock *testkit.Clock
	addr  string // the backend
	auth  string // the authorizer
	conn  *grpc.ClientConn
}

// cacheStage is the stage configuration of the tests: a 60 s TTL, and a
// 403 for unauthorized refreshes.
func cacheStage() *adminv1.Stage {
	return &adminv1.Stage{Name: "apis/shop/stages/prod", Cache: &adminv1.CacheSettings{
		Enabled: true, CapacityBytes: 1 << 20, TtlSeconds: proto.Int32(60), MaxEntryBytes: 64 << 10,
		RequireAuthorizationForCacheControl: true,
		UnauthorizedCacheControl:            adminv1.CacheSettings_UNAUTHORIZED_CACHE_CONTROL_FAIL_WITH_403,
	}}
}

func newCacheEnv(t testing.TB, be *countingBookstore) *cacheEnv {
	t.Helper()
	e := &cacheEnv{be: be, clock: testkit.NewClock(time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC))}
	e.addr = startServerTB(t, func(s *grpc.Server) { examplev1.RegisterBookstoreServiceServer(s, be) })
	e.auth = startServerTB(t, func(s *grpc.Server) { datav1.RegisterAuthorizerServiceServer(s, tokenAuthorizer{}) })
	authz := authorizer.New()
	t.Cleanup(func() { _ = authz.Close() })
	e.cache = cache.New(cache.WithCodec(grpcproxy.Messages{}), cache.WithClock(e.clock.Now))
	t.Cleanup(e.cache.Close)
	gw, err := gateway.New(gateway.WithInterceptors(authz.StreamServerInterceptor(), e.cache.StreamServerInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	e.gw = gw
	e.tg = serveGateway(t, gw)
	e.deploy(t, "v1")
	e.conn = e.tg.grpcConn(t)
	return e
}

// deploy deploys the test API as deployment id on the stage, as the server
// does: a new routing table, then the caches of what is live.
func (e *cacheEnv) deploy(t testing.TB, id string) {
	t.Helper()
	authz := &adminv1.RouteAuthorization{Type: adminv1.RouteAuthorization_TYPE_AUTHORIZER, Authorizer: "apis/shop/authorizers/a"}
	d := deployment(t, "shop", id, e.addr,
		&adminv1.Route{Name: "apis/shop/routes/getbook", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/GetBook"},
			Authorization: authz, CacheKeyParameters: []string{"method.request.header.Accept-Language"}},
		&adminv1.Route{Name: "apis/shop/routes/listbooks", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/tollgate.example.v1.BookstoreService/ListBooks"},
			Authorization: authz, CacheSharedByCallers: true},
	)
	d.Snapshot.Authorizers = []*adminv1.Authorizer{{
		Name: "apis/shop/authorizers/a", Uid: "uid-1", Etag: "etag-1",
		Type: &adminv1.Authorizer_Custom{Custom: &adminv1.CustomAuthorizer{
			Type:             adminv1.CustomAuthorizer_TYPE_TOKEN,
			Callout:          &adminv1.CustomAuthorizer_Grpc{Grpc: &adminv1.GrpcIntegration{Target: e.auth}},
			IdentitySources:  []string{"$request.header.X-Token"},
			ResultTtlSeconds: proto.Int32(300),
			Timeout:          durationpb.New(5 * time.Second),
		}},
	}}
	st := cacheStage()
	st.Deployment = d.GetName()
	if errs := e.gw.Load(routing.Config{Stages: []routing.Entry{{Stage: st, Deployment: d}}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	e.cache.Retain(map[string][]string{st.GetName(): {d.GetName()}})
}

// startServerTB is startServer for benchmarks too.
func startServerTB(t testing.TB, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// outcome is what a client got from one call.
type outcome struct {
	ok    bool
	code  codes.Code // gRPC code, or the code of the REST error body
	http  int        // REST only
	title string
	cache string // x-tollgate-cache
}

// protocolClient makes the same call over one protocol.
type protocolClient struct {
	name string
	// getBook calls GetBook on the book with the headers.
	getBook func(t *testing.T, e *cacheEnv, book string, headers map[string]string) outcome
	// listBooks calls ListBooks.
	listBooks func(t *testing.T, e *cacheEnv, headers map[string]string) outcome
	// createBook calls CreateBook.
	createBook func(t *testing.T, e *cacheEnv, headers map[string]string) outcome
}

func grpcOutcome[M interface{ proto.Message }](m M, err error, hdr metadata.MD, title func(M) string) outcome {
	o := outcome{code: status.Code(err), ok: err == nil}
	if err == nil {
		o.title = title(m)
	}
	if vs := hdr.Get(cache.StatusHeader); len(vs) > 0 {
		o.cache = vs[0]
	}
	return o
}

func grpcContext(t *testing.T, headers map[string]string) context.Context {
	c := ctx(t)
	for k, v := range headers {
		c = metadata.AppendToOutgoingContext(c, strings.ToLower(k), v)
	}
	return c
}

var grpcClient = protocolClient{
	name: "grpc",
	getBook: func(t *testing.T, e *cacheEnv, book string, headers map[string]string) outcome {
		var hdr metadata.MD
		b, err := examplev1.NewBookstoreServiceClient(e.conn).GetBook(grpcContext(t, headers), &examplev1.GetBookRequest{Name: "shelves/1/books/" + book}, grpc.Header(&hdr))
		return grpcOutcome(b, err, hdr, func(b *examplev1.Book) string { return b.GetTitle() })
	},
	listBooks: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
		var hdr metadata.MD
		r, err := examplev1.NewBookstoreServiceClient(e.conn).ListBooks(grpcContext(t, headers), &examplev1.ListBooksRequest{Parent: "shelves/1"}, grpc.Header(&hdr))
		return grpcOutcome(r, err, hdr, func(r *examplev1.ListBooksResponse) string { return r.GetBooks()[0].GetTitle() })
	},
	createBook: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
		var hdr metadata.MD
		b, err := examplev1.NewBookstoreServiceClient(e.conn).CreateBook(grpcContext(t, headers), &examplev1.CreateBookRequest{Parent: "shelves/1", Book: &examplev1.Book{Title: "t"}}, grpc.Header(&hdr))
		return grpcOutcome(b, err, hdr, func(b *examplev1.Book) string { return b.GetTitle() })
	},
}

// restCall makes a REST call and decodes the JSON answer's title (at
// path, "" for the top level or "books" for the first book of a list).
func restCall(t *testing.T, e *cacheEnv, method, path, body string, headers map[string]string, list bool) outcome {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx(t), method, e.tg.url("/prod"+path), rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	o := outcome{http: resp.StatusCode, ok: resp.StatusCode == http.StatusOK, cache: resp.Header.Get("X-Tollgate-Cache")}
	var v struct {
		Code  codes.Code `json:"code"`
		Title string     `json:"title"`
		Books []struct {
			Title string `json:"title"`
		} `json:"books"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	o.code, o.title = v.Code, v.Title
	if list && len(v.Books) > 0 {
		o.title = v.Books[0].Title
	}
	return o
}

var restClient = protocolClient{
	name: "rest",
	getBook: func(t *testing.T, e *cacheEnv, book string, headers map[string]string) outcome {
		return restCall(t, e, http.MethodGet, "/v1/shelves/1/books/"+book, "", headers, false)
	},
	listBooks: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
		return restCall(t, e, http.MethodGet, "/v1/shelves/1/books", "", headers, true)
	},
	createBook: func(t *testing.T, e *cacheEnv, headers map[string]string) outcome {
		return restCall(t, e, http.MethodPost, "/v1/shelves/1/books", `{"title":"t"}`, headers, false)
	},
}

// TestResponseCache runs the same story over gRPC, REST, gRPC-Web and
// Connect (GET included), through the gateway's real chain, backend and
// authorizer.
func TestResponseCache(t *testing.T) {
	for _, pc := range append([]protocolClient{grpcClient, restClient}, webProtocolClients...) {
		t.Run(pc.name, func(t *testing.T) {
			be := &countingBookstore{}
			e := newCacheEnv(t, be)
			alice := map[string]string{"X-Token": "alice"}
			check := func(step string, got outcome, title, cacheStatus string) {
				t.Helper()
				if !got.ok || got.title != title || got.cache != cacheStatus {
					t.Errorf("%s: got %+v, want title %q cache %q", step, got, title, cacheStatus)
				}
			}
			check("alice, first", pc.getBook(t, e, "1", alice), "call 1", "miss")
			check("alice, again", pc.getBook(t, e, "1", alice), "call 1", "hit")
			check("alice, another book (path parameter)", pc.getBook(t, e, "2", alice), "call 2", "miss")
			check("alice, another language (named header)", pc.getBook(t, e, "1", map[string]string{"X-Token": "alice", "Accept-Language": "fr"}), "call 3", "miss")
			check("bob never gets alice's entry", pc.getBook(t, e, "1", map[string]string{"X-Token": "bob"}), "call 4", "miss")

			// A denied caller never gets a cached body, even of a route
			// whose entries every authorized caller shares.
			check("alice fills the shared list", pc.listBooks(t, e, alice), "call 5", "miss")
			check("bob shares it", pc.listBooks(t, e, map[string]string{"X-Token": "bob"}), "call 5", "hit")
			for _, call := range []outcome{pc.listBooks(t, e, map[string]string{"X-Token": "eve"}), pc.getBook(t, e, "1", map[string]string{"X-Token": "eve"})} {
				if call.ok || call.title != "" || call.cache != "" || (call.code != codes.PermissionDenied) {
					t.Errorf("eve got %+v, want PERMISSION_DENIED without a body", call)
				}
			}

			// Unauthorized refresh: 403 (the stage's strategy); authorized
			// refresh: a fresh answer that replaces the entry.
			refresh := map[string]string{"X-Token": "alice", "Cache-Control": "max-age=0"}
			if got := pc.getBook(t, e, "1", refresh); got.ok || got.code != codes.PermissionDenied || (pc.name == "rest" && got.http != http.StatusForbidden) {
				t.Errorf("alice's refresh: %+v, want 403 / PERMISSION_DENIED", got)
			}
			check("carol fills", pc.getBook(t, e, "1", map[string]string{"X-Token": "carol"}), "call 6", "miss")
			check("carol refreshes", pc.getBook(t, e, "1", map[string]string{"X-Token": "carol", "Cache-Control": "max-age=0"}), "call 7", "miss")
			check("carol's refreshed entry", pc.getBook(t, e, "1", map[string]string{"X-Token": "carol"}), "call 7", "hit")

			// Error responses and non-idempotent methods are never cached.
			for i := range 2 {
				if got := pc.getBook(t, e, "missing", alice); got.ok || got.code != codes.NotFound || got.cache != "miss" {
					t.Errorf("error response %d: %+v", i, got)
				}
			}
			before := be.calls.Load()
			for i := range 2 {
				if got := pc.createBook(t, e, nil); !got.ok || got.cache != "" {
					t.Errorf("CreateBook %d: %+v, want OK without a cache status", i, got)
				}
			}
			if n := be.calls.Load() - before; n != 2 {
				t.Errorf("CreateBook reached the backend %d times, want 2", n)
			}

			// Expiry by the injected clock.
			e.clock.Advance(60 * time.Second)
			n := strconv.FormatInt(be.calls.Load()+1, 10)
			check("alice after the TTL", pc.getBook(t, e, "1", alice), "call "+n, "miss")
			check("alice, cached again", pc.getBook(t, e, "1", alice), "call "+n, "hit")

			// Flushing the stage, and a new deployment, empty the cache.
			e.cache.Flush("apis/shop/stages/prod")
			n = strconv.FormatInt(be.calls.Load()+1, 10)
			check("after a flush", pc.getBook(t, e, "1", alice), "call "+n, "miss")
			check("after a flush, cached", pc.getBook(t, e, "1", alice), "call "+n, "hit")
			e.deploy(t, "v2")
			n = strconv.FormatInt(be.calls.Load()+1, 10)
			check("new deployment", pc.getBook(t, e, "1", alice), "call "+n, "miss")
			check("new deployment, cached", pc.getBook(t, e, "1", alice), "call "+n, "hit")
		})
	}
}

// TestResponseCacheCollapsesMisses: 1,000 concurrent identical misses
// through the gateway reach the backend once, over each protocol.
func TestResponseCacheCollapsesMisses(t *testing.T) {
	for _, pc := range []protocolClient{grpcClient, restClient} {
		t.Run(pc.name, func(t *testing.T) {
			be := &countingBookstore{delay: 200 * time.Millisecond}
			e := newCacheEnv(t, be)
			const n = 1000
			var wg sync.WaitGroup
			got := make([]outcome, n)
			for i := range n {
				wg.Go(func() { got[i] = pc.getBook(t, e, "1", map[string]string{"X-Token": "alice"}) })
			}
			wg.Wait()
			if c := be.calls.Load(); c != 1 {
				t.Errorf("backend calls = %d, want 1", c)
			}
			for i, o := range got {
				if !o.ok || o.title != "call 1" {
					t.Fatalf("call %d: %+v", i, o)
				}
			}
		})
	}
}
