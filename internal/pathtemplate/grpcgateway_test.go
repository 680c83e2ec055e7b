package pathtemplate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// grpcGatewayAccepts reports whether grpc-gateway's runtime accepts tmpl
// as a path pattern: ServeMux.HandlePath parses it with the same parser
// as protoc-gen-grpc-gateway (internal/httprule) and compiles it into a
// runtime.Pattern, which refuses a second "**".
func grpcGatewayAccepts(tmpl string) (*runtime.ServeMux, bool) {
	mux := runtime.NewServeMux()
	err := mux.HandlePath(http.MethodGet, tmpl, func(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux, err == nil
}

// grammarCases are templates whose acceptance grpc-gateway decides in
// ways that are easy to get wrong.
var grammarCases = []string{
	"/v1/example/a_bit_of_everything/{uuid}:custom:custom",
	"/v1/{name=**}:a:b", "/v1/x:a:b", "/v1/x:", "/v1/{a}:", "/:v", "/", "//", "/v1//", "/v1//x", "/v1///",
	"/v1/{a=/}", "/v1/{a=//}", "/v1/{a=x//}", "/v1/{a=/x}", "/v1/a:b/c", "/v1/{a=b:c}", "/v1/a=b", "/v1/a*",
	"/v1/***", "/v1/.", "/v1/..", "/v1/{a}/{a}", "/v1/{name=**}/x", "/v1/**/**", "/{a=**}/{b=**}",
	"/v1/{a}:{b}", "/v1/{a}x", "/v1/x{a}", "/v1/{a.}", "/v1/{1a}", "/v1/{a:b}", "/v1/{a=b", "/v1/%zz",
	"/v1/x:%zz", "/v1/x:a*=@", "/v1/x:a}", "/v1/x:a{", "/v1/{a}:a/b", "/v1/}", "/v1/é", "v1", "",
	"/v1/{a=*}:v", "/v1/{a=**}", "/**:v:w", "/*:v:w", "/v1/{a=x/**}:v",
}

// TestGrammarMatchesGRPCGateway requires Parse to accept exactly the
// templates grpc-gateway accepts.
func TestGrammarMatchesGRPCGateway(t *testing.T) {
	for _, s := range grammarCases {
		_, theirs := grpcGatewayAccepts(s)
		_, err := Parse(s)
		if ours := err == nil; ours != theirs {
			t.Errorf("Parse(%q): accepted %v (%v), grpc-gateway accepted %v", s, ours, err, theirs)
		}
	}
}

// matchPaths are request paths the differential matching test tries on
// every template.
var matchPaths = []string{
	"/", "/v1", "/v1/x", "/v1/x:a:b", "/v1/x:b", "/v1/a/b/x", "/v1/x/y:v",
	"/v1/example/a_bit_of_everything/u1:custom:custom", "/v1/p:a:b", "/v1/a:b/c", "/v1/a=b", "/:v",
}

// TestMatchesLikeGRPCGateway requires Match to agree with grpc-gateway's
// ServeMux on which paths a template matches, for paths without the
// characters whose handling differs deliberately (see the package doc).
func TestMatchesLikeGRPCGateway(t *testing.T) {
	for _, s := range grammarCases {
		tmpl, err := Parse(s)
		mux, ok := grpcGatewayAccepts(s)
		if err != nil || !ok {
			continue
		}
		for _, p := range matchPaths {
			compareMatch(t, tmpl, mux, s, p)
		}
	}
}

// compareMatch compares Match with grpc-gateway's ServeMux on one path.
func compareMatch(t *testing.T, tmpl *Template, mux *runtime.ServeMux, s, path string) {
	t.Helper()
	if path == "/" && len(tmpl.segs) > 0 {
		// "/" has one empty segment for grpc-gateway, which "*" matches;
		// for Match it has none (empty segments never match).
		return
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	theirs := rec.Code == http.StatusNoContent
	if _, ours := tmpl.Match(path); ours != theirs {
		t.Errorf("Parse(%q).Match(%q) = %v, grpc-gateway matched: %v", s, path, ours, theirs)
	}
}

// FuzzGrammarAgainstGRPCGateway compares Parse with grpc-gateway's parser
// on any template within Tollgate's size limits, and Match with its
// ServeMux on paths built from a small alphabet.
func FuzzGrammarAgainstGRPCGateway(f *testing.F) {
	for i, s := range grammarCases {
		f.Add(s, matchPaths[i%len(matchPaths)])
	}
	f.Fuzz(func(t *testing.T, s, path string) {
		if len(s) > 256 || strings.Contains(s, "\x00") {
			// Tollgate's limits (MaxLength, MaxSegments) are its own, and
			// grpc-gateway's parser takes a NUL byte for the end of the
			// template ("/\x00" is "/"), which Tollgate refuses.
			return
		}
		tmpl, err := Parse(s)
		mux, theirs := grpcGatewayAccepts(s)
		if ours := err == nil; ours != theirs {
			t.Fatalf("Parse(%q): accepted %v (%v), grpc-gateway accepted %v", s, ours, err, theirs)
		}
		if err != nil || strings.ContainsAny(s, "%.") || !comparablePath(path) {
			return
		}
		compareMatch(t, tmpl, mux, s, path)
	})
}

// comparablePath reports whether path avoids what Match rejects
// deliberately where grpc-gateway matches ("." and ".." segments, empty
// segments, percent-escapes).
func comparablePath(path string) bool {
	if !strings.HasPrefix(path, "/") || len(path) > 64 || strings.ContainsAny(path, "%?#") {
		return false
	}
	if path == "/" {
		return true
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; c <= ' ' || c >= 0x7f {
				return false
			}
		}
	}
	return true
}
