package server

import "testing"

func TestDialableAddr(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"[::]:8080", "localhost:8080"},
		{"0.0.0.0:8080", "localhost:8080"},
		{":8080", "localhost:8080"},
		{"127.0.0.1:9090", "127.0.0.1:9090"},
		{"[::1]:9090", "[::1]:9090"},
		{"gateway.internal:8080", "gateway.internal:8080"},
		{"not an address", "not an address"},
	} {
		if got := dialableAddr(tt.in); got != tt.want {
			t.Errorf("dialableAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
