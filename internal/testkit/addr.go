package testkit

import (
	"net"
	"testing"
)

// ClosedAddr returns a loopback address nothing listens on (for now): a
// backend that is down.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
