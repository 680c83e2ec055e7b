package transcode

import "testing"

// TestOutgoingHeaderMatcher: response metadata reaches REST clients as
// Grpc-Metadata-* headers, except binary entries (dropped) and the
// gateway's own response headers (their plain name).
func TestOutgoingHeaderMatcher(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"x-custom", "Grpc-Metadata-x-custom", true},
		{"x-tollgate-cache", "x-tollgate-cache", true},
		{"X-Tollgate-Cache", "x-tollgate-cache", true},
		{"x-tollgate-cache-control", "x-tollgate-cache-control", true},
		{"x-tollgate-principal", "Grpc-Metadata-x-tollgate-principal", true},
		{"trace-bin", "", false},
	}
	for _, tt := range tests {
		got, ok := outgoingHeaderMatcher(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("outgoingHeaderMatcher(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
