package examplebackend_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

const (
	bookstoreService = "tollgate.example.v1.BookstoreService"
	echoService      = "tollgate.example.v1.EchoService"
)

func TestFileDescriptorSet(t *testing.T) {
	set := examplebackend.FileDescriptorSet()

	// Topological order: every file comes after all its imports, once.
	pos := map[string]int{}
	for i, f := range set.GetFile() {
		if _, dup := pos[f.GetName()]; dup {
			t.Errorf("%s appears twice", f.GetName())
		}
		for _, dep := range f.GetDependency() {
			if _, ok := pos[dep]; !ok {
				t.Errorf("%s comes before its import %s", f.GetName(), dep)
			}
		}
		pos[f.GetName()] = i
	}
	for _, want := range []string{
		"tollgate/example/v1/bookstore.proto",
		"tollgate/example/v1/echo.proto",
		"google/api/annotations.proto",
		"google/api/http.proto",
		"google/api/field_behavior.proto",
		"google/protobuf/descriptor.proto",
		"google/protobuf/empty.proto",
		"google/protobuf/timestamp.proto",
	} {
		if _, ok := pos[want]; !ok {
			t.Errorf("set lacks %s", want)
		}
	}

	// Round trip through the wire format and protodesc.NewFiles, as a
	// gateway loading an uploaded set does.
	raw, err := proto.Marshal(set)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var decoded descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	files, err := protodesc.NewFiles(&decoded)
	if err != nil {
		t.Fatalf("protodesc.NewFiles: %v", err)
	}
	for _, svc := range []struct {
		name    string
		methods []string
	}{
		{bookstoreService, []string{"ListShelves", "GetBook", "ListBooks", "CreateBook", "DeleteBook", "WatchBooks"}},
		{echoService, []string{"Echo", "EchoServerStream", "EchoClientStream", "EchoBidiStream"}},
	} {
		d, err := files.FindDescriptorByName(protoreflect.FullName(svc.name))
		if err != nil {
			t.Fatalf("FindDescriptorByName(%s): %v", svc.name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			t.Fatalf("%s is a %T, not a service", svc.name, d)
		}
		var got []string
		for i := range sd.Methods().Len() {
			got = append(got, string(sd.Methods().Get(i).Name()))
		}
		if !slices.Equal(got, svc.methods) {
			t.Errorf("%s methods = %v, want %v", svc.name, got, svc.methods)
		}
	}
	// The HTTP annotations survive, which the gateway's transcoding needs.
	getBook, err := files.FindDescriptorByName(bookstoreService + ".GetBook")
	if err != nil {
		t.Fatalf("FindDescriptorByName(GetBook): %v", err)
	}
	opts := getBook.Options().(*descriptorpb.MethodOptions)
	if !strings.Contains(opts.String(), "/v1/{name=shelves/*/books/*}") {
		t.Errorf("GetBook options %v lack the google.api.http rule", opts)
	}

	// Each call returns a fresh set.
	set.File = nil
	if len(examplebackend.FileDescriptorSet().GetFile()) == 0 {
		t.Error("changing a returned set changed the next one")
	}
}

func TestReflectionListsServices(t *testing.T) {
	_, conn := start(t)
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(testContext(t))
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{bookstoreService, echoService, "grpc.health.v1.Health"} {
		if !slices.Contains(got, want) {
			t.Errorf("reflection lists %v, want %s among them", got, want)
		}
	}

	// The file holding a service resolves too.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: echoService},
	}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("no file for %s: %v", echoService, resp)
	}
	_ = stream.CloseSend()
}

func TestHealth(t *testing.T) {
	srv, conn := start(t)
	hc := healthpb.NewHealthClient(conn)
	for _, service := range []string{"", bookstoreService, echoService} {
		resp, err := hc.Check(testContext(t), &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("Check(%q): %v", service, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, want SERVING", service, resp.GetStatus())
		}
	}
	_, err := hc.Check(testContext(t), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	checkStatus(t, err, codes.NotFound, "")
	srv.Stop()
}

func TestStart(t *testing.T) {
	srv, conn := start(t)
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") || strings.HasSuffix(srv.Addr(), ":0") {
		t.Errorf("Addr() = %q, want 127.0.0.1 and a real port", srv.Addr())
	}
	bs, _ := clients(conn)
	// The server's Bookstore is the one served.
	if _, err := srv.Bookstore().CreateBook(testContext(t), &examplev1.CreateBookRequest{
		Parent: "shelves/fiction", BookId: "direct", Book: &examplev1.Book{Title: "Direct"},
	}); err != nil {
		t.Fatalf("CreateBook on Bookstore(): %v", err)
	}
	if _, err := bs.GetBook(testContext(t), &examplev1.GetBookRequest{Name: "shelves/fiction/books/direct"}); err != nil {
		t.Fatalf("GetBook over gRPC: %v", err)
	}

	// A taken address is an error.
	if _, err := examplebackend.Start(srv.Addr()); err == nil {
		t.Errorf("Start(%q) on a taken address succeeded", srv.Addr())
	}

	// Stop ends the server and can be called twice.
	srv.Stop()
	srv.Stop()
	ctx, cancel := context.WithTimeout(testContext(t), 2*time.Second)
	defer cancel()
	if _, err := bs.ListShelves(ctx, &examplev1.ListShelvesRequest{}); err == nil {
		t.Error("ListShelves after Stop succeeded")
	}
}

// TestStartWithOptions checks that Start composes with a caller's own
// interceptor and still recovers panics.
func TestStartWithOptions(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	srv, err := examplebackend.Start("127.0.0.1:0", grpc.UnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			mu.Lock()
			seen = append(seen, info.FullMethod)
			mu.Unlock()
			return handler(ctx, req)
		}))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	_, ec := clients(dial(t, srv.Addr()))
	_, err = ec.Echo(testContext(t), &examplev1.EchoRequest{Message: "panic"})
	checkStatus(t, err, codes.Internal, "")
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/" + echoService + "/Echo"}; !slices.Equal(seen, want) {
		t.Errorf("interceptor saw %v, want %v", seen, want)
	}
}

// TestStopWaitsForCalls checks that Stop lets a call in flight finish.
func TestStopWaitsForCalls(t *testing.T) {
	inFlight := make(chan struct{})
	srv, err := examplebackend.Start("127.0.0.1:0", grpc.UnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			close(inFlight)
			return handler(ctx, req)
		}))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	_, ec := clients(dial(t, srv.Addr()))
	done := make(chan error, 1)
	go func() {
		_, err := ec.Echo(testContext(t), &examplev1.EchoRequest{Message: "sleep:200ms"})
		done <- err
	}()
	<-inFlight
	srv.Stop()
	if err := <-done; err != nil {
		t.Errorf("call in flight during Stop: %v", err)
	}
}
