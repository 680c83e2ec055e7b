package connlimit_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tollgate-gw/tollgate/internal/connlimit"
)

// dialFrom connects to addr from the loopback address src ("127.0.0.2"…).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// refused reports whether the server closed c without sending anything.
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false // still open
	}
	return err != nil
}

func TestListener(t *testing.T) {
	tests := []struct {
		name   string
		limits connlimit.Limits
		from   []string // the clients, in order
		want   []bool   // refused?
	}{
		{"total", connlimit.Limits{Total: 2}, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, []bool{false, false, true}},
		{"per IP", connlimit.Limits{Total: 10, PerIP: 2}, []string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"}, []bool{false, false, true, false}},
		{"no limits", connlimit.Limits{}, []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := connlimit.New(inner, tt.limits)
			defer ln.Close()
			accepted := make(chan net.Conn, 10)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			var refusals int64
			for i, src := range tt.from {
				c := dialFrom(t, src, ln.Addr().String())
				if got := refused(t, c); got != tt.want[i] {
					t.Fatalf("connection %d from %s refused = %v, want %v", i, src, got, tt.want[i])
				}
				if tt.want[i] {
					refusals++
				}
			}
			if ln.Refused() != refusals {
				t.Errorf("Refused() = %d, want %d", ln.Refused(), refusals)
			}
			open := int64(len(tt.from)) - refusals
			if ln.Open() != open {
				t.Errorf("Open() = %d, want %d", ln.Open(), open)
			}
			// Closing an accepted connection frees its place, once.
			first := <-accepted
			first.Close()
			first.Close()
			if ln.Open() != open-1 {
				t.Errorf("after Close, Open() = %d, want %d", ln.Open(), open-1)
			}
			c := dialFrom(t, tt.from[0], ln.Addr().String())
			if refused(t, c) {
				t.Error("a connection after a Close was refused")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	d := connlimit.Defaults()
	n, err := connlimit.FileLimit()
	if err != nil {
		t.Skip(err)
	}
	if want := int(n * 8 / 10); d.Total != want || d.PerIP != max(want/10, 1) {
		t.Errorf("Defaults() = %+v with a limit of %d, want Total %d and PerIP a tenth", d, n, want)
	}
}
