package transcode

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// annotate returns the context of the gRPC call made for req: its outgoing
// metadata is what runtime.AnnotateContext would derive from req with the
// Transcoder's header matcher and metadata annotator (the same keys,
// values and order, the same refusals with the same errors), and a
// Grpc-Timeout header sets its deadline. AnnotateContext builds the same
// map through metadata.Pairs and two metadata.Join copies, lowercasing and
// concatenating each forwarded header's name on every call (about sixty
// allocations for a plain request); annotate writes one map and takes the
// names of the default headers from a table. The context values
// AnnotateContext adds for runtime.RPCMethod and runtime.HTTPPathPattern
// are left out: nothing reads them. cancel, never nil, releases the
// deadline's timer.
func (t *Transcoder) annotate(ctx context.Context, req *http.Request) (_ context.Context, cancel context.CancelFunc, _ error) {
	ctx, _, cancel, err := t.annotateMD(ctx, req)
	return ctx, cancel, err
}

// annotateMD is annotate, also returning the outgoing metadata it put in
// the context (nil if none): a map of this call's own.
func (t *Transcoder) annotateMD(ctx context.Context, req *http.Request) (_ context.Context, _ metadata.MD, cancel context.CancelFunc, _ error) {
	cancel = func() {}
	timeout := runtime.DefaultContextTimeout
	if tm := req.Header.Get("Grpc-Timeout"); tm != "" {
		var err error
		if timeout, err = decodeTimeout(tm); err != nil {
			return nil, nil, cancel, status.Errorf(codes.InvalidArgument, "invalid grpc-timeout: %s", tm)
		}
	}
	// The annotator's entries (WithOutgoingMetadata's, then
	// WithRequestMetadata's) replace what the headers put under their keys
	// (below): keys it sets are not filled from the headers at all, though
	// their headers are still checked, since a bad one fails the call.
	var perRequest metadata.MD
	if t.perRequest != nil {
		perRequest = lowerKeys(t.perRequest(req))
	}
	replaced := func(k string) bool {
		_, fixed := t.outgoing[k]
		_, per := perRequest[k]
		return fixed || per
	}
	md := make(metadata.MD, 8)
	// add appends v to md[k]; vs[i] is v when v is the header's own value,
	// which a first entry then shares rather than copies (clipped, so that
	// a later append copies).
	add := func(k, v string, vs []string, i int) {
		switch {
		case replaced(k):
		case md[k] == nil && vs != nil:
			md[k] = vs[i : i+1 : i+1]
		default:
			md[k] = append(md[k], v)
		}
	}
	// Authorization first, unprefixed, as AnnotateContext puts it ahead of
	// what the header loop forwards.
	auth := req.Header.Values("Authorization")
	for i, v := range auth {
		if isValidMetadataText(v) {
			add("authorization", v, auth, i)
		}
	}
	for key, vals := range req.Header {
		if _, canonical := canonicalHeaders[key]; !canonical {
			key = textproto.CanonicalMIMEHeaderKey(key)
		}
		if key == "X-Forwarded-For" || key == "X-Forwarded-Host" {
			continue // set below
		}
		mdKey, ok := t.matchHeader(key)
		if !ok {
			continue
		}
		for i, v := range vals {
			own := vals
			// The same checks, in the same order, as AnnotateContext's
			// (which it makes once per value).
			if strings.EqualFold(mdKey, "x-forwarded-for") || strings.EqualFold(mdKey, "x-forwarded-host") {
				grpclog.Errorf("HTTP header %q maps to gateway-reserved metadata key %q; skipping", key, mdKey)
				continue
			}
			if !isValidMetadataKey(mdKey) {
				grpclog.Errorf("HTTP header name %q is not valid as gRPC metadata key; skipping", mdKey)
				continue
			}
			if strings.HasSuffix(key, "-Bin") {
				b, err := decodeBinHeader(v)
				if err != nil {
					return nil, nil, cancel, status.Errorf(codes.InvalidArgument, "invalid binary header %s: %s", key, err)
				}
				v, own = string(b), nil
			} else if !isValidMetadataText(v) {
				grpclog.Errorf("Value of HTTP header %q contains non-ASCII value (not valid as gRPC metadata): skipping", mdKey)
				continue
			}
			add(lowerKey(mdKey), v, own, i)
		}
	}
	if !replaced("x-forwarded-host") {
		if host := req.Header.Get("X-Forwarded-Host"); host != "" && isValidMetadataText(host) {
			add("x-forwarded-host", host, nil, 0)
		} else if req.Host != "" && isValidMetadataText(req.Host) {
			add("x-forwarded-host", req.Host, nil, 0)
		}
	}
	if !replaced("x-forwarded-for") {
		var xff []string
		for _, v := range req.Header.Values("X-Forwarded-For") {
			if isValidMetadataText(v) {
				xff = append(xff, v)
			}
		}
		if addr := req.RemoteAddr; addr != "" {
			if ip, _, err := net.SplitHostPort(addr); err == nil && isValidMetadataText(ip) {
				xff = append(xff, ip)
			}
		}
		switch len(xff) {
		case 0:
		case 1:
			add("x-forwarded-for", xff[0], nil, 0)
		default:
			add("x-forwarded-for", strings.Join(xff, ", "), nil, 0)
		}
	}
	if timeout != 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	// The annotator's entries: WithOutgoingMetadata's (shared by every
	// call, so copied), then WithRequestMetadata's (this call's own, so
	// shared when alone under their key, clipped).
	for k, vs := range t.outgoing {
		md[k] = append(md[k], vs...)
	}
	for k, vs := range perRequest {
		if md[k] == nil && len(vs) > 0 {
			md[k] = slices.Clip(vs)
		} else {
			md[k] = append(md[k], vs...)
		}
	}
	if len(md) == 0 {
		return ctx, nil, cancel, nil
	}
	return metadata.NewOutgoingContext(ctx, md), md, cancel, nil
}

// lowerKeys returns md with its keys lowercased: md itself when they all
// are (the gateway's WithRequestMetadata function returns lowercase
// keys), else a copy merging the values of keys that differ only in case.
func lowerKeys(md metadata.MD) metadata.MD {
	for k := range md {
		if lowerKey(k) != k {
			out := make(metadata.MD, len(md))
			for k, vs := range md {
				k = strings.ToLower(k)
				out[k] = append(out[k], vs...)
			}
			return out
		}
	}
	return md
}

// matchHeader is the Transcoder's incoming header matcher (see
// incomingHeaderMatcher) for a canonical header name, answered from
// defaultIncoming when the API maps no headers of its own.
func (t *Transcoder) matchHeader(key string) (string, bool) {
	if t.requestHeaders == nil {
		k, ok := defaultIncoming[key]
		return k, ok
	}
	return t.incoming(key)
}

// defaultIncoming is IncomingHeaderMatcher's answer for every canonical
// header name it forwards, with the metadata key already lowercased (as
// metadata.Pairs would make it); a canonical name not in it is not
// forwarded. Built from IncomingHeaderMatcher itself, over the names it
// can accept: the forwardedHeaders and the IANA permanent headers that
// runtime.DefaultHeaderMatcher forwards.
var defaultIncoming = func() map[string]string {
	m := map[string]string{}
	names := []string{
		"Accept", "Accept-Charset", "Accept-Language", "Accept-Ranges", "Authorization",
		"Cache-Control", "Content-Type", "Cookie", "Date", "Expect", "From", "Host",
		"If-Match", "If-Modified-Since", "If-None-Match", "If-Schedule-Tag-Match",
		"If-Unmodified-Since", "Max-Forwards", "Origin", "Pragma", "Referer",
		"User-Agent", "Via", "Warning",
	}
	for k := range forwardedHeaders {
		names = append(names, textproto.CanonicalMIMEHeaderKey(k))
	}
	for _, n := range names {
		if k, ok := IncomingHeaderMatcher(n); ok {
			m[n] = strings.ToLower(k)
		}
	}
	return m
}()

// canonicalHeaders are header names known to be in canonical form, so
// that the common ones skip textproto.CanonicalMIMEHeaderKey's scan.
var canonicalHeaders = func() map[string]struct{} {
	m := map[string]struct{}{}
	for k := range defaultIncoming {
		m[k] = struct{}{}
	}
	for _, k := range []string{"Content-Length", "Accept-Encoding", "Connection", "Te", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip"} {
		m[k] = struct{}{}
	}
	return m
}()

// lowerKey returns k lowercased, without allocating when it already is.
func lowerKey(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(k)
		}
	}
	return k
}

// isValidMetadataKey reports whether key is a valid gRPC metadata key
// (0-9 a-z _ - ., uppercase ASCII accepted), as AnnotateContext checks.
func isValidMetadataKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// isValidMetadataText reports whether v is a valid gRPC ASCII metadata
// value (printable ASCII), as AnnotateContext checks.
func isValidMetadataText(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// decodeBinHeader decodes a "-bin" header's value, padded or not, as
// AnnotateContext does.
func decodeBinHeader(v string) ([]byte, error) {
	if len(v)%4 == 0 {
		return base64.StdEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// decodeTimeout decodes a Grpc-Timeout header as AnnotateContext does: a
// decimal count and a unit (H, M, S, m, u, n), saturating at the longest
// time.Duration.
func decodeTimeout(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("timeout string is too short: %q", s)
	}
	var d time.Duration
	switch s[len(s)-1] {
	case 'H':
		d = time.Hour
	case 'M':
		d = time.Minute
	case 'S':
		d = time.Second
	case 'm':
		d = time.Millisecond
	case 'u':
		d = time.Microsecond
	case 'n':
		d = time.Nanosecond
	default:
		return 0, fmt.Errorf("timeout unit is not recognized: %q", s)
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
	if err != nil {
		return 0, err
	}
	if n > uint64(math.MaxInt64)/uint64(d) {
		return time.Duration(math.MaxInt64), nil
	}
	return d * time.Duration(n), nil
}
