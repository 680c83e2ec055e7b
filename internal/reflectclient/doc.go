// Package reflectclient reads an API's schema from a running gRPC backend
// through gRPC server reflection, so that users need not build and upload a
// FileDescriptorSet themselves.
//
// [Fetch] connects to the backend, lists its services (or takes the ones it
// is given), asks for the file that defines each of them and then for every
// import that the server has not sent yet, and returns the files as a
// FileDescriptorSet in dependency order, ready for protodesc.NewFiles. The
// set holds exactly the files that define the services and their transitive
// imports; other files the server volunteers are dropped. Option imports
// (edition 2024 "import option") are not fetched, since protodesc.NewFiles
// does not need them.
//
// # Protocol
//
// Fetch speaks reflection v1 (grpc.reflection.v1.ServerReflection) and falls
// back to v1alpha (grpc.reflection.v1alpha.ServerReflection) when the server
// answers UNIMPLEMENTED for v1. The two versions have identical messages, so
// both are spoken with the v1 Go types. Everything happens on one
// bidirectional stream: list_services first, then file_containing_symbol for
// each service, then file_by_filename for missing imports, a batch at a time,
// until every import is present. Servers that send a file together with its
// imports (as grpc-go does) need no file_by_filename round at all.
//
// When listing, the reflection services themselves (grpc.reflection.*) and
// the health service (grpc.health.v1.Health) are skipped; naming them in the
// services argument fetches them anyway.
//
// # Limits
//
// A misbehaving or malicious server cannot make Fetch hold unbounded data:
// it stops with [ErrTooLarge] after [MaxFiles] distinct files or [MaxBytes]
// bytes of serialized descriptors (counting files sent more than once each
// time), and no single reflection response may exceed 16 MiB. Each file is
// requested at most once, so a server that never sends a file cannot keep
// Fetch looping.
//
// # Errors
//
// Every error starts with "reflect <target>: " and says what to do about it.
// Callers can tell the cases apart with errors.Is: [ErrUnreachable],
// [ErrNoReflection], [ErrUnknownService], [ErrTooLarge], [ErrBadSchema],
// and context.DeadlineExceeded or context.Canceled when ctx ends first.
package reflectclient
