package cache

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"maps"
	"net/url"
	"slices"
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Prefixes of Route.cache_key_parameters.
const (
	queryParamPrefix  = "method.request.querystring."
	headerParamPrefix = "method.request.header."
)

// identity returns what identifies the caller in the cache key: empty for
// a route without authorization or declared caller-independent; otherwise
// the SHA-256 of everything the authorization step learnt about the
// caller: the principal, the API key's name, a custom authorizer's context
// and identity source values, and a JWT's claims (but for those that
// change with every token issued: exp, iat, nbf, jti). Two callers who
// share a principal but differ in any of these never share an entry. ok is
// false for an authorized call without an identity, which is never
// cached: it could not be told apart from another caller's.
func identity(call *callinfo.Call) (id string, ok bool) {
	r := call.Route
	t := r.GetAuthorization().GetType()
	authorized := r.GetApiKeyRequired() || t == adminv1.RouteAuthorization_TYPE_API_KEY || t == adminv1.RouteAuthorization_TYPE_AUTHORIZER
	if !authorized || r.GetCacheSharedByCallers() {
		return "", true
	}
	var apiKey string
	if call.APIKey != nil {
		apiKey = call.APIKey.Name
	}
	if call.Principal == "" && apiKey == "" {
		return "", false
	}
	w := keyWriter{h: sha256.New()}
	w.add(call.Principal)
	w.add(apiKey)
	ctxKeys := slices.Sorted(maps.Keys(call.AuthorizerContext))
	w.addList(ctxKeys)
	for _, k := range ctxKeys {
		w.add(call.AuthorizerContext[k])
	}
	w.addList(call.IdentitySourceValues)
	if len(call.Claims) == 0 {
		w.add("")
	} else {
		claims := maps.Clone(call.Claims)
		for _, k := range perTokenClaims {
			delete(claims, k)
		}
		// encoding/json writes map keys sorted, so equal claims encode
		// equally.
		b, err := json.Marshal(claims)
		if err != nil {
			return "", false // not cached rather than mixed up
		}
		w.addBytes(b)
	}
	var sum [sha256.Size]byte
	return string(w.h.Sum(sum[:0])), true
}

// perTokenClaims are JWT claims that differ between two tokens of the same
// caller, left out of the identity so that a refreshed token still hits.
var perTokenClaims = []string{"exp", "iat", "nbf", "jti"}

// headerValues returns the values of a request header: from the metadata
// of a gRPC call, or from the HTTP request of a REST call.
func headerValues(ctx context.Context, call *callinfo.Call, name string) []string {
	return call.HeaderValues(ctx, name)
}

// keyWriter hashes length-prefixed parts, so that no two different lists
// of parts hash the same input.
type keyWriter struct {
	h   hash.Hash
	buf [8]byte
}

// add hashes one part.
func (w *keyWriter) add(s string) {
	binary.BigEndian.PutUint64(w.buf[:], uint64(len(s)))
	w.h.Write(w.buf[:])
	_, _ = w.h.Write([]byte(s))
}

// addBytes hashes one part.
func (w *keyWriter) addBytes(b []byte) {
	binary.BigEndian.PutUint64(w.buf[:], uint64(len(b)))
	w.h.Write(w.buf[:])
	w.h.Write(b)
}

// addList hashes a count and the values.
func (w *keyWriter) addList(vs []string) {
	binary.BigEndian.PutUint64(w.buf[:], uint64(len(vs)))
	w.h.Write(w.buf[:])
	for _, v := range vs {
		w.add(v)
	}
}

// computeKey returns the cache key of a call: its API, stage, deployment,
// route and method; for REST its HTTP method and path (the path
// parameters), for gRPC and for REST calls with a body the request
// message; the values of the route's cache-key parameters (query
// parameters for REST, headers or metadata for both); and the caller's
// identity.
func computeKey(ctx context.Context, call *callinfo.Call, req []byte, id string) key {
	w := keyWriter{h: sha256.New()}
	w.add(call.API)
	w.add(call.Stage)
	w.add(call.Deployment)
	w.add(call.RouteKey)
	w.add(call.FullMethod)
	w.add(call.Protocol.String())
	if call.Protocol == callinfo.REST {
		w.add(call.HTTPMethod)
		w.add(call.HTTPPath)
	}
	if call.Protocol != callinfo.REST || call.HTTPMethod != "GET" {
		w.addBytes(req)
	} else {
		w.add("")
	}
	var query url.Values
	for _, p := range call.Route.GetCacheKeyParameters() {
		w.add(p)
		switch {
		case strings.HasPrefix(p, queryParamPrefix):
			if call.Protocol != callinfo.REST {
				w.addList(nil)
				continue
			}
			if query == nil {
				// Parsed as grpc-gateway does; a malformed pair is skipped
				// there too.
				query, _ = url.ParseQuery(call.RawQuery)
				if query == nil {
					query = url.Values{}
				}
			}
			w.addList(query[strings.TrimPrefix(p, queryParamPrefix)])
		case strings.HasPrefix(p, headerParamPrefix):
			w.addList(headerValues(ctx, call, strings.TrimPrefix(p, headerParamPrefix)))
		default:
			// method.request.path.*: the whole path is in the key already.
			w.addList(nil)
		}
	}
	w.add(id)
	var k key
	w.h.Sum(k[:0])
	return k
}
