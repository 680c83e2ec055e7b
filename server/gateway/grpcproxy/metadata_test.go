package grpcproxy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
)

func TestOutgoingMetadata(t *testing.T) {
	tests := []struct {
		name string
		in   metadata.MD
		want metadata.MD
	}{
		{name: "nil", in: nil, want: metadata.MD{}},
		{
			name: "application metadata kept",
			in:   metadata.MD{"x-request-id": {"r1"}, "x-multi": {"a", "b"}, "trace-bin": {"\x00\x01"}},
			want: metadata.MD{"x-request-id": {"r1"}, "x-multi": {"a", "b"}, "trace-bin": {"\x00\x01"}},
		},
		{
			name: "authorization kept for the backend",
			in:   metadata.MD{"authorization": {"Bearer t"}},
			want: metadata.MD{"authorization": {"Bearer t"}},
		},
		{
			name: "pseudo-headers dropped",
			in:   metadata.MD{":authority": {"gw.example.com"}, ":path": {"/a.B/C"}, "x-keep": {"1"}},
			want: metadata.MD{"x-keep": {"1"}},
		},
		{
			name: "hop-by-hop headers dropped",
			in: metadata.MD{
				"connection": {"close"}, "keep-alive": {"timeout=5"}, "proxy-connection": {"keep-alive"},
				"transfer-encoding": {"chunked"}, "upgrade": {"h2c"}, "te": {"trailers"}, "host": {"gw"},
				"x-keep": {"1"},
			},
			want: metadata.MD{"x-keep": {"1"}},
		},
		{
			name: "grpc reserved keys dropped",
			in: metadata.MD{
				"grpc-timeout": {"1S"}, "grpc-encoding": {"gzip"}, "grpc-accept-encoding": {"gzip"},
				"grpc-previous-rpc-attempts": {"1"}, "grpc-trace-bin": {"x"}, "grpc-status": {"0"},
				"x-keep": {"1"},
			},
			want: metadata.MD{"x-keep": {"1"}},
		},
		{
			name: "content-type and user-agent dropped",
			in:   metadata.MD{"content-type": {"application/grpc"}, "user-agent": {"grpc-go/1.85.0"}, "x-keep": {"1"}},
			want: metadata.MD{"x-keep": {"1"}},
		},
		{
			name: "gateway-internal keys dropped",
			in:   metadata.MD{"x-tollgate-api-key-id": {"k"}, "x-tollgate-": {"?"}, "x-tollgatex": {"kept"}},
			want: metadata.MD{"x-tollgatex": {"kept"}},
		},
		{
			name: "keys lowercased before matching",
			in:   metadata.MD{"Connection": {"close"}, "X-Tollgate-Plan": {"gold"}, "X-Request-Id": {"r1"}, "x-request-id": {"r2"}},
			want: metadata.MD{"x-request-id": {"r1", "r2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in metadata.MD
			if tt.in != nil {
				in = tt.in.Copy()
			}
			got := grpcproxy.OutgoingMetadata(tt.in)
			// Values of a key that appears in two cases may come in either
			// order; sort them for the comparison.
			for _, vs := range got {
				if len(vs) == 2 && vs[0] > vs[1] {
					vs[0], vs[1] = vs[1], vs[0]
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OutgoingMetadata mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tt.in); diff != "" {
				t.Errorf("input modified (-before +after):\n%s", diff)
			}
		})
	}
}

func TestOutgoingMetadataSharesNothing(t *testing.T) {
	in := metadata.MD{"x-a": make([]string, 1, 4)}
	in["x-a"][0] = "1"
	out := grpcproxy.OutgoingMetadata(in)
	out["x-a"] = append(out["x-a"], "2")
	out["x-a"][0] = "changed"
	if got := in["x-a"][:1]; got[0] != "1" || len(in["x-a"]) != 1 {
		t.Errorf("changing the output changed the input: %q", in["x-a"])
	}
	if got := in["x-a"][:2]; got[1] != "" {
		t.Errorf("appending to the output wrote into the input's array: %q", got)
	}
}
