package cache_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/cache"
	"github.com/tollgate-gw/tollgate/internal/callinfo"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// epoch is where fake clocks start.
var epoch = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// Test metadata the fake routing step turns into the call's description,
// standing in for the gateway's routing and authorization.
const (
	mdPrincipal  = "x-test-principal"
	mdAPIKey     = "x-test-api-key"
	mdHTTPMethod = "x-test-http-method"
	mdHTTPPath   = "x-test-http-path"
	mdQuery      = "x-test-query"
	mdInvalidate = "x-test-may-invalidate"
	mdDeployment = "x-test-deployment"
)

// backend is a real gRPC backend behind the cache: it counts its calls and
// answers "{request}#{call number}", so a test tells a cached answer from
// a fresh one.
type backend struct {
	calls atomic.Int64
	// code, when not OK, is the status of every answer.
	code atomic.Int32
	// header is added to the answers' headers.
	header metadata.MD
	// pad makes answers this many bytes longer.
	pad int
	// delay holds every answer back.
	delay time.Duration
	// gate, when set, holds every answer back until it is closed.
	gate chan struct{}
}

// handle is the backend's handler for every method.
func (b *backend) handle(_ any, ss grpc.ServerStream) error {
	n := b.calls.Add(1)
	var in wrapperspb.StringValue
	if err := ss.RecvMsg(&in); err != nil {
		return err
	}
	if b.delay > 0 {
		time.Sleep(b.delay)
	}
	if b.gate != nil {
		<-b.gate
	}
	if c := codes.Code(b.code.Load()); c != codes.OK {
		return status.Error(c, "backend says no")
	}
	hdr := metadata.Pairs("x-backend", "yes")
	for k, vs := range b.header {
		hdr.Append(k, vs...)
	}
	if err := ss.SendHeader(hdr); err != nil {
		return err
	}
	out := in.GetValue() + "#" + strconv.FormatInt(n, 10) + strings.Repeat("x", b.pad)
	if err := ss.SendMsg(wrapperspb.String(out)); err != nil {
		return err
	}
	ss.SetTrailer(metadata.Pairs("x-backend-trailer", "t"))
	return nil
}

// env is a gRPC server with the cache in front of a backend, and a client.
type env struct {
	t     testing.TB
	cache *cache.Cache
	be    *backend
	conn  *grpc.ClientConn
	clock *testkit.Clock
	// base is the template of every call's description; tests change it
	// before calling.
	mu   sync.Mutex
	base callinfo.Call
}

// newEnv starts a server whose calls are described by a copy of e.base,
// adjusted by the test metadata, then pass the cache to the backend.
func newEnv(t testing.TB, be *backend, opts ...cache.Option) *env {
	t.Helper()
	e := &env{t: t, be: be, clock: testkit.NewClock(epoch)}
	e.base = callinfo.Call{
		API:        "apis/shop",
		Stage:      "apis/shop/stages/prod",
		Deployment: "apis/shop/deployments/d1",
		Route:      &adminv1.Route{Name: "apis/shop/routes/get", Match: &adminv1.Route_GrpcMethod{GrpcMethod: "/test.v1.Shop/Get"}},
		RouteKey:   "get",
		StageConfig: &adminv1.Stage{Name: "apis/shop/stages/prod", Cache: &adminv1.CacheSettings{
			Enabled: true, CapacityBytes: 1 << 20, TtlSeconds: proto.Int32(60), MaxEntryBytes: 1024,
		}},
		Unary:         true,
		NoSideEffects: true,
		Protocol:      callinfo.GRPC,
	}
	e.cache = cache.New(append([]cache.Option{cache.WithClock(e.clock.Now)}, opts...)...)
	t.Cleanup(e.cache.Close)
	route := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		e.mu.Lock()
		call := e.base
		call.Route = proto.CloneOf(e.base.Route)
		call.StageConfig = proto.CloneOf(e.base.StageConfig)
		e.mu.Unlock()
		call.FullMethod = info.FullMethod
		first := func(k string) string {
			if vs := md.Get(k); len(vs) > 0 {
				return vs[0]
			}
			return ""
		}
		call.Principal = first(mdPrincipal)
		if k := first(mdAPIKey); k != "" {
			call.APIKey = &callinfo.APIKey{Name: k}
		}
		if m := first(mdHTTPMethod); m != "" {
			call.Protocol = callinfo.REST
			call.HTTPMethod, call.HTTPPath, call.RawQuery = m, first(mdHTTPPath), first(mdQuery)
		}
		call.MayInvalidateCache = first(mdInvalidate) == "yes"
		if d := first(mdDeployment); d != "" {
			call.Deployment = d
		}
		return handler(srv, &ctxStream{ServerStream: ss, ctx: callinfo.NewContext(ss.Context(), &call)})
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(be.handle), grpc.ChainStreamInterceptor(route, e.cache.StreamServerInterceptor()))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.conn = conn
	return e
}

// configure changes the template of the calls' description.
func (e *env) configure(f func(c *callinfo.Call)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.base)
}

// result is what a client got.
type result struct {
	body    string
	cache   string // x-tollgate-cache
	ignored string // x-tollgate-cache-control
	code    codes.Code
	header  metadata.MD
	trailer metadata.MD
}

// call makes a call of method with request req and metadata pairs kv.
func (e *env) call(method, req string, kv ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	var hdr, trl metadata.MD
	out := new(wrapperspb.StringValue)
	err := e.conn.Invoke(ctx, method, wrapperspb.String(req), out, grpc.Header(&hdr), grpc.Trailer(&trl))
	r := result{body: out.GetValue(), code: status.Code(err), header: hdr, trailer: trl}
	if vs := hdr.Get(cache.StatusHeader); len(vs) > 0 {
		r.cache = vs[0]
	}
	if vs := hdr.Get(cache.ControlIgnoredHeader); len(vs) > 0 {
		r.ignored = vs[0]
	}
	return r
}

// get calls the test's cacheable method.
func (e *env) get(req string, kv ...string) result {
	e.t.Helper()
	return e.call("/test.v1.Shop/Get", req, kv...)
}

// ctxStream replaces a stream's context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
