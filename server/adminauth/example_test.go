package adminauth_test

import (
	"log"
	"os"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/server/adminauth"
)

// This example protects a gRPC server with the admin token: the token from
// TOLLGATE_ADMIN_TOKEN when set, else the one kept in the data dir.
func Example() {
	dataDir, err := os.MkdirTemp("", "tollgate-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	token, created, err := adminauth.LoadOrCreateToken(dataDir, os.Getenv("TOLLGATE_ADMIN_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	if created {
		// Show a generated token to the operator once; never log it.
		_ = token
	}
	auth, err := adminauth.New(token)
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(auth.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(auth.StreamServerInterceptor()),
	)
	defer srv.Stop()
	// Register services on srv and call srv.Serve(listener).
	// Output:
}
