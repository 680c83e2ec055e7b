package server_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"

	"github.com/tollgate-gw/tollgate/server"
)

// This example runs a gateway with the default configuration until the
// process gets SIGINT or SIGTERM, then shuts it down gracefully.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, server.DefaultConfig()); err != nil {
		log.Fatal(err)
	}
}

// This example embeds a gateway, for instance in a test, on free loopback
// ports and waits until it accepts calls.
func ExampleServer_Ready() {
	s, err := server.New(server.Config{
		DataDir:    "/tmp/tollgate-example",
		AdminAddr:  "127.0.0.1:0",
		ListenAddr: "127.0.0.1:0",
		AdminToken: "example-admin-token-0123456789",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
		log.Printf("admin API at %s, data plane at %s", s.AdminAddr(), s.DataAddr())
	case err := <-served:
		log.Fatal(err)
	}
	cancel()
	if err := <-served; err != nil {
		log.Fatal(err)
	}
}
