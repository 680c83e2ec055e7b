package transcode

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/headermap"
)

// annotateCase is a Transcoder's metadata configuration.
type annotateCase struct {
	patterns   []string
	outgoing   metadata.MD
	perRequest func(*http.Request) metadata.MD
}

// transcoderFor returns a Transcoder carrying only what annotate reads.
func (c annotateCase) transcoderFor(t testing.TB) *Transcoder {
	p, err := headermap.Compile(c.patterns)
	if err != nil {
		t.Fatal(err)
	}
	o := c.options()
	return &Transcoder{requestHeaders: p, incoming: incomingHeaderMatcher(p), outgoing: o.outgoing.Copy(), perRequest: o.perRequest}
}

// options are the Transcoder options of c, as New gets them.
func (c annotateCase) options() options {
	o := defaultOptions()
	if c.outgoing != nil {
		WithOutgoingMetadata(c.outgoing)(&o)
	}
	if c.perRequest != nil {
		WithRequestMetadata(c.perRequest)(&o)
	}
	return o
}

// reference returns what grpc-gateway's runtime.AnnotateContext makes of
// req with the ServeMux the Transcoder used to build for the same
// configuration: the outgoing metadata (nil if none), whether a deadline
// was set, and the error.
func (c annotateCase) reference(t testing.TB, req *http.Request) (metadata.MD, bool, error) {
	p, err := headermap.Compile(c.patterns)
	if err != nil {
		t.Fatal(err)
	}
	opts := []runtime.ServeMuxOption{runtime.WithIncomingHeaderMatcher(incomingHeaderMatcher(p))}
	if o := c.options(); len(o.outgoing) > 0 || o.perRequest != nil {
		fixed, perRequest := o.outgoing.Copy(), o.perRequest
		opts = append(opts, runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
			if perRequest == nil {
				return fixed
			}
			return metadata.Join(fixed, perRequest(r))
		}))
	}
	ctx, err := runtime.AnnotateContext(context.Background(), runtime.NewServeMux(opts...), req, "/pkg.S/M")
	if err != nil {
		return nil, false, err
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	_, deadline := ctx.Deadline()
	return md, deadline, nil
}

// check compares annotate with the reference on req.
func (c annotateCase) check(t *testing.T, req *http.Request) {
	t.Helper()
	wantMD, wantDeadline, wantErr := c.reference(t, req)
	ctx, cancel, err := c.transcoderFor(t).annotate(context.Background(), req)
	defer cancel()
	if (err == nil) != (wantErr == nil) || (err != nil && status.Convert(err).Message() != status.Convert(wantErr).Message()) {
		t.Fatalf("error %v, want %v", err, wantErr)
	}
	if err != nil {
		return
	}
	gotMD, _ := metadata.FromOutgoingContext(ctx)
	if diff := cmp.Diff(wantMD, gotMD); diff != "" {
		t.Errorf("metadata (-AnnotateContext +annotate):\n%s", diff)
	}
	if _, deadline := ctx.Deadline(); deadline != wantDeadline {
		t.Errorf("deadline set %v, want %v", deadline, wantDeadline)
	}
}

// TestAnnotateMatchesGRPCGateway: the metadata of a transcoded call is
// the one runtime.AnnotateContext derives, whatever the headers, the API's
// header mapping and the gateway's own metadata.
func TestAnnotateMatchesGRPCGateway(t *testing.T) {
	gatewayMD := func(r *http.Request) metadata.MD {
		return metadata.MD{"x-forwarded-for": {"203.0.113.9"}, "X-Tollgate-Method": {r.Method}}
	}
	configs := map[string]annotateCase{
		"default":        {},
		"mapping":        {patterns: []string{"x-user-id", "x-custom-*"}},
		"gateway":        {outgoing: metadata.MD{"x-tollgate-stage": {"prod"}, "user-agent": {"gw"}}, perRequest: gatewayMD},
		"per-request":    {perRequest: gatewayMD},
		"fixed-only":     {outgoing: metadata.MD{"X-Api-Key": {"fixed"}}},
		"mapping+gw":     {patterns: []string{"x-*"}, perRequest: gatewayMD},
		"mapping-accept": {patterns: []string{"accept", "authorization"}},
	}
	requests := map[string]func(r *http.Request){
		"plain": func(r *http.Request) {},
		"forwarded": func(r *http.Request) {
			r.Header["Authorization"] = []string{"Bearer a", "Bearer b"}
			r.Header.Set("X-Api-Key", "k")
			r.Header.Set("X-Request-Id", "rid")
			r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			r.Header.Set("User-Agent", "curl/8")
			r.Header.Set("Accept", "application/json")
			r.Header.Set("Cookie", "a=b")
			r.Header.Set("X-User-Id", "u1")
			r.Header.Set("X-Custom-One", "c1")
			r.Header["X-Custom-Two"] = []string{"c2", "c3"}
			r.Header.Set("X-Other", "dropped")
		},
		"forwarding headers": func(r *http.Request) {
			r.Header["X-Forwarded-For"] = []string{"198.51.100.1", "bad\x01", "198.51.100.2"}
			r.Header.Set("X-Forwarded-Host", "api.example.com")
			r.Header.Set("Grpc-Metadata-X-Forwarded-For", "spoof")
		},
		"bad forwarded host": func(r *http.Request) { r.Header.Set("X-Forwarded-Host", "bad\x7f") },
		"no remote address":  func(r *http.Request) { r.RemoteAddr = ""; r.Host = "" },
		"odd remote address": func(r *http.Request) { r.RemoteAddr = "not-an-address" },
		"invalid values": func(r *http.Request) {
			r.Header.Set("Authorization", "caf\xc3\xa9")
			r.Header.Set("User-Agent", "tab\there")
			r.Header.Set("X-Api-Key", "ok")
		},
		"binary ok":        func(r *http.Request) { r.Header.Set("X-Custom-Data-Bin", "aGVsbG8") },
		"binary padded":    func(r *http.Request) { r.Header.Set("X-Custom-Data-Bin", "aGVsbG8=") },
		"binary bad":       func(r *http.Request) { r.Header.Set("X-Custom-Data-Bin", "!!!") },
		"timeout":          func(r *http.Request) { r.Header.Set("Grpc-Timeout", "5S") },
		"timeout huge":     func(r *http.Request) { r.Header.Set("Grpc-Timeout", "99999999999999H") },
		"timeout bad unit": func(r *http.Request) { r.Header.Set("Grpc-Timeout", "5x") },
		"timeout short":    func(r *http.Request) { r.Header.Set("Grpc-Timeout", "5") },
		"timeout bad":      func(r *http.Request) { r.Header.Set("Grpc-Timeout", "-1S") },
		"non-canonical": func(r *http.Request) {
			r.Header["x-api-key"] = []string{"lower"}
			r.Header["user-agent"] = []string{"lower-ua"}
			r.Header["x-custom-lower"] = []string{"v"}
			r.Header["x-forwarded-host"] = []string{"skipped"}
		},
		"internal": func(r *http.Request) {
			r.Header.Set("X-Tollgate-Principal", "forged")
			r.Header.Set("X-Custom-Tollgate", "v")
		},
		"invalid name": func(r *http.Request) { r.Header["X-Custom Space"] = []string{"v"} },
	}
	for cname, c := range configs {
		for rname, set := range requests {
			t.Run(cname+"/"+rname, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, "http://gw.example/v1/echo", strings.NewReader("{}"))
				set(req)
				c.check(t, req)
			})
		}
	}
}

// TestDefaultIncoming: the table annotate answers from is
// IncomingHeaderMatcher's answer for canonical names, lowercased.
func TestDefaultIncoming(t *testing.T) {
	names := []string{"Accept", "Authorization", "User-Agent", "X-Api-Key", "X-Request-Id", "Traceparent",
		"Tracestate", "Baggage", "Content-Length", "Accept-Encoding", "X-Tollgate-Principal", "Grpc-Metadata-Foo", "Host", "Te", "Connection"}
	for _, n := range names {
		want, wantOK := IncomingHeaderMatcher(n)
		got, ok := (&Transcoder{}).matchHeader(n)
		if ok != wantOK || got != strings.ToLower(want) {
			t.Errorf("matchHeader(%q) = %q, %v; IncomingHeaderMatcher says %q, %v", n, got, ok, want, wantOK)
		}
	}
}

// FuzzAnnotate: for any header name and value, annotate derives the
// metadata (or the error) that runtime.AnnotateContext does.
func FuzzAnnotate(f *testing.F) {
	f.Add("X-Api-Key", "k", "10.0.0.1:5", false)
	f.Add("X-Custom-Bin", "aGk", "[::1]:80", true)
	f.Add("Grpc-Timeout", "3m", "", false)
	f.Add("x-forwarded-for", "1.2.3.4", "10.0.0.1:5", true)
	f.Fuzz(func(t *testing.T, name, value, remote string, mapping bool) {
		if !validHeaderName(name) {
			return
		}
		c := annotateCase{perRequest: func(*http.Request) metadata.MD { return metadata.MD{"x-forwarded-proto": {"http"}} }}
		if mapping {
			c.patterns = []string{"x-*"}
		}
		req := httptest.NewRequest(http.MethodGet, "http://gw.example/", nil)
		req.RemoteAddr = remote
		req.Header[name] = []string{value}
		req.Header.Add("User-Agent", value)
		c.check(t, req)
	})
}

// validHeaderName reports whether s is an HTTP token, as a header name
// that reaches the transcoder is.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// BenchmarkAnnotate compares annotate with runtime.AnnotateContext on the
// headers of loadbench's REST call after the gateway's setForwarded, with
// the gateway's per-request metadata.
func BenchmarkAnnotate(b *testing.B) {
	c := annotateCase{perRequest: func(r *http.Request) metadata.MD {
		md := metadata.MD{}
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip"} {
			if v := r.Header.Get(k); v != "" {
				md[strings.ToLower(k)] = []string{v}
			}
		}
		return md
	}}
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/v1/echo", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Content-Length", "1400")
	req.Header.Set("X-Forwarded-For", "192.0.2.1")
	req.Header.Set("X-Forwarded-Host", "127.0.0.1:8080")
	req.Header.Set("X-Forwarded-Proto", "http")
	req.Header.Set("Forwarded", `for=192.0.2.1;host="127.0.0.1:8080";proto=http`)
	req.Header.Set("X-Real-Ip", "192.0.2.1")
	b.Run("annotate", func(b *testing.B) {
		tc := c.transcoderFor(b)
		b.ReportAllocs()
		for b.Loop() {
			_, cancel, err := tc.annotate(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
	b.Run("AnnotateContext", func(b *testing.B) {
		o := c.options()
		mux := runtime.NewServeMux(runtime.WithIncomingHeaderMatcher(IncomingHeaderMatcher),
			runtime.WithMetadata(func(_ context.Context, r *http.Request) metadata.MD {
				return metadata.Join(o.outgoing, o.perRequest(r))
			}))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := runtime.AnnotateContext(context.Background(), mux, req, "/pkg.S/M", runtime.WithHTTPPathPattern("/v1/echo")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
