package transcode_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tollgate-gw/tollgate/internal/examplebackend"
	"github.com/tollgate-gw/tollgate/server/gateway/transcode"
)

// This example serves the example bookstore's REST bindings from its
// descriptor set, in front of the backend on loopback.
func ExampleNew() {
	backend, err := examplebackend.Start("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Stop()
	conn, err := grpc.NewClient(backend.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	// The descriptors a user uploaded (buf build --as-file-descriptor-set).
	files, err := protodesc.NewFiles(examplebackend.FileDescriptorSet())
	if err != nil {
		log.Fatal(err)
	}
	svc, err := files.FindDescriptorByName("tollgate.example.v1.BookstoreService")
	if err != nil {
		log.Fatal(err)
	}
	tc, err := transcode.New(files, []protoreflect.ServiceDescriptor{svc.(protoreflect.ServiceDescriptor)}, conn,
		transcode.WithOutgoingMetadata(metadata.Pairs("x-tollgate-stage", "prod")))
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range tc.Bindings() {
		fmt.Println(b.HTTPMethod, b.Path)
	}

	srv := httptest.NewServer(tc)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/shelves/fiction/books/b2")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	var book struct{ Title, Author string }
	if err := json.Unmarshal(body, &book); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, book.Title, "by", book.Author)
	// Output:
	// GET /v1/shelves
	// GET /v1/{name=shelves/*/books/*}
	// GET /v1/{parent=shelves/*}/books
	// POST /v1/{parent=shelves/*}/books
	// DELETE /v1/{name=shelves/*/books/*}
	// GET /v1/{parent=shelves/*}/books:watch
	// 200 Dune by Frank Herbert
}
