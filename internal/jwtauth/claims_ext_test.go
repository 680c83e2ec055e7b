package jwtauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// TestScopes checks how "scope" and "scp" become Claims.Scopes.
func TestScopes(t *testing.T) {
	k := keys()
	clock := newClock()
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(t, publicJWK(k.hmac, "oct", ""))},
		jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claims  map[string]any
		want    []string
		wantErr bool
	}{
		{"none", nil, nil, false},
		{"scope string", map[string]any{"scope": "orders:read orders:write"}, []string{"orders:read", "orders:write"}, false},
		{"scope with extra spaces", map[string]any{"scope": "  a   b "}, []string{"a", "b"}, false},
		{"empty scope", map[string]any{"scope": ""}, nil, false},
		{"scp string", map[string]any{"scp": "User.Read Mail.Send"}, []string{"User.Read", "Mail.Send"}, false},
		{"scp array", map[string]any{"scp": []string{"openid", "profile"}}, []string{"openid", "profile"}, false},
		{"scope and scp merged without duplicates", map[string]any{"scope": "a b", "scp": []string{"b", "c"}}, []string{"a", "b", "c"}, false},
		{"duplicates in scope", map[string]any{"scope": "a a b"}, []string{"a", "b"}, false},
		{"scope array", map[string]any{"scope": []string{"a"}}, nil, true},
		{"scope number", map[string]any{"scope": 1}, nil, true},
		{"scp number", map[string]any{"scp": 1}, nil, true},
		{"scp array with a number", map[string]any{"scp": []any{"a", 1}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), mint(t, jose.HS256, k.hmac, "oct", claimsAt(clock.Now(), tc.claims)))
			if tc.wantErr {
				if !errors.Is(err, jwtauth.ErrInvalidToken) {
					t.Fatalf("Verify error = %v, want ErrInvalidToken", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Scopes); diff != "" {
				t.Errorf("Scopes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRawClaims checks that Raw keeps every claim, numbers exactly.
func TestRawClaims(t *testing.T) {
	k := keys()
	clock := newClock()
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwksJSON(t, publicJWK(k.hmac, "oct", ""))},
		jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(context.Background(), mint(t, jose.HS256, k.hmac, "oct", claimsAt(clock.Now(), map[string]any{
		"user_id": json.Number("12345678901234567890"),
		"groups":  []string{"admins"},
		"email":   "a@example.com",
	})))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"user_id": json.Number("12345678901234567890"),
		"groups":  []any{"admins"},
		"email":   "a@example.com",
	} {
		if diff := cmp.Diff(want, got.Raw[name]); diff != "" {
			t.Errorf("Raw[%q] (-want +got):\n%s", name, diff)
		}
	}
}

func TestHasScope(t *testing.T) {
	c := &jwtauth.Claims{Scopes: []string{"orders:read", "orders:write"}}
	tests := []struct {
		name     string
		claims   *jwtauth.Claims
		required []string
		want     bool
	}{
		{"nothing required", c, nil, true},
		{"nothing required, nil claims", nil, nil, true},
		{"one held", c, []string{"orders:read"}, true},
		{"one of several held", c, []string{"admin", "orders:write"}, true},
		{"none held", c, []string{"admin"}, false},
		{"prefix is not a match", c, []string{"orders"}, false},
		{"case matters", c, []string{"ORDERS:READ"}, false},
		{"no scopes", &jwtauth.Claims{}, []string{"orders:read"}, false},
		{"nil claims", nil, []string{"orders:read"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := jwtauth.HasScope(tc.claims, tc.required); got != tc.want {
				t.Errorf("HasScope = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi"},
		{"bearer abc", "abc"},
		{"BEARER abc", "abc"},
		{"BeArEr abc", "abc"},
		{"Bearer   abc", "abc"},
		{"Bearer\tabc", "abc"},
		{"  Bearer abc  ", "abc"},
		{"Bearer abc==", "abc=="},
		{"", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer    ", ""},
		{"Bearerabc", ""},
		{"Basic dXNlcjpwYXNz", ""},
		{"Token abc", ""},
		{"abc.def.ghi", ""},
		{"Bearer abc def", ""},
		{"Bearer, abc", ""},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			if got := jwtauth.BearerToken(tc.header); got != tc.want {
				t.Errorf("BearerToken(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}
