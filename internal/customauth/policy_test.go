package customauth_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"
)

func TestMatchResource(t *testing.T) {
	tests := []struct {
		pattern, resource string
		want              bool
	}{
		{"*", "shop/prod/GET/v1/pets/1", true},
		{"*", "", true},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
		{"shop/prod/GET/v1/pets/1", "shop/prod/GET/v1/pets/1", true},
		{"shop/prod/GET/v1/pets/1", "shop/prod/GET/v1/pets/12", false},
		{"shop/prod/GET/v1/pets/12", "shop/prod/GET/v1/pets/1", false},
		{"shop/prod/get/v1/pets/1", "shop/prod/GET/v1/pets/1", false}, // case-sensitive
		{"shop/prod/GET/*", "shop/prod/GET/v1/pets/1", true},          // "*" crosses "/"
		{"shop/prod/GET/*", "shop/prod/GET/", true},                   // "*" matches nothing
		{"shop/prod/GET/*", "shop/prod/GET", false},
		{"shop/*", "shop/prod/DELETE/v1/pets/1", true},
		{"shop/*", "shopping/prod/GET/x", false},
		{"shop/prod/*/v1/pets/*", "shop/prod/DELETE/v1/pets/1", true},
		{"shop/prod/*/v1/pets/*", "shop/prod/DELETE/v1/owners/1", false},
		{"*/prod/GET/*", "shop/prod/GET/v1/pets", true},
		{"*/prod/GET/*", "shop/beta/GET/v1/pets", false},
		{"shop/prod/GET/pets", "shop/prod/DELETE/pets/1", false},
		{"shop/prod/GRPC/shop.v1.Pets/*", "shop/prod/GRPC/shop.v1.Pets/Get", true},
		{"shop/prod/GRPC/shop.v1.Pets/*", "shop/prod/GRPC/shop.v1.Owners/Get", false},
		{"*a*b*c", "xaxbxc", true},
		{"*a*b*c", "xaxbxcx", false},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false}, // backtracking
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true},
		{"?", "x", false},   // "?" is literal
		{"[a]", "a", false}, // "[" is literal
		{"a.b", "axb", false},
	}
	for _, tt := range tests {
		if got := customauth.MatchResource(tt.pattern, tt.resource); got != tt.want {
			t.Errorf("MatchResource(%q, %q) = %v, want %v", tt.pattern, tt.resource, got, tt.want)
		}
	}
}

// TestDecidePolicy is the policy evaluation table: an explicit Deny wins,
// then an Allow; a resource nothing matches is denied.
func TestDecidePolicy(t *testing.T) {
	stmt := func(effect datav1.Effect, resources ...string) *datav1.Statement {
		return &datav1.Statement{Effect: effect, Resources: resources}
	}
	allowS := func(resources ...string) *datav1.Statement { return stmt(datav1.Effect_EFFECT_ALLOW, resources...) }
	denyS := func(resources ...string) *datav1.Statement { return stmt(datav1.Effect_EFFECT_DENY, resources...) }
	tests := []struct {
		name     string
		policy   []*datav1.Statement
		resource string
		want     bool
	}{
		{"exact allow", []*datav1.Statement{allowS("shop/prod/GET/v1/pets/1")}, "shop/prod/GET/v1/pets/1", true},
		{"wildcard allow", []*datav1.Statement{allowS("shop/prod/GET/*")}, "shop/prod/GET/v1/pets/1", true},
		{"allow everything", []*datav1.Statement{allowS("*")}, "shop/prod/GRPC/shop.v1.Pets/Get", true},
		{"no match denies", []*datav1.Statement{allowS("shop/prod/GET/*")}, "shop/prod/POST/v1/pets", false},
		{"empty policy denies", nil, "shop/prod/GET/v1/pets/1", false},
		{"deny wins over allow", []*datav1.Statement{allowS("*"), denyS("shop/prod/DELETE/*")}, "shop/prod/DELETE/v1/pets/1", false},
		{"deny wins whatever the order", []*datav1.Statement{denyS("shop/prod/DELETE/*"), allowS("*")}, "shop/prod/DELETE/v1/pets/1", false},
		{"deny elsewhere does not deny", []*datav1.Statement{allowS("*"), denyS("shop/prod/DELETE/*")}, "shop/prod/GET/v1/pets/1", true},
		{"deny-only denies", []*datav1.Statement{denyS("shop/prod/DELETE/*")}, "shop/prod/GET/v1/pets/1", false},
		{"second resource of a statement", []*datav1.Statement{allowS("shop/prod/GET/v1/owners/*", "shop/prod/GET/v1/pets/*")}, "shop/prod/GET/v1/pets/1", true},
		{"second allow statement", []*datav1.Statement{allowS("shop/beta/*"), allowS("shop/prod/*")}, "shop/prod/GET/v1/pets/1", true},
		{"gRPC method", []*datav1.Statement{allowS("shop/prod/GRPC/shop.v1.Pets/*")}, "shop/prod/GRPC/shop.v1.Pets/Get", true},
		{"other stage", []*datav1.Statement{allowS("shop/beta/*")}, "shop/prod/GET/v1/pets/1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &datav1.AuthorizeResponse{
				PrincipalId:        "user-1",
				Policy:             tt.policy,
				Context:            map[string]string{"tenant": "t1"},
				UsageIdentifierKey: "key-1",
			}
			a := customauth.New(customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
				return resp, nil
			}))
			got := decide(t, a, tokenRequest("tok", tt.resource))
			want := customauth.Decision{PrincipalID: "user-1"}
			if tt.want {
				want = customauth.Decision{Allowed: true, PrincipalID: "user-1", Context: map[string]string{"tenant": "t1"}, UsageIdentifierKey: "key-1"}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decide(%q) mismatch (-want +got):\n%s", tt.resource, diff)
			}
		})
	}
}

// TestDecideInvalidateCache is the table of the execute-api:InvalidateCache
// action: granted like Invoke (a Deny wins), never by a statement without
// actions, and never to a call that may not invoke.
func TestDecideInvalidateCache(t *testing.T) {
	const res = "shop/prod/GET/v1/pets/1"
	stmt := func(effect datav1.Effect, resource string, actions ...string) *datav1.Statement {
		return &datav1.Statement{Effect: effect, Resources: []string{resource}, Actions: actions}
	}
	allowS := func(r string, actions ...string) *datav1.Statement {
		return stmt(datav1.Effect_EFFECT_ALLOW, r, actions...)
	}
	denyS := func(r string, actions ...string) *datav1.Statement {
		return stmt(datav1.Effect_EFFECT_DENY, r, actions...)
	}
	tests := []struct {
		name                  string
		policy                []*datav1.Statement
		wantAllowed, wantInvl bool
	}{
		{"no actions is invoke only", []*datav1.Statement{allowS("*")}, true, false},
		{"invoke and invalidate", []*datav1.Statement{allowS("*"), allowS(res, customauth.ActionInvalidateCache)}, true, true},
		{"execute-api:* grants both", []*datav1.Statement{allowS("*", customauth.ActionAll)}, true, true},
		{"invalidate elsewhere", []*datav1.Statement{allowS("*"), allowS("shop/prod/GET/v1/owners/*", customauth.ActionInvalidateCache)}, true, false},
		{"invalidate without invoke", []*datav1.Statement{allowS("*", customauth.ActionInvalidateCache)}, false, false},
		{"deny invalidate wins", []*datav1.Statement{allowS("*", customauth.ActionAll), denyS(res, customauth.ActionInvalidateCache)}, true, false},
		{"deny invoke denies both", []*datav1.Statement{allowS("*", customauth.ActionAll), denyS(res)}, false, false},
		{"explicit invoke", []*datav1.Statement{allowS("*", customauth.ActionInvoke)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &datav1.AuthorizeResponse{PrincipalId: "user-1", Policy: tt.policy}
			a := customauth.New(customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
				return resp, nil
			}))
			got := decide(t, a, tokenRequest("tok", res))
			if got.Allowed != tt.wantAllowed || got.MayInvalidateCache != tt.wantInvl {
				t.Errorf("Decide = allowed %v, may invalidate %v; want %v, %v", got.Allowed, got.MayInvalidateCache, tt.wantAllowed, tt.wantInvl)
			}
		})
	}
}

// TestDecideMalformed lists the responses that break the protocol.
func TestDecideMalformed(t *testing.T) {
	tests := []struct {
		name string
		resp *datav1.AuthorizeResponse
	}{
		{"no response", nil},
		{"unknown effect", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{{Effect: datav1.Effect(7), Resources: []string{"*"}}}}},
		{"unspecified effect", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{{Resources: []string{"*"}}}}},
		{"statement without resources", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_DENY}}}},
		{"empty resource", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/*", ""}}}}},
		{"allow without principal", allow("", "*")},
		{"nil statement", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{nil}}},
		{"unknown action", &datav1.AuthorizeResponse{PrincipalId: "u", Policy: []*datav1.Statement{{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"*"}, Actions: []string{"execute-api:Delete"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := customauth.New(customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
				return tt.resp, nil
			}))
			_, err := a.Decide(t.Context(), tokenRequest("tok", "shop/prod/GET/x"))
			if !errors.Is(err, customauth.ErrAuthorizerFailed) || errors.Is(err, customauth.ErrAuthorizerTimeout) {
				t.Errorf("Decide error = %v, want ErrAuthorizerFailed and not ErrAuthorizerTimeout", err)
			}
		})
	}

	t.Run("deny without principal is well formed", func(t *testing.T) {
		a := customauth.New(customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
			return deny("*"), nil
		}))
		if d := decide(t, a, tokenRequest("tok", "shop/prod/GET/x")); d.Allowed {
			t.Errorf("Decide = %+v, want denied", d)
		}
	})
}

// matchRegexp is the reference MatchResource: the pattern as an anchored
// regular expression, "*" being ".*".
func matchRegexp(pattern, resource string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)\A` + strings.Join(parts, ".*") + `\z`).MatchString(resource)
}

// matchOneStar is MatchResource as it was first written, one byte at a
// time with the last star swallowing a byte more on each mismatch: the
// reference the segment-wise matcher is checked against.
func matchOneStar(pattern, resource string) bool {
	p, r := 0, 0
	star, mark := -1, 0
	for r < len(resource) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, r
			p++
		case p < len(pattern) && pattern[p] == resource[r]:
			p++
			r++
		case star >= 0:
			mark++
			p, r = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func FuzzMatchResource(f *testing.F) {
	seeds := [][2]string{
		{"*", "shop/prod/GET/v1/pets/1"},
		{"shop/prod/GET/*", "shop/prod/GET/v1/pets/1"},
		{"shop/prod/*/v1/pets/*", "shop/prod/DELETE/v1/pets/1"},
		{"a*a*a*b", "aaaaaaaaaaaaaaaaaaaa"},
		{"", ""},
		{"*?*", "é/\x00"},
		{"ab*ba", "aba"}, {"a**b", "ab"}, {"*ab*ab*", "abab"},
		{"shop/prod/*", "shop/prod/GRPC/shop.v1.Pets/Get"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		got := customauth.MatchResource(pattern, resource)
		if want := matchOneStar(pattern, resource); got != want {
			t.Fatalf("MatchResource(%q, %q) = %v, the byte-wise matcher says %v", pattern, resource, got, want)
		}
		if !customauth.MatchResource("*", resource) {
			t.Fatalf(`MatchResource("*", %q) = false`, resource)
		}
		// A pattern matches itself: each "*" can match a literal "*".
		if !customauth.MatchResource(resource, resource) {
			t.Fatalf("MatchResource(%q, itself) = false", resource)
		}
		// The regexp package reads invalid UTF-8 as U+FFFD, so it is a
		// reference only for valid UTF-8; keep it small to stay fast.
		if utf8.ValidString(pattern) && utf8.ValidString(resource) && len(pattern) < 64 && len(resource) < 256 {
			if want := matchRegexp(pattern, resource); got != want {
				t.Fatalf("MatchResource(%q, %q) = %v, regexp says %v", pattern, resource, got, want)
			}
		}
	})
}
