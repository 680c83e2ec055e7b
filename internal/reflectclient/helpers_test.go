package reflectclient_test

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

const (
	bookstoreService = "tollgate.example.v1.BookstoreService"
	echoService      = "tollgate.example.v1.EchoService"
	healthService    = "grpc.health.v1.Health"

	bookstoreFile = "tollgate/example/v1/bookstore.proto"
	echoFile      = "tollgate/example/v1/echo.proto"
)

// serveFunc starts a server on loopback, with opts among its options, and
// returns its address. The server stops when the test ends.
type serveFunc func(t *testing.T, opts ...grpc.ServerOption) string

// serve runs a new grpc.Server with opts, set up by register, on lis (a
// new loopback listener if nil) and returns its address.
func serve(t *testing.T, lis net.Listener, register func(*grpc.Server), opts ...grpc.ServerOption) string {
	t.Helper()
	if lis == nil {
		var err error
		lis, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
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

// registerExample registers the example services, without reflection.
func registerExample(s *grpc.Server) {
	examplev1.RegisterBookstoreServiceServer(s, examplebackend.NewBookstore())
	examplev1.RegisterEchoServiceServer(s, examplebackend.NewEcho())
}

// serveExampleBackend runs examplebackend.Start: the example services,
// health, and reflection v1 and v1alpha.
func serveExampleBackend(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	srv, err := examplebackend.Start("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatalf("examplebackend.Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.Addr()
}

// serveV1alphaOnly runs the example services with only reflection v1alpha.
func serveV1alphaOnly(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	return serve(t, nil, func(s *grpc.Server) {
		registerExample(s)
		rpbalpha.RegisterServerReflectionServer(s, reflection.NewServer(reflection.ServerOptions{Services: s}))
	}, opts...)
}

// serveV1Only runs the example services with only reflection v1.
func serveV1Only(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	return serve(t, nil, func(s *grpc.Server) {
		registerExample(s)
		reflection.RegisterV1(s)
	}, opts...)
}

// serveWithoutReflection runs the example services and health only.
func serveWithoutReflection(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	return serve(t, nil, func(s *grpc.Server) {
		registerExample(s)
		healthpb.RegisterHealthServer(s, health.NewServer())
	}, opts...)
}

// serveOnlyInfrastructure runs health and reflection and nothing else.
func serveOnlyInfrastructure(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	return serve(t, nil, func(s *grpc.Server) {
		healthpb.RegisterHealthServer(s, health.NewServer())
		reflection.Register(s)
	}, opts...)
}

// serveFake returns a serveFunc running a v1 reflection server that answers
// every request with answer, and never answers when answer returns nil.
func serveFake(answer func(*rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse) serveFunc {
	return func(t *testing.T, opts ...grpc.ServerOption) string {
		t.Helper()
		return serve(t, nil, func(s *grpc.Server) {
			rpb.RegisterServerReflectionServer(s, &fakeReflection{answer: answer})
		}, opts...)
	}
}

// fakeReflection is a scripted v1 reflection server.
type fakeReflection struct {
	rpb.UnimplementedServerReflectionServer
	answer func(*rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse
}

func (f *fakeReflection) ServerReflectionInfo(s rpb.ServerReflection_ServerReflectionInfoServer) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := f.answer(req)
		if resp == nil {
			<-s.Context().Done()
			return s.Context().Err()
		}
		resp.OriginalRequest = req
		if err := s.Send(resp); err != nil {
			return err
		}
	}
}

// fakeSchema answers reflection requests from files, one file per answer
// and never its imports, so that clients must ask for imports by name.
type fakeSchema struct {
	files    map[string]*descriptorpb.FileDescriptorProto
	services []string          // what list_services answers
	omit     map[string]bool   // files answered with NOT_FOUND
	swap     map[string]string // file_by_filename X is answered with file Y
	raw      map[string][]byte // bytes sent for a file instead of the file
}

// exampleSchema is a fakeSchema of the example backend's files.
func exampleSchema() *fakeSchema {
	fs := &fakeSchema{
		files:    map[string]*descriptorpb.FileDescriptorProto{},
		services: []string{bookstoreService, echoService, "grpc.reflection.v1.ServerReflection"},
	}
	for _, f := range examplebackend.FileDescriptorSet().GetFile() {
		fs.files[f.GetName()] = f
	}
	return fs
}

func (fs *fakeSchema) answer(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
	switch r := req.GetMessageRequest().(type) {
	case *rpb.ServerReflectionRequest_ListServices:
		resp := &rpb.ListServiceResponse{}
		for _, s := range fs.services {
			resp.Service = append(resp.Service, &rpb.ServiceResponse{Name: s})
		}
		return &rpb.ServerReflectionResponse{
			MessageResponse: &rpb.ServerReflectionResponse_ListServicesResponse{ListServicesResponse: resp},
		}
	case *rpb.ServerReflectionRequest_FileContainingSymbol:
		for _, name := range slices.Sorted(maps.Keys(fs.files)) {
			f := fs.files[name]
			for _, s := range f.GetService() {
				if f.GetPackage()+"."+s.GetName() == r.FileContainingSymbol {
					return fs.file(name)
				}
			}
			for _, m := range f.GetMessageType() {
				if f.GetPackage()+"."+m.GetName() == r.FileContainingSymbol {
					return fs.file(name)
				}
			}
		}
		return notFound("symbol not found: " + r.FileContainingSymbol)
	case *rpb.ServerReflectionRequest_FileByFilename:
		name := r.FileByFilename
		if other, ok := fs.swap[name]; ok {
			name = other
		}
		return fs.file(name)
	}
	return notFound("unsupported request")
}

func (fs *fakeSchema) file(name string) *rpb.ServerReflectionResponse {
	if fs.omit[name] || fs.files[name] == nil {
		return notFound("file not found: " + name)
	}
	b, ok := fs.raw[name]
	if !ok {
		var err error
		b, err = proto.Marshal(fs.files[name])
		if err != nil {
			panic(err)
		}
	}
	return filesResponse(b)
}

func filesResponse(files ...[]byte) *rpb.ServerReflectionResponse {
	return &rpb.ServerReflectionResponse{
		MessageResponse: &rpb.ServerReflectionResponse_FileDescriptorResponse{
			FileDescriptorResponse: &rpb.FileDescriptorResponse{FileDescriptorProto: files},
		},
	}
}

func notFound(msg string) *rpb.ServerReflectionResponse {
	return &rpb.ServerReflectionResponse{
		MessageResponse: &rpb.ServerReflectionResponse_ErrorResponse{
			ErrorResponse: &rpb.ErrorResponse{ErrorCode: int32(codes.NotFound), ErrorMessage: msg},
		},
	}
}

// chainSchema answers as if the service chain.Svc were in chain/0.proto,
// which imports chain/1.proto, which imports chain/2.proto, and so on
// without end.
func chainSchema(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
	n := 0
	switch r := req.GetMessageRequest().(type) {
	case *rpb.ServerReflectionRequest_ListServices:
		return &rpb.ServerReflectionResponse{
			MessageResponse: &rpb.ServerReflectionResponse_ListServicesResponse{
				ListServicesResponse: &rpb.ListServiceResponse{Service: []*rpb.ServiceResponse{{Name: "chain.Svc"}}},
			},
		}
	case *rpb.ServerReflectionRequest_FileByFilename:
		if _, err := fmt.Sscanf(r.FileByFilename, "chain/%d.proto", &n); err != nil {
			return notFound(err.Error())
		}
	}
	f := &descriptorpb.FileDescriptorProto{
		Name:       proto.String(fmt.Sprintf("chain/%d.proto", n)),
		Package:    proto.String("chain"),
		Dependency: []string{fmt.Sprintf("chain/%d.proto", n+1)},
		Syntax:     proto.String("proto3"),
	}
	if n == 0 {
		f.Service = []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Svc")}}
	}
	b, err := proto.Marshal(f)
	if err != nil {
		panic(err)
	}
	return filesResponse(b)
}

// methodRecorder is a stream interceptor that records the methods called.
type methodRecorder struct {
	mu      sync.Mutex
	methods []string
}

func (r *methodRecorder) intercept(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	r.mu.Lock()
	r.methods = append(r.methods, info.FullMethod)
	r.mu.Unlock()
	return handler(srv, ss)
}

func (r *methodRecorder) called() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.methods)
}

// countingListener counts the connections it accepted that are still open.
type countingListener struct {
	net.Listener
	open atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// silentListener accepts TCP connections and never says anything on them.
func silentListener(t *testing.T, _ ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return lis.Addr().String()
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T, _ ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}
