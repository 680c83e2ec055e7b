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
		{"content-type", "", false},
		{"retry-after", "", false},
	}
	for _, tt := range tests {
		got, ok := outgoingHeaderMatcher(false)(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("outgoingHeaderMatcher(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// TestOutgoingHeaderMatcherPlain: with response_metadata_as_headers,
// metadata keeps its name unless reserved.
func TestOutgoingHeaderMatcherPlain(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"x-custom", "x-custom", true},
		{"X-Custom", "x-custom", true},
		{"set-cookie", "set-cookie", true},
		{"x-tollgate-cache", "x-tollgate-cache", true},
		{"x-tollgate-principal", "Grpc-Metadata-x-tollgate-principal", true},
		{"content-length", "Grpc-Metadata-content-length", true},
		{"access-control-allow-origin", "Grpc-Metadata-access-control-allow-origin", true},
		{"content-type", "", false},
		{"retry-after", "", false},
		{"trace-bin", "", false},
	}
	for _, tt := range tests {
		got, ok := outgoingHeaderMatcher(true)(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("outgoingHeaderMatcher(true)(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
