package cors_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/internal/cors"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    *adminv1.CorsConfiguration
		fields []string
	}{
		{"good", &adminv1.CorsConfiguration{
			AllowOrigins: []string{"https://app.example.com", "https://*.example.com", "http://localhost:3000"},
			AllowMethods: []string{"GET", "PUT", "*"}, AllowHeaders: []string{"Authorization", "X-Api-Key"},
			ExposeHeaders: []string{"X-Request-Id"}, MaxAgeSeconds: 600, AllowCredentials: true,
		}, nil},
		{"any origin without credentials", &adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, ExposeHeaders: []string{"*"}}, nil},
		{"any origin with credentials", &adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, AllowCredentials: true}, []string{"allow_credentials"}},
		{"expose any with credentials", &adminv1.CorsConfiguration{AllowOrigins: []string{"https://a.example"}, ExposeHeaders: []string{"*"}, AllowCredentials: true}, []string{"allow_credentials"}},
		{"bad origins", &adminv1.CorsConfiguration{AllowOrigins: []string{
			"app.example.com", "https://app.example.com/", "https://a.*.example.com", "https://*", "https://user@example.com", "*.example.com", "https://ex*ample.com",
		}}, []string{"allow_origins[0]", "allow_origins[1]", "allow_origins[2]", "allow_origins[3]", "allow_origins[4]", "allow_origins[5]", "allow_origins[6]"}},
		{"bad names", &adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET POST"}, AllowHeaders: []string{"a:b"}, ExposeHeaders: []string{""}},
			[]string{"allow_methods[0]", "allow_headers[0]", "expose_headers[0]"}},
		{"max age", &adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, MaxAgeSeconds: 86401}, []string{"max_age_seconds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range cors.Validate(tc.cfg) {
				got = append(got, v.Field)
			}
			if strings.Join(got, " ") != strings.Join(tc.fields, " ") {
				t.Fatalf("violations of %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestPreflightAndDecorate(t *testing.T) {
	withCreds, err := cors.Compile(&adminv1.CorsConfiguration{
		AllowOrigins: []string{"https://app.example.com", "https://*.example.org"}, AllowMethods: []string{"PUT", "DELETE"},
		AllowHeaders: []string{"Authorization", "Content-Type"}, ExposeHeaders: []string{"X-Request-Id"}, MaxAgeSeconds: 300, AllowCredentials: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	anyOrigin, err := cors.Compile(&adminv1.CorsConfiguration{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		p               *cors.Policy
		origin, method  string
		reqHeaders      string
		wantOrigin      string
		wantMethods     string
		wantHeaders     string
		wantCredentials string
	}{
		{"allowed", withCreds, "https://app.example.com", "PUT", "authorization, content-type", "https://app.example.com", "PUT, DELETE", "authorization, content-type", "true"},
		{"wildcard subdomain", withCreds, "https://a.b.example.org", "DELETE", "", "https://a.b.example.org", "PUT, DELETE", "authorization, content-type", "true"},
		{"wildcard needs a subdomain", withCreds, "https://example.org", "DELETE", "", "", "", "", ""},
		{"wildcard keeps the scheme", withCreds, "http://a.example.org", "DELETE", "", "", "", "", ""},
		{"other origin", withCreds, "https://evil.example", "PUT", "", "", "", "", ""},
		{"suffix lookalike", withCreds, "https://app.example.com.evil.example", "PUT", "", "", "", "", ""},
		{"method not allowed", withCreds, "https://app.example.com", "PATCH", "", "", "", "", ""},
		{"safelisted method", withCreds, "https://app.example.com", "POST", "content-type", "https://app.example.com", "PUT, DELETE", "authorization, content-type", "true"},
		{"header not allowed", withCreds, "https://app.example.com", "PUT", "x-other", "", "", "", ""},
		{"any", anyOrigin, "https://x.example", "PATCH", "x-a,x-b", "*", "PATCH", "x-a,x-b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodOptions, "/prod/x", nil)
			r.Header.Set("Origin", tc.origin)
			r.Header.Set("Access-Control-Request-Method", tc.method)
			if tc.reqHeaders != "" {
				r.Header.Set("Access-Control-Request-Headers", tc.reqHeaders)
			}
			if !cors.IsPreflight(r) {
				t.Fatal("not a preflight")
			}
			w := httptest.NewRecorder()
			tc.p.Preflight(w, r)
			h := w.Result().Header
			if w.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != tc.wantOrigin ||
				h.Get("Access-Control-Allow-Methods") != tc.wantMethods || h.Get("Access-Control-Allow-Headers") != tc.wantHeaders ||
				h.Get("Access-Control-Allow-Credentials") != tc.wantCredentials {
				t.Fatalf("preflight answer %d %v", w.Code, h)
			}
			if tc.wantOrigin != "" && tc.p == withCreds && h.Get("Access-Control-Max-Age") != "300" {
				t.Fatalf("max age %q", h.Get("Access-Control-Max-Age"))
			}
			// The actual request.
			w = httptest.NewRecorder()
			w.Header().Set("Access-Control-Allow-Origin", "https://backend-says.example")
			cw := tc.p.Writer(w, tc.origin)
			cw.WriteHeader(http.StatusOK)
			h = w.Result().Header
			// A preflight refused for its method or headers still comes
			// from an allowed origin.
			allowed := tc.wantOrigin != "" || tc.origin == "https://app.example.com"
			want := ""
			switch {
			case allowed && tc.p == anyOrigin:
				want = "*"
			case allowed:
				want = tc.origin
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != want {
				t.Fatalf("actual response Access-Control-Allow-Origin %q, want %q", got, want)
			}
			if allowed && tc.p == withCreds && h.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
				t.Fatalf("expose headers %q", h.Get("Access-Control-Expose-Headers"))
			}
		})
	}
}

// FuzzValidateOrigin checks that an accepted origin pattern matches
// itself (exact) or a subdomain (wildcard), and never panics.
func FuzzValidateOrigin(f *testing.F) {
	for _, s := range []string{"https://app.example.com", "https://*.example.com:8443", "*", "http://[::1]:3000", "https://*", "a://b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg := &adminv1.CorsConfiguration{AllowOrigins: []string{s}, AllowMethods: []string{"PUT"}}
		if len(cors.Validate(cfg)) > 0 {
			if p, err := cors.Compile(cfg); err == nil && p != nil {
				t.Fatalf("Compile accepted %q, which Validate refuses", s)
			}
			return
		}
		p, err := cors.Compile(cfg)
		if err != nil || p == nil {
			t.Fatalf("Compile(%q) = %v, %v after Validate accepted it", s, p, err)
		}
		o := strings.ToLower(strings.Replace(s, "*.", "sub.", 1))
		if s == "*" {
			o = "https://any.example"
		}
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header.Set("Origin", o)
		r.Header.Set("Access-Control-Request-Method", "PUT")
		w := httptest.NewRecorder()
		p.Preflight(w, r)
		if w.Result().Header.Get("Access-Control-Allow-Origin") == "" {
			t.Fatalf("%q does not allow %q", s, o)
		}
	})
}
