// Package examplebackend is Tollgate's demo and test backend: an in-memory
// implementation of the example BookstoreService and EchoService
// (proto/tollgate/example/v1) that the README demo (`tollgate serve --demo`),
// the gateway's tests and its benchmarks run in-process on loopback.
//
// # Bookstore
//
// [Bookstore] keeps shelves and books in memory. It starts with two shelves,
// "shelves/fiction" (theme "Fiction") and "shelves/science" (theme "Science"),
// and four books with fixed names:
//
//	shelves/fiction/books/b1  The Left Hand of Darkness (Ursula K. Le Guin)
//	shelves/fiction/books/b2  Dune (Frank Herbert)
//	shelves/science/books/b3  A Brief History of Time (Stephen Hawking)
//	shelves/science/books/b4  The Selfish Gene (Richard Dawkins)
//
// A book created without a book_id gets the next free "b<n>" ID, starting at
// "b5". Shelf and book IDs are 1 to 63 characters from [A-Za-z0-9._~-],
// starting with a letter or a digit, so that names are safe in HTTP paths.
// Errors carry proper gRPC codes; INVALID_ARGUMENT errors carry a
// google.rpc.BadRequest detail naming the offending field.
//
// # Echo
//
// [Echo] answers with what it receives in all four kinds of call. For proxy
// tests it also:
//
//   - sends back every incoming metadata key that starts with "x-echo-" as a
//     response header with the same values;
//   - sets the trailer "x-echo-trailer: done" on every call, failed or not;
//   - obeys directives given as the exact request message:
//     "fail:<code>" (a code name such as "NOT_FOUND" or a number such as "5")
//     fails with that code, the message "echo: requested failure" and a
//     google.rpc.ErrorInfo detail {reason: "REQUESTED_FAILURE",
//     domain: "example.tollgate.dev"};
//     "sleep:<duration>" (a Go duration such as "250ms") waits that long
//     before answering, or ends with the context's error (CANCELLED or
//     DEADLINE_EXCEEDED) if the call ends first;
//     "panic" makes the handler panic.
//
// In streaming calls the directives apply to every message received.
//
// grpc-go does not recover panics in handlers: a panic kills the whole
// process. [Start] therefore installs recovery interceptors that turn a panic
// into an INTERNAL error, so a test process survives "panic". [Register] only
// registers services; a caller that wants a real panic (for example to
// exercise a crash) can use it on its own server without recovery.
//
// # Chat
//
// [Chat] is a WebSocket backend (tollgate.data.v1.WebSocketIntegrationService):
// rooms as connection groups, messages broadcast through the gateway's
// callback API. [StartChat] serves it on a listener of its own; the demo
// deploys it as the WebSocket API apis/chat.
//
// # Serving
//
// [Start] runs both services plus gRPC health (reported SERVING) and server
// reflection on a TCP listener, normally "127.0.0.1:0". [FileDescriptorSet]
// returns the descriptors of both services with all their imports, as
// `buf build --as-file-descriptor-set` would produce them.
package examplebackend
