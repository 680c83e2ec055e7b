package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tollgate-gw/tollgate/server"
)

// serve runs a server for cfg until ctx is cancelled. SIGHUP reloads its
// TLS certificate files, as for other servers that terminate TLS.
func serve(ctx context.Context, cfg server.Config) error {
	s, err := server.New(cfg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				// A failed reload keeps the current certificate and is
				// logged by the server.
				_ = s.ReloadCertificates()
			}
		}
	}()
	return s.Serve(ctx)
}
