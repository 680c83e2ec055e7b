package h2relay

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/metadata"
)

// partsOf is a MetadataParts of fixed parts.
type partsOf struct {
	maps  [2]metadata.MD
	pairs []string
}

func (p *partsOf) MetadataParts(pairs []string) ([2]metadata.MD, []string) {
	return p.maps, append(pairs, p.pairs...)
}

// merged is p as one map, as callinfo.Call.BackendMetadata builds it:
// maps, then pairs, each replacing the earlier ones' keys.
func (p *partsOf) merged() metadata.MD {
	md := metadata.MD{}
	for _, m := range p.maps {
		for k, vs := range m {
			md[k] = vs
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(p.pairs); i += 2 {
		k := p.pairs[i]
		if !seen[k] {
			seen[k], md[k] = true, nil
		}
		md[k] = append(md[k], p.pairs[i+1])
	}
	return md
}

// TestMetadataParts checks that a backend request's headers are the same
// whether the gateway's metadata comes as one map (Call.Metadata) or in
// parts (Call.Parts): the client's entries filtered (pseudo-headers,
// hop-by-hop, reserved and x-tollgate-* keys) and replaced key by key,
// keys without values removing the client's, binary values encoded, the
// gateway's reserved keys dropped but its x-tollgate-* entries kept, every
// value of a repeated key in order, the client's entries before the
// gateway's; for the frame relay and for Pool.Unary (keys lowercased).
func TestMetadataParts(t *testing.T) {
	client := metadata.MD{
		"x-real-ip":            {"6.6.6.6"},
		"traceparent":          {"00-client-01"},
		"tracestate":           {"client=1"},
		"x-request-id":         {"client-id"},
		"x-tollgate-principal": {"mallory"},
		"x-forwarded-for":      {"6.6.6.6"},
		"grpc-timeout":         {"1S"},
		"te":                   {"trailers"},
		":authority":           {"example.com"},
		"content-type":         {"application/grpc"},
		"user-agent":           {"client/1"},
		"data-bin":             {"\x00\x01\x02"},
		"multi":                {"a", "b", "c"},
		"plain":                {"kept"},
	}
	// A request's regular fields as received: repeated keys, reserved
	// and hop-by-hop ones, binary values padded, unpadded and invalid.
	wire := []hpack.HeaderField{
		{Name: "content-type", Value: "application/grpc"},
		{Name: "user-agent", Value: "client/1"},
		{Name: "te", Value: "trailers"},
		{Name: "grpc-timeout", Value: "1S"},
		{Name: "grpc-encoding", Value: "gzip"},
		{Name: "grpc-accept-encoding", Value: "gzip"},
		{Name: "host", Value: "example.com"},
		{Name: "x-real-ip", Value: "6.6.6.6"},
		{Name: "multi", Value: "a"},
		{Name: "traceparent", Value: "00-client-01"},
		{Name: "multi", Value: "b"},
		{Name: "tracestate", Value: "client=1"},
		{Name: "x-request-id", Value: "client-id"},
		{Name: "x-tollgate-principal", Value: "mallory"},
		{Name: "X-Tollgate-Ctx-Tier", Value: "forged"},
		{Name: "data-bin", Value: "AAEC"},
		{Name: "short-bin", Value: "AAE"},
		{Name: "padded-bin", Value: "AA=="},
		{Name: "bad-bin", Value: "!!!"},
		{Name: "grpc-trace-bin", Value: "AAEC"},
		{Name: "multi", Value: "c"},
		{Name: "plain", Value: "kept"},
	}
	for _, tt := range []struct {
		name  string
		parts partsOf
	}{
		{"none", partsOf{}},
		{"request ID only", partsOf{pairs: []string{"x-request-id", "r1"}}},
		{"forwarded and request ID", partsOf{
			maps:  [2]metadata.MD{nil, {"x-forwarded-for": {"10.0.0.1"}, "x-real-ip": {"10.0.0.1"}, "forwarded": {"for=10.0.0.1"}}},
			pairs: []string{"x-request-id", "r1"},
		}},
		{"trace, forwarded, principal, context, certificate", partsOf{
			maps: [2]metadata.MD{
				{"traceparent": {"00-gateway-01"}, "tracestate": nil, "grpc-trace-bin": {"\xff\x00"}},
				{"x-real-ip": {"10.0.0.1"}},
			},
			pairs: []string{
				"x-tollgate-client-cert-subject", "CN=a",
				"x-tollgate-principal", "alice",
				"x-tollgate-ctx-tier", "gold", "x-tollgate-ctx-tier", "silver",
				"x-request-id", "r1",
			},
		}},
		{"reserved and binary keys of the gateway's", partsOf{
			maps:  [2]metadata.MD{{"grpc-status": {"0"}, ":path": {"/x"}, "connection": {"close"}}, {"own-bin": {"\x10\x20"}}},
			pairs: []string{"content-type", "text/plain", "pair-bin", "\x01", "user-agent", "gw"},
		}},
		{"a key in two parts", partsOf{
			maps:  [2]metadata.MD{{"k": {"first"}, "j": {"first"}}, {"k": {"second"}}},
			pairs: []string{"j", "pair", "plain", "replaced"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The frame relay's client entries from the request's
			// fields against those of the Stream's metadata.
			own := tt.parts.merged()
			md, _, _ := requestMD(wire, "example.com")
			byMD := appendMetadata(nil, md, nil, &Call{Metadata: own}, false)
			byFields := appendMetadata(nil, nil, wire, &Call{Parts: &tt.parts}, false)
			if diff := cmp.Diff(canonical(byMD), canonical(byFields)); diff != "" {
				t.Fatalf("fields from the request's fields differ from the metadata's (-metadata +fields):\n%s", diff)
			}
			if !clientFirst(byFields, own) {
				t.Fatalf("a client's field after the gateway's: %q", byFields)
			}
			for _, lower := range []bool{false, true} {
				md := client
				if lower {
					md = metadata.MD{}
					for k, vs := range client {
						md[k] = vs
					}
					md["Plain"], md["MIXED-Case"] = md["plain"], []string{"up"}
					delete(md, "plain")
				}
				byMap := appendMetadata(nil, md, nil, &Call{Metadata: tt.parts.merged()}, lower)
				byParts := appendMetadata(nil, md, nil, &Call{Parts: &tt.parts}, lower)
				if diff := cmp.Diff(canonical(byMap), canonical(byParts)); diff != "" {
					t.Fatalf("lower=%v: fields from parts differ from the map's (-map +parts):\n%s", lower, diff)
				}
				if !clientFirst(byParts, tt.parts.merged()) {
					t.Fatalf("lower=%v: a client's field after the gateway's: %q", lower, byParts)
				}
			}
		})
	}
}

// canonical is fields by name, each name's values in their order: what
// a backend can tell of a block, as the map's order of keys is random.
func canonical(fields []hpack.HeaderField) map[string][]string {
	out := map[string][]string{}
	for _, f := range fields {
		out[f.Name] = append(out[f.Name], f.Value)
	}
	return out
}

// clientFirst reports whether no field of a name the gateway's metadata
// has comes before one it does not have.
func clientFirst(fields []hpack.HeaderField, own metadata.MD) bool {
	gateway := false
	for _, f := range fields {
		_, ok := own[f.Name]
		if gateway && !ok {
			return false
		}
		gateway = gateway || ok
	}
	return true
}
