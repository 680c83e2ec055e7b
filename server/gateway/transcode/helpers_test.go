package transcode_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	testingv1 "github.com/tollgate-gw/tollgate/gen/tollgate/testing/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// testTimeout bounds every request a test makes.
const testTimeout = 10 * time.Second

// descriptorSet returns the FileDescriptorSet of the given files and
// everything they import, as a user would upload it.
func descriptorSet(files ...protoreflect.FileDescriptor) *descriptorpb.FileDescriptorSet {
	return examplebackend.DescriptorSetOf(files...)
}

// filesFrom builds a registry from set the way the gateway does for a
// deployment: from a serialized set, so that nothing is shared with the
// generated code linked into the test.
func filesFrom(t testing.TB, set *descriptorpb.FileDescriptorSet) *protoregistry.Files {
	t.Helper()
	b, err := proto.Marshal(set)
	if err != nil {
		t.Fatalf("marshal set: %v", err)
	}
	// Unmarshal without any extension types, so that google.api.http is
	// left as unknown fields, as for a set read by a gateway that does not
	// link annotations.
	var fresh descriptorpb.FileDescriptorSet
	if err := (proto.UnmarshalOptions{Resolver: (*protoregistry.Types)(nil)}).Unmarshal(b, &fresh); err != nil {
		t.Fatalf("unmarshal set: %v", err)
	}
	files, err := protodesc.NewFiles(&fresh)
	if err != nil {
		t.Fatalf("NewFiles: %v", err)
	}
	return files
}

// services looks the named services up in files.
func services(t testing.TB, files *protoregistry.Files, names ...string) []protoreflect.ServiceDescriptor {
	t.Helper()
	var out []protoreflect.ServiceDescriptor
	for _, n := range names {
		d, err := files.FindDescriptorByName(protoreflect.FullName(n))
		if err != nil {
			t.Fatalf("service %s: %v", n, err)
		}
		out = append(out, d.(protoreflect.ServiceDescriptor))
	}
	return out
}

// dial returns a client connection to addr, closed at the end of the test.
func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient(%q): %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// serveGRPC serves the registered services on a loopback listener until
// the end of the test and returns its address.
func serveGRPC(t testing.TB, register func(*grpc.Server), opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := grpc.NewServer(opts...)
	register(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return lis.Addr().String()
}

// serveHTTP serves h on a loopback httptest server until the end of the
// test and returns its URL.
func serveHTTP(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// HTTP/1.1 and HTTP/2 without TLS (h2c), as the data port serves.
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// response is what a test looks at in an HTTP response.
type response struct {
	status  int
	header  http.Header
	trailer http.Header
	body    []byte
}

// request is an HTTP request a test sends.
type request struct {
	method string
	path   string // with the query string
	body   string
	header map[string]string
}

// do sends req to base and reads the whole response.
func do(t testing.TB, client *http.Client, base string, req request) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequestWithContext(ctx, method, base+req.path, body)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	if req.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, req.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, trailer: resp.Trailer, body: b}
}

// testBackend implements TranscodingTestService. Most methods answer with
// an EchoResponse holding the request, so the way a binding filled the
// request shows in the HTTP response. Every call gets the response header
// "x-test-header: <method>" and the trailer "x-test-trailer: done", and
// incoming "x-echo-*" metadata is sent back as headers.
type testBackend struct {
	testingv1.UnimplementedTranscodingTestServiceServer
}

// fixedTime is the time in the test backend's responses.
var fixedTime = time.Date(2024, 5, 6, 7, 8, 9, 123000000, time.UTC)

func setTestMetadata(ctx context.Context) {
	md := metadata.Pairs("x-test-header", grpcMethod(ctx))
	in, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range in {
		if strings.HasPrefix(k, "x-echo-") {
			md.Append(k, vs...)
		}
	}
	_ = grpc.SetHeader(ctx, md)
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-test-trailer", "done"))
}

func grpcMethod(ctx context.Context) string {
	m, _ := grpc.Method(ctx)
	return m
}

// echo answers with req and the incoming metadata, without the keys that
// differ between two gateways for reasons unrelated to transcoding (the
// transport's own keys, and x-forwarded-host, which names the gateway).
func echo(ctx context.Context, req proto.Message) (*testingv1.EchoResponse, error) {
	setTestMetadata(ctx)
	a, err := anypb.New(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "packing the request: %v", err)
	}
	in, _ := metadata.FromIncomingContext(ctx)
	md := map[string]string{}
	for k, vs := range in {
		if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") {
			continue
		}
		switch k {
		case "content-type", "user-agent", "x-forwarded-host":
			continue
		}
		md[k] = strings.Join(vs, ", ")
	}
	return &testingv1.EchoResponse{Method: grpcMethod(ctx), Request: a, Metadata: md}, nil
}

func (testBackend) Query(ctx context.Context, req *testingv1.QueryRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) GetResource(ctx context.Context, req *testingv1.GetResourceRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) CreateResource(ctx context.Context, req *testingv1.CreateResourceRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) UpdateResource(ctx context.Context, req *testingv1.UpdateResourceRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) DeleteResource(ctx context.Context, req *testingv1.DeleteResourceRequest) (*emptypb.Empty, error) {
	setTestMetadata(ctx)
	if strings.HasSuffix(req.GetName(), "missing") {
		return nil, status.Errorf(codes.NotFound, "%s not found", req.GetName())
	}
	return &emptypb.Empty{}, nil
}

func (testBackend) ArchiveResource(ctx context.Context, req *testingv1.ArchiveResourceRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) LockResource(ctx context.Context, req *testingv1.LockResourceRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) GetFile(ctx context.Context, req *testingv1.GetFileRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) CustomGrammar(ctx context.Context, req *testingv1.CustomGrammarRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

func (testBackend) Unbound(ctx context.Context, req *testingv1.UnboundRequest) (*testingv1.EchoResponse, error) {
	return echo(ctx, req)
}

// testResource returns a resource with every field set.
func testResource(name string, size int64) *testingv1.Resource {
	attrs, _ := structpb.NewStruct(map[string]any{"owner": "ops", "replicas": 3, "public": false, "zones": []any{"a", "b"}})
	return &testingv1.Resource{
		Name:        name,
		DisplayName: "Resource <" + name + "> & co",
		SizeBytes:   size,
		Color:       testingv1.Color_COLOR_BLUE,
		Tags:        []string{"x", "y"},
		Labels:      map[string]string{"env": "prod", "tier": "1"},
		CreateTime:  timestamppb.New(fixedTime),
		Ttl:         durationpb.New(90 * time.Second),
		Attributes:  attrs,
		Etag:        wrapperspb.String("etag-1"),
		Nested:      &testingv1.Nested{Name: "n", Level: 2, Color: testingv1.Color_COLOR_RED, Child: &testingv1.Leaf{Name: "leaf", Level: 3}},
	}
}

func (testBackend) GetResourceView(ctx context.Context, req *testingv1.GetResourceViewRequest) (*testingv1.ResourceView, error) {
	setTestMetadata(ctx)
	if req.GetEmpty() {
		return &testingv1.ResourceView{}, nil
	}
	return &testingv1.ResourceView{
		Resource:   testResource(req.GetName(), 1<<40),
		Tags:       []string{"alpha", "beta <b>"},
		Labels:     map[string]string{"env": "prod", "team": "core"},
		SizeBytes:  1234567890123456789,
		Colors:     []testingv1.Color{testingv1.Color_COLOR_RED, testingv1.Color_COLOR_BLUE, testingv1.Color(7)},
		Color:      testingv1.Color_COLOR_GREEN,
		CreateTime: timestamppb.New(fixedTime),
		Related:    []*testingv1.Resource{testResource(req.GetName()+"-a", 1), testResource(req.GetName()+"-b", 2)},
		Digest:     []byte{0xde, 0xad, 0xbe, 0xef, 0xff},
	}, nil
}

func (testBackend) StreamEvents(req *testingv1.StreamEventsRequest, stream grpc.ServerStreamingServer[testingv1.Event]) error {
	ctx := stream.Context()
	if err := stream.SendHeader(metadata.Pairs("x-test-header", grpcMethod(ctx))); err != nil {
		return err
	}
	stream.SetTrailer(metadata.Pairs("x-test-trailer", "done"))
	if req.GetCount() < 0 || req.GetCount() > 1000 {
		return status.Errorf(codes.InvalidArgument, "count must be between 0 and 1000, got %d", req.GetCount())
	}
	for i := range req.GetCount() {
		if req.GetFailCode() != code.Code_OK && i == req.GetFailAfter() {
			return failure(req.GetFailCode(), fmt.Sprintf("failed after %d events", i), true)
		}
		ev := &testingv1.Event{
			Sequence: int64(i) + 1<<53,
			Parent:   req.GetParent(),
			Resource: testResource(fmt.Sprintf("%s/resources/r%d", req.GetParent(), i), int64(i)),
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
	if req.GetFailCode() != code.Code_OK && req.GetFailAfter() >= req.GetCount() {
		return failure(req.GetFailCode(), "failed at the end", true)
	}
	return nil
}

// failure returns an error with code c and, if details, a BadRequest, an
// ErrorInfo and a FailureDetail (a type of the test API).
func failure(c code.Code, msg string, details bool) error {
	st := status.New(codes.Code(c), msg)
	if !details {
		return st.Err()
	}
	withDetails, err := st.WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "code", Description: "requested"}}},
		&errdetails.ErrorInfo{Reason: "REQUESTED_FAILURE", Domain: "test.tollgate.dev", Metadata: map[string]string{"code": c.String()}},
		&testingv1.FailureDetail{Reason: "requested", RetryAfterMs: 1 << 40, Hints: []string{"try", "again"}},
	)
	if err != nil {
		return status.Errorf(codes.Internal, "adding details: %v", err)
	}
	return withDetails.Err()
}

func (testBackend) Fail(ctx context.Context, req *testingv1.FailRequest) (*testingv1.EchoResponse, error) {
	if req.GetCode() == code.Code_OK {
		return echo(ctx, req)
	}
	setTestMetadata(ctx)
	return nil, failure(req.GetCode(), req.GetMessage(), req.GetWithDetails())
}

func (testBackend) Download(ctx context.Context, req *testingv1.DownloadRequest) (*httpbody.HttpBody, error) {
	setTestMetadata(ctx)
	ct := req.GetContentType()
	if ct == "" {
		ct = "text/plain"
	}
	return &httpbody.HttpBody{ContentType: ct, Data: []byte("content of " + req.GetName() + "\n")}, nil
}

func (testBackend) DownloadChunks(req *testingv1.DownloadChunksRequest, stream grpc.ServerStreamingServer[httpbody.HttpBody]) error {
	for i := range req.GetCount() {
		if err := stream.Send(&httpbody.HttpBody{ContentType: "text/csv", Data: fmt.Appendf(nil, "%s,%d\n", req.GetName(), i)}); err != nil {
			return err
		}
	}
	return nil
}

func (testBackend) Upload(stream grpc.ClientStreamingServer[testingv1.UploadRequest, testingv1.EchoResponse]) error {
	n := 0
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testingv1.EchoResponse{Method: fmt.Sprint(n)})
		}
		if err != nil {
			return err
		}
		n += len(m.GetChunk())
	}
}

func (testBackend) Chat(stream grpc.BidiStreamingServer[testingv1.ChatRequest, testingv1.ChatResponse]) error {
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testingv1.ChatResponse{Text: m.GetText()}); err != nil {
			return err
		}
	}
}

// testServiceName is the full name of the test service.
const testServiceName = "tollgate.testing.v1.TranscodingTestService"

// startTestBackend serves a testBackend on loopback and returns a
// connection to it.
func startTestBackend(t testing.TB) *grpc.ClientConn {
	t.Helper()
	addr := serveGRPC(t, func(s *grpc.Server) { testingv1.RegisterTranscodingTestServiceServer(s, testBackend{}) })
	return dial(t, addr)
}

// newTestTranscoder returns a Transcoder for the test service on conn,
// from descriptors that share nothing with the generated code.
func newTestTranscoder(t testing.TB, conn grpc.ClientConnInterface, opts ...transcode.Option) *transcode.Transcoder {
	t.Helper()
	files := filesFrom(t, descriptorSet(testingv1.File_tollgate_testing_v1_transcoding_proto))
	tc, err := transcode.New(files, services(t, files, testServiceName), conn, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tc
}
