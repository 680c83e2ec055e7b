package reflectclient_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	rpbalpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/internal/reflectclient"
)

// testTimeout bounds every Fetch a test makes, unless the test sets less.
const testTimeout = 10 * time.Second

func TestFetch(t *testing.T) {
	t.Parallel()
	bookstore := examplev1.File_tollgate_example_v1_bookstore_proto
	echo := examplev1.File_tollgate_example_v1_echo_proto
	healthFile := healthpb.File_grpc_health_v1_health_proto

	tests := []struct {
		name         string
		serve        serveFunc
		services     []string
		wantServices []string                      // every service the set defines
		wantRoots    []protoreflect.FileDescriptor // the set is their closure
		wantMethod   string                        // reflection method used, if recorded
		wantWhole    bool                          // the set equals examplebackend.FileDescriptorSet()
	}{
		{
			name:         "example backend, all services",
			serve:        serveExampleBackend,
			wantServices: []string{bookstoreService, echoService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore, echo},
			wantMethod:   rpb.ServerReflection_ServerReflectionInfo_FullMethodName,
			wantWhole:    true,
		},
		{
			name:         "example backend, services filter",
			serve:        serveExampleBackend,
			services:     []string{echoService},
			wantServices: []string{echoService},
			wantRoots:    []protoreflect.FileDescriptor{echo},
		},
		{
			name:         "example backend, filter with leading dot and duplicates",
			serve:        serveExampleBackend,
			services:     []string{"." + bookstoreService, bookstoreService, " " + echoService},
			wantServices: []string{bookstoreService, echoService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore, echo},
			wantWhole:    true,
		},
		{
			name:         "example backend, health named explicitly",
			serve:        serveExampleBackend,
			services:     []string{healthService},
			wantServices: []string{healthService},
			wantRoots:    []protoreflect.FileDescriptor{healthFile},
		},
		{
			name:         "only v1alpha registered",
			serve:        serveV1alphaOnly,
			wantServices: []string{bookstoreService, echoService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore, echo},
			wantMethod:   rpbalpha.ServerReflection_ServerReflectionInfo_FullMethodName,
			wantWhole:    true,
		},
		{
			name:         "only v1alpha registered, services filter",
			serve:        serveV1alphaOnly,
			services:     []string{bookstoreService},
			wantServices: []string{bookstoreService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore},
			wantMethod:   rpbalpha.ServerReflection_ServerReflectionInfo_FullMethodName,
		},
		{
			name:         "only v1 registered",
			serve:        serveV1Only,
			wantServices: []string{bookstoreService, echoService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore, echo},
			wantMethod:   rpb.ServerReflection_ServerReflectionInfo_FullMethodName,
			wantWhole:    true,
		},
		{
			name:         "server sending no imports, so they are asked for by name",
			serve:        serveFake(exampleSchema().answer),
			wantServices: []string{bookstoreService, echoService},
			wantRoots:    []protoreflect.FileDescriptor{bookstore, echo},
			wantWhole:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &methodRecorder{}
			addr := tt.serve(t, grpc.ChainStreamInterceptor(rec.intercept))
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()

			set, err := reflectclient.Fetch(ctx, addr, false, tt.services)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}

			checkOrder(t, set)
			files, err := protodesc.NewFiles(set)
			if err != nil {
				t.Fatalf("protodesc.NewFiles: %v", err)
			}

			// Exactly the closure of the roots, each file as compiled in.
			var want []string
			for _, root := range tt.wantRoots {
				want = closure(root, want)
			}
			var got []string
			for _, f := range set.GetFile() {
				got = append(got, f.GetName())
				compiled, err := protoregistry.GlobalFiles.FindFileByPath(f.GetName())
				if err != nil {
					t.Errorf("fetched %s, which is not compiled in: %v", f.GetName(), err)
					continue
				}
				if diff := cmp.Diff(protodesc.ToFileDescriptorProto(compiled), f, protocmp.Transform()); diff != "" {
					t.Errorf("%s differs from the compiled-in file (-want +got):\n%s", f.GetName(), diff)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if tt.wantWhole {
				if diff := cmp.Diff(examplebackend.FileDescriptorSet(), set, protocmp.Transform()); diff != "" {
					t.Errorf("set differs from examplebackend.FileDescriptorSet() (-want +got):\n%s", diff)
				}
			}

			// Exactly the wanted services, with their HTTP rules.
			var services []string
			files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
				for i := range fd.Services().Len() {
					services = append(services, string(fd.Services().Get(i).FullName()))
				}
				return true
			})
			slices.Sort(services)
			if diff := cmp.Diff(tt.wantServices, services); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			for _, name := range tt.wantServices {
				checkHTTPRules(t, files, name)
			}

			if tt.wantMethod != "" {
				if called := rec.called(); !slices.Contains(called, tt.wantMethod) {
					t.Errorf("server saw calls of %q, want one of %s", called, tt.wantMethod)
				}
			}
		})
	}
}

// TestFetchHTTPRules checks one rule by value, as a user would see it.
func TestFetchHTTPRules(t *testing.T) {
	t.Parallel()
	addr := serveExampleBackend(t)
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	set, err := reflectclient.Fetch(ctx, addr, false, nil)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatalf("protodesc.NewFiles: %v", err)
	}
	d, err := files.FindDescriptorByName(bookstoreService + ".GetBook")
	if err != nil {
		t.Fatalf("GetBook not in the fetched set: %v", err)
	}
	rule, _ := proto.GetExtension(d.(protoreflect.MethodDescriptor).Options(), annotations.E_Http).(*annotations.HttpRule)
	if got, want := rule.GetGet(), "/v1/{name=shelves/*/books/*}"; got != want {
		t.Errorf("GetBook http rule get = %q, want %q (rule %v)", got, want, rule)
	}
}

func TestFetchErrors(t *testing.T) {
	t.Parallel()

	missingImport := exampleSchema()
	missingImport.omit = map[string]bool{"google/api/http.proto": true}

	wrongFile := exampleSchema()
	wrongFile.swap = map[string]string{"google/protobuf/empty.proto": "google/protobuf/timestamp.proto"}

	garbage := exampleSchema()
	garbage.raw = map[string][]byte{echoFile: []byte("\xff\xff\xff")}

	cycle := &fakeSchema{
		services: []string{"cyc.Svc"},
		files: map[string]*descriptorpb.FileDescriptorProto{
			"a.proto": {
				Name: proto.String("a.proto"), Package: proto.String("cyc"), Syntax: proto.String("proto3"),
				Dependency: []string{"b.proto"},
				Service:    []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Svc")}},
			},
			"b.proto": {
				Name: proto.String("b.proto"), Package: proto.String("cyc"), Syntax: proto.String("proto3"),
				Dependency: []string{"a.proto"},
			},
		},
	}

	unlinkable := &fakeSchema{
		services: []string{"bad.Svc"},
		files: map[string]*descriptorpb.FileDescriptorProto{
			"bad.proto": {
				Name: proto.String("bad.proto"), Package: proto.String("bad"), Syntax: proto.String("proto3"),
				Service: []*descriptorpb.ServiceDescriptorProto{{
					Name: proto.String("Svc"),
					Method: []*descriptorpb.MethodDescriptorProto{{
						Name:       proto.String("Call"),
						InputType:  proto.String(".bad.Missing"),
						OutputType: proto.String(".bad.Missing"),
					}},
				}},
			},
		},
	}

	tests := []struct {
		name     string
		serve    serveFunc
		useTLS   bool
		services []string
		timeout  time.Duration // testTimeout if zero
		files    int           // file cap, default if zero
		bytes    int           // byte cap, default if zero
		wantIs   error
		wantMsg  []string // substrings of the message, after "reflect <addr>: "
	}{
		{
			name:    "server without reflection",
			serve:   serveWithoutReflection,
			wantIs:  reflectclient.ErrNoReflection,
			wantMsg: []string{"does not serve gRPC server reflection (v1 or v1alpha); upload a FileDescriptorSet instead"},
		},
		{
			name:    "unreachable target",
			serve:   closedPort,
			wantIs:  reflectclient.ErrUnreachable,
			wantMsg: []string{"backend unreachable", "check the address"},
		},
		{
			name:    "TLS to a plaintext backend",
			serve:   serveExampleBackend,
			useTLS:  true,
			wantIs:  reflectclient.ErrUnreachable,
			wantMsg: []string{"whether it expects TLS"},
		},
		{
			name:     "unknown service",
			serve:    serveExampleBackend,
			services: []string{"tollgate.example.v1.NopeService"},
			wantIs:   reflectclient.ErrUnknownService,
			wantMsg:  []string{"unknown service tollgate.example.v1.NopeService", "it lists " + bookstoreService + ", " + echoService},
		},
		{
			name:     "unknown service among known ones, v1alpha only",
			serve:    serveV1alphaOnly,
			services: []string{echoService, "nope.Service"},
			wantIs:   reflectclient.ErrUnknownService,
			wantMsg:  []string{"unknown service nope.Service"},
		},
		{
			name:     "message named as a service",
			serve:    serveExampleBackend,
			services: []string{"tollgate.example.v1.Book"},
			wantIs:   reflectclient.ErrUnknownService,
			wantMsg:  []string{"tollgate.example.v1.Book", "does not define it as a service"},
		},
		{
			name:     "empty service name",
			serve:    serveExampleBackend,
			services: []string{echoService, ""},
			wantIs:   reflectclient.ErrUnknownService,
			wantMsg:  []string{"empty service name"},
		},
		{
			name:    "server with only reflection and health",
			serve:   serveOnlyInfrastructure,
			wantIs:  reflectclient.ErrUnknownService,
			wantMsg: []string{"lists no services besides reflection and health"},
		},
		{
			name:    "import the server cannot return",
			serve:   serveFake(missingImport.answer),
			wantIs:  reflectclient.ErrBadSchema,
			wantMsg: []string{`cannot return "google/api/http.proto" (imported by "google/api/annotations.proto")`, "upload a FileDescriptorSet instead"},
		},
		{
			name:    "server answering with another file",
			serve:   serveFake(wrongFile.answer),
			wantIs:  reflectclient.ErrBadSchema,
			wantMsg: []string{`request for "google/protobuf/empty.proto"`, "without that file"},
		},
		{
			name:    "undecodable descriptor",
			serve:   serveFake(garbage.answer),
			wantIs:  reflectclient.ErrBadSchema,
			wantMsg: []string{"undecodable file descriptor"},
		},
		{
			name:    "import cycle",
			serve:   serveFake(cycle.answer),
			wantIs:  reflectclient.ErrBadSchema,
			wantMsg: []string{"import cycle"},
		},
		{
			name:    "files that do not link",
			serve:   serveFake(unlinkable.answer),
			wantIs:  reflectclient.ErrBadSchema,
			wantMsg: []string{"do not link", "bad.Missing"},
		},
		{
			name:    "too many files",
			serve:   serveExampleBackend,
			files:   3,
			wantIs:  reflectclient.ErrTooLarge,
			wantMsg: []string{"more than 3 files"},
		},
		{
			name:    "too many bytes",
			serve:   serveExampleBackend,
			bytes:   1000,
			wantIs:  reflectclient.ErrTooLarge,
			wantMsg: []string{"more than 1000 bytes"},
		},
		{
			name:    "endless import chain",
			serve:   serveFake(chainSchema),
			files:   50,
			wantIs:  reflectclient.ErrTooLarge,
			wantMsg: []string{"more than 50 files"},
		},
		{
			name:    "deadline, backend that accepts and never speaks",
			serve:   silentListener,
			timeout: 300 * time.Millisecond,
			wantIs:  context.DeadlineExceeded,
			wantMsg: []string{"gave up listing services"},
		},
		{
			name: "deadline, reflection that never answers",
			serve: serveFake(func(req *rpb.ServerReflectionRequest) *rpb.ServerReflectionResponse {
				if req.GetListServices() != "" {
					return exampleSchema().answer(req)
				}
				return nil
			}),
			timeout: 300 * time.Millisecond,
			wantIs:  context.DeadlineExceeded,
			wantMsg: []string{"gave up fetching the files that define the services"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tt.serve(t)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = testTimeout
			}
			ctx, cancel := context.WithTimeout(t.Context(), timeout)
			defer cancel()

			start := time.Now()
			set, err := reflectclient.FetchWithLimits(ctx, addr, tt.useTLS, tt.services, tt.files, tt.bytes)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("Fetch succeeded with %d files, want an error", len(set.GetFile()))
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			prefix := "reflect " + addr + ": "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not start with %q", err, prefix)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if tt.timeout != 0 && elapsed > tt.timeout+5*time.Second {
				t.Errorf("Fetch took %v with a %v deadline", elapsed, tt.timeout)
			}
		})
	}
}

func TestFetchInvalidTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		target  string
		wantMsg string
	}{
		{"", "no target"},
		{"dns://a b:c/%%%", "invalid gRPC target"},
	}
	for _, tt := range tests {
		_, err := reflectclient.Fetch(t.Context(), tt.target, false, nil)
		if err == nil {
			t.Errorf("Fetch(%q) succeeded, want an error", tt.target)
			continue
		}
		if prefix := "reflect " + tt.target + ": "; !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("Fetch(%q): error %q, want one starting with %q and containing %q", tt.target, err, prefix, tt.wantMsg)
		}
	}
}

func TestFetchClosesConnection(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	lis := &countingListener{Listener: inner}
	addr := serve(t, lis, func(s *grpc.Server) {
		examplebackend.Register(s, examplebackend.NewBookstore(), examplebackend.NewEcho())
	})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	for _, services := range [][]string{nil, {"no.Such"}} {
		_, _ = reflectclient.Fetch(ctx, addr, false, services)
		deadline := time.Now().Add(5 * time.Second)
		for lis.open.Load() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("after Fetch(%q), %d connections are still open", services, lis.open.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestV1AndV1alphaMessagesMatch guards the package's use of the v1 Go types
// on v1alpha streams: the messages must be the same on the wire.
func TestV1AndV1alphaMessagesMatch(t *testing.T) {
	t.Parallel()
	v1 := rpb.File_grpc_reflection_v1_reflection_proto.Messages()
	v1alpha := rpbalpha.File_grpc_reflection_v1alpha_reflection_proto.Messages()
	if v1.Len() != v1alpha.Len() {
		t.Fatalf("v1 has %d messages, v1alpha %d", v1.Len(), v1alpha.Len())
	}
	for i := range v1.Len() {
		m1 := v1.Get(i)
		ma := v1alpha.ByName(m1.Name())
		if ma == nil {
			t.Errorf("v1alpha lacks message %s", m1.Name())
			continue
		}
		if m1.Fields().Len() != ma.Fields().Len() {
			t.Errorf("%s: v1 has %d fields, v1alpha %d", m1.Name(), m1.Fields().Len(), ma.Fields().Len())
		}
		for j := range m1.Fields().Len() {
			f1 := m1.Fields().Get(j)
			fa := ma.Fields().ByNumber(f1.Number())
			if fa == nil {
				t.Errorf("%s: v1alpha lacks field %d", m1.Name(), f1.Number())
				continue
			}
			if f1.Name() != fa.Name() || f1.Kind() != fa.Kind() || f1.Cardinality() != fa.Cardinality() {
				t.Errorf("%s field %d: v1 %s %v %v, v1alpha %s %v %v", m1.Name(), f1.Number(),
					f1.Name(), f1.Cardinality(), f1.Kind(), fa.Name(), fa.Cardinality(), fa.Kind())
			}
			if f1.Message() != nil && (fa.Message() == nil || f1.Message().Name() != fa.Message().Name()) {
				t.Errorf("%s field %s: message types differ", m1.Name(), f1.Name())
			}
		}
	}
}

// checkOrder checks that every file of set comes once, after its imports.
func checkOrder(t *testing.T, set *descriptorpb.FileDescriptorSet) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range set.GetFile() {
		if seen[f.GetName()] {
			t.Errorf("%s appears twice", f.GetName())
		}
		for _, dep := range f.GetDependency() {
			if !seen[dep] {
				t.Errorf("%s comes before its import %s", f.GetName(), dep)
			}
		}
		seen[f.GetName()] = true
	}
}

// closure appends to names the paths of fd and its transitive imports not
// in names yet.
func closure(fd protoreflect.FileDescriptor, names []string) []string {
	if slices.Contains(names, fd.Path()) {
		return names
	}
	names = append(names, fd.Path())
	imports := fd.Imports()
	for i := range imports.Len() {
		names = closure(imports.Get(i).FileDescriptor, names)
	}
	return names
}

// checkHTTPRules checks that every method of the named service in files
// carries the google.api.http rule of the compiled-in method, if any.
func checkHTTPRules(t *testing.T, files *protoregistry.Files, service string) {
	t.Helper()
	d, err := files.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		t.Errorf("service %s: %v", service, err)
		return
	}
	compiled, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		t.Errorf("service %s is not compiled in: %v", service, err)
		return
	}
	methods := d.(protoreflect.ServiceDescriptor).Methods()
	want := compiled.(protoreflect.ServiceDescriptor).Methods()
	if methods.Len() != want.Len() {
		t.Errorf("%s has %d methods, want %d", service, methods.Len(), want.Len())
	}
	for i := range want.Len() {
		wm := want.Get(i)
		m := methods.ByName(wm.Name())
		if m == nil {
			t.Errorf("%s lacks method %s", service, wm.Name())
			continue
		}
		wantRule := proto.GetExtension(wm.Options(), annotations.E_Http).(*annotations.HttpRule)
		gotRule := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		if diff := cmp.Diff(wantRule, gotRule, protocmp.Transform()); diff != "" {
			t.Errorf("%s http rule (-want +got):\n%s", m.FullName(), diff)
		}
	}
}
