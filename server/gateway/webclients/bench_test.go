package webclients_test

import (
	"net/http"
	"testing"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

// BenchmarkNew measures building a stage's Handler (a new deployment's
// cost, beside its REST transcoder) for the example API's two services.
func BenchmarkNew(b *testing.B) {
	files, err := protodesc.NewFiles(examplebackend.FileDescriptorSet())
	if err != nil {
		b.Fatal(err)
	}
	var services []protoreflect.ServiceDescriptor
	for _, name := range []protoreflect.FullName{"tollgate.example.v1.EchoService", "tollgate.example.v1.BookstoreService"} {
		d, err := files.FindDescriptorByName(name)
		if err != nil {
			b.Fatal(err)
		}
		services = append(services, d.(protoreflect.ServiceDescriptor))
	}
	next := http.NotFoundHandler()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webclients.New(files, services, next); err != nil {
			b.Fatal(err)
		}
	}
}
