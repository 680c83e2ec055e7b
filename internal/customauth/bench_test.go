package customauth_test

import (
	"context"
	"strings"
	"testing"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"
)

// BenchmarkDecideCached measures a cache hit, the common case: hashing the
// identity, the LRU lookup and evaluating the policy.
func BenchmarkDecideCached(b *testing.B) {
	// A JSON Web Token of a realistic size.
	token := "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + strings.Repeat("eyJzdWIiOiJ1c2VyLTEifQ", 12) + "." + strings.Repeat("c2lnbmF0dXJl", 14)
	resp := &datav1.AuthorizeResponse{
		PrincipalId: "user-1",
		Policy: []*datav1.Statement{
			{Effect: datav1.Effect_EFFECT_DENY, Resources: []string{"shop/prod/DELETE/*", "shop/prod/*/v1/admin/*"}},
			{Effect: datav1.Effect_EFFECT_ALLOW, Resources: []string{"shop/beta/*", "shop/prod/GET/v1/pets/*", "shop/prod/POST/v1/pets"}},
		},
		Context:            map[string]string{"tenant": "t1", "scope": "pets:read pets:write"},
		UsageIdentifierKey: "key-1",
	}
	caller := customauth.CallerFunc(func(context.Context, *datav1.AuthorizeRequest) (*datav1.AuthorizeResponse, error) {
		return resp, nil
	})
	for _, bb := range []struct {
		name string
		req  customauth.Request
	}{
		{"token", tokenRequest(token, "shop/prod/GET/v1/pets/1")},
		{"request", requestRequest(token, "tenant-1", "shop/prod/GET/v1/pets/1")},
	} {
		b.Run(bb.name, func(b *testing.B) {
			a := customauth.New(caller)
			ctx := b.Context()
			if d, err := a.Decide(ctx, bb.req); err != nil || !d.Allowed {
				b.Fatalf("Decide = %+v, %v", d, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				d, err := a.Decide(ctx, bb.req)
				if err != nil || !d.FromCache {
					b.Fatalf("Decide = %+v, %v", d, err)
				}
			}
		})
	}
}

// BenchmarkMatchResource measures one pattern match with wildcards.
func BenchmarkMatchResource(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !customauth.MatchResource("shop/prod/*/v1/pets/*", "shop/prod/GET/v1/pets/123/photos") {
			b.Fatal("no match")
		}
	}
}
