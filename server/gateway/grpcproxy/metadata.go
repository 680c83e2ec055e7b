package grpcproxy

import (
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// hopByHop are the connection-level HTTP headers (RFC 9110 section 7.6.1,
// plus host and te, which HTTP/2 carries differently): they describe one
// hop, never the call, so a proxy must not forward them.
var hopByHop = map[string]bool{
	"connection":        true,
	"keep-alive":        true,
	"proxy-connection":  true,
	"transfer-encoding": true,
	"upgrade":           true,
	"te":                true,
	"host":              true,
}

// OutgoingMetadata returns the metadata to send to the backend for a call
// that came in with in. It drops:
//
//   - pseudo-headers (":authority" and the like) and hop-by-hop headers
//     (connection, keep-alive, proxy-connection, transfer-encoding, upgrade,
//     te, host), which belong to the client's connection;
//   - keys starting with "grpc-", which gRPC reserves and sets itself
//     (grpc-timeout is replaced by the call's deadline);
//   - content-type and user-agent, which gRPC sets for the backend call
//     (the client's content-subtype is kept by other means);
//   - keys starting with "x-tollgate-", which are internal to the gateway.
//
// Everything else, authorization included, is kept: backends may need the
// client's credentials, and an auth policy that must hide them removes them
// before the proxy runs. Keys are lowercased. The result shares nothing
// with in; in is not modified.
func OutgoingMetadata(in metadata.MD) metadata.MD {
	return stripRequestMetadata(in.Copy())
}

// stripRequestMetadata is OutgoingMetadata in place, for the proxy, whose
// incoming metadata is already a private copy.
func stripRequestMetadata(md metadata.MD) metadata.MD {
	callinfo.StripInternal(md)
	for k, vs := range md {
		lk := strings.ToLower(k)
		if lk != k {
			// A key added here during the range is lowercase, so it is
			// either skipped or seen again and kept.
			delete(md, k)
			if !dropRequestKey(lk) {
				md[lk] = append(md[lk], vs...)
			}
			continue
		}
		if dropRequestKey(k) {
			delete(md, k)
		}
	}
	return md
}

func dropRequestKey(k string) bool {
	return dropResponseKey(k) || k == "user-agent"
}

// responseMetadata filters the backend's headers or trailers before they
// go to the client: gRPC writes its own reserved keys (the status travels
// as the handler's error, details included), and connection-level headers
// describe the backend's hop only.
func responseMetadata(in metadata.MD) metadata.MD {
	for k := range in {
		if dropResponseKey(k) {
			// Copy only when something must go, the rare case; headers
			// received by grpc-go are already copies owned by the caller.
			out := make(metadata.MD, len(in))
			for k, vs := range in {
				if !dropResponseKey(k) {
					out[k] = vs
				}
			}
			return out
		}
	}
	return in
}

func dropResponseKey(k string) bool {
	return k == "" || k[0] == ':' || hopByHop[k] || k == "content-type" || strings.HasPrefix(k, "grpc-")
}
