package jwtauth_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"
)

// TestVerifyAlgorithms accepts a valid token for every supported algorithm,
// asymmetric ones from a JWKS URL and HMAC from an inline key.
func TestVerifyAlgorithms(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t,
		publicJWK(k.rsa, "rsa", ""),
		publicJWK(k.ec256, "ec256", ""),
		publicJWK(k.ec384, "ec384", ""),
		publicJWK(k.ec521, "ec521", ""),
		publicJWK(k.ed, "ed", ""),
	))
	clock := newClock()
	remote, err := jwtauth.New(urlConfig(srv.URL), jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	inline, err := jwtauth.New(jwtauth.Config{
		Issuer:     testIssuer,
		Audiences:  []string{"other", testAudience},
		InlineJWKS: jwksJSON(t, publicJWK(k.hmac, "oct", "")),
	}, jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	want := &jwtauth.Claims{
		Subject:   "user-1",
		Issuer:    testIssuer,
		Audience:  []string{testAudience},
		Expiry:    now.Add(5 * time.Minute),
		NotBefore: now,
		IssuedAt:  now,
	}
	tests := []struct {
		alg jose.SignatureAlgorithm
		key any
		kid string
		v   *jwtauth.Verifier
	}{
		{jose.RS256, k.rsa, "rsa", remote},
		{jose.RS384, k.rsa, "rsa", remote},
		{jose.RS512, k.rsa, "rsa", remote},
		{jose.PS256, k.rsa, "rsa", remote},
		{jose.PS384, k.rsa, "rsa", remote},
		{jose.PS512, k.rsa, "rsa", remote},
		{jose.ES256, k.ec256, "ec256", remote},
		{jose.ES384, k.ec384, "ec384", remote},
		{jose.ES512, k.ec521, "ec521", remote},
		{jose.EdDSA, k.ed, "ed", remote},
		{jose.HS256, k.hmac, "oct", inline},
		{jose.HS384, k.hmac, "oct", inline},
		{jose.HS512, k.hmac, "oct", inline},
	}
	for _, tc := range tests {
		for _, kid := range []string{tc.kid, ""} {
			name := string(tc.alg) + "/kid=" + kid
			t.Run(name, func(t *testing.T) {
				tok := mint(t, tc.alg, tc.key, kid, claimsAt(now, nil))
				got, err := tc.v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(jwtauth.Claims{}, "Raw")); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				if got.Raw["sub"] != "user-1" || got.Raw["exp"] != json.Number(mustJSON(t, now.Add(5*time.Minute).Unix())) {
					t.Errorf("Raw = %v", got.Raw)
				}
			})
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

// TestVerify is the table of the security rules, against an inline key set
// mixing RSA, EC, Ed25519 and HMAC keys, with 60 s of leeway.
func TestVerify(t *testing.T) {
	k := keys()
	clock := newClock()
	now := clock.Now()
	v, err := jwtauth.New(jwtauth.Config{
		Issuer:    testIssuer,
		Audiences: []string{testAudience, "tollgate-admin"},
		InlineJWKS: jwksJSON(t,
			publicJWK(k.rsa, "rsa", ""),
			publicJWK(k.ec256, "ec", ""),
			publicJWK(k.ed, "ed", ""),
			publicJWK(k.hmac, "oct", ""),
		),
		Leeway: time.Minute,
	}, jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	valid := claimsAt(now, nil)
	rs := func(kid string, over map[string]any) string {
		return mint(t, jose.RS256, k.rsa, kid, claimsAt(now, over))
	}
	secs := func(d time.Duration) int64 { return now.Add(d).Unix() }

	rsaPub := &k.rsa.PublicKey
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(rsaPub)})
	jwkBytes := []byte(mustJSON(t, publicJWK(k.rsa, "rsa", "")))
	ecDER, err := x509.MarshalPKIXPublicKey(&k.ec256.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	good := rs("rsa", nil)
	parts := strings.Split(good, ".")
	validJSON := mustJSON(t, valid)

	tests := []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"RS256 with kid", good, nil},
		{"RS256 without kid", rs("", nil), nil},
		{"ES256 without kid", mint(t, jose.ES256, k.ec256, "", valid), nil},
		{"EdDSA without kid", mint(t, jose.EdDSA, k.ed, "", valid), nil},
		{"HS256 without kid", mint(t, jose.HS256, k.hmac, "", valid), nil},

		// alg none, in every spelling, signed or not.
		{"alg none", seg(`{"alg":"none","typ":"JWT"}`) + "." + seg(validJSON) + ".", jwtauth.ErrInvalidToken},
		{"alg none with kid", seg(`{"alg":"none","kid":"rsa"}`) + "." + seg(validJSON) + ".", jwtauth.ErrInvalidToken},
		{"alg None with signature", seg(`{"alg":"None"}`) + "." + seg(validJSON) + "." + parts[2], jwtauth.ErrInvalidToken},
		{"alg NONE", seg(`{"alg":"NONE"}`) + "." + seg(validJSON) + ".AA", jwtauth.ErrInvalidToken},
		{"alg missing", rawHS256(`{"kid":"oct"}`, validJSON, k.hmac), jwtauth.ErrInvalidToken},
		{"alg lowercase", rawHS256(`{"alg":"hs256","kid":"oct"}`, validJSON, k.hmac), jwtauth.ErrInvalidToken},

		// Key confusion: the RSA public key, in any encoding, as an HMAC secret.
		{"HS256 with RSA PEM as secret, kid rsa", mint(t, jose.HS256, pemBytes, "rsa", valid), jwtauth.ErrInvalidToken},
		{"HS256 with RSA PEM as secret, no kid", mint(t, jose.HS256, pemBytes, "", valid), jwtauth.ErrInvalidToken},
		{"HS256 with RSA PKCS1 PEM as secret", mint(t, jose.HS256, pkcs1, "rsa", valid), jwtauth.ErrInvalidToken},
		{"HS256 with RSA DER as secret", mint(t, jose.HS256, der, "rsa", valid), jwtauth.ErrInvalidToken},
		{"HS256 with RSA JWK as secret", mint(t, jose.HS256, jwkBytes, "rsa", valid), jwtauth.ErrInvalidToken},
		{"HS256 with RSA modulus as secret", mint(t, jose.HS256, rsaPub.N.Bytes(), "", valid), jwtauth.ErrInvalidToken},
		{"HS256 with EC DER as secret", mint(t, jose.HS256, ecDER, "ec", valid), jwtauth.ErrInvalidToken},
		{"HS512 with Ed25519 key as secret", mint(t, jose.HS512, bytes.Repeat(k.ed[32:], 2), "ed", valid), jwtauth.ErrInvalidToken},

		// A key is only used with its own kind of algorithm.
		{"ES256 token naming the RSA key", mint(t, jose.ES256, k.ec256, "rsa", valid), jwtauth.ErrInvalidToken},
		{"RS256 token naming the EC key", rs("ec", nil), jwtauth.ErrInvalidToken},
		{"RS256 token naming the oct key", rs("oct", nil), jwtauth.ErrInvalidToken},
		{"HS256 token naming the RSA key", mint(t, jose.HS256, k.hmac, "rsa", valid), jwtauth.ErrInvalidToken},
		{"EdDSA token naming the EC key", mint(t, jose.EdDSA, k.ed, "ec", valid), jwtauth.ErrInvalidToken},
		{"ES384 for a P-256 key", seg(`{"alg":"ES384","kid":"ec"}`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},

		// Time claims, with 60 s of leeway.
		{"expired", rs("rsa", map[string]any{"exp": secs(-61 * time.Second)}), jwtauth.ErrExpired},
		{"expired at the leeway's end", rs("rsa", map[string]any{"exp": secs(-60 * time.Second)}), jwtauth.ErrExpired},
		{"expired within leeway", rs("rsa", map[string]any{"exp": secs(-59 * time.Second)}), nil},
		{"not yet valid", rs("rsa", map[string]any{"nbf": secs(61 * time.Second)}), jwtauth.ErrNotYetValid},
		{"not yet valid within leeway", rs("rsa", map[string]any{"nbf": secs(59 * time.Second)}), nil},
		{"issued in the future", rs("rsa", map[string]any{"iat": secs(61 * time.Second)}), jwtauth.ErrInvalidToken},
		{"issued in the future within leeway", rs("rsa", map[string]any{"iat": secs(59 * time.Second)}), nil},
		{"no exp", rs("rsa", map[string]any{"exp": nil}), jwtauth.ErrInvalidToken},
		{"no nbf and iat", rs("rsa", map[string]any{"nbf": nil, "iat": nil}), nil},
		{"fractional exp", rs("rsa", map[string]any{"exp": float64(secs(time.Minute)) + 0.5}), nil},
		{"exp as string", rs("rsa", map[string]any{"exp": "2099-01-01"}), jwtauth.ErrInvalidToken},
		{"exp negative", rs("rsa", map[string]any{"exp": -1}), jwtauth.ErrInvalidToken},
		{"exp beyond year 9999", rs("rsa", map[string]any{"exp": 1e300}), jwtauth.ErrInvalidToken},

		// Issuer: exact match only.
		{"wrong issuer", rs("rsa", map[string]any{"iss": "https://evil.example"}), jwtauth.ErrWrongIssuer},
		{"issuer with trailing slash", rs("rsa", map[string]any{"iss": testIssuer + "/"}), jwtauth.ErrWrongIssuer},
		{"issuer in another case", rs("rsa", map[string]any{"iss": strings.ToUpper(testIssuer)}), jwtauth.ErrWrongIssuer},
		{"no issuer", rs("rsa", map[string]any{"iss": nil}), jwtauth.ErrWrongIssuer},
		{"issuer not a string", rs("rsa", map[string]any{"iss": 1}), jwtauth.ErrInvalidToken},

		// Audience: a string or an array, one of which must be configured.
		{"wrong audience", rs("rsa", map[string]any{"aud": "someone-else"}), jwtauth.ErrWrongAudience},
		{"no audience", rs("rsa", map[string]any{"aud": nil}), jwtauth.ErrWrongAudience},
		{"audience array with a match", rs("rsa", map[string]any{"aud": []string{"a", "tollgate-admin"}}), nil},
		{"audience array without a match", rs("rsa", map[string]any{"aud": []string{"a", "b"}}), jwtauth.ErrWrongAudience},
		{"empty audience array", rs("rsa", map[string]any{"aud": []string{}}), jwtauth.ErrWrongAudience},
		{"audience prefix", rs("rsa", map[string]any{"aud": "toll"}), jwtauth.ErrWrongAudience},
		{"audience not a string", rs("rsa", map[string]any{"aud": 7}), jwtauth.ErrInvalidToken},
		{"audience array of numbers", rs("rsa", map[string]any{"aud": []int{7}}), jwtauth.ErrInvalidToken},

		// Tampering.
		{"tampered payload", parts[0] + "." + seg(mustJSON(t, claimsAt(now, map[string]any{"sub": "admin"}))) + "." + parts[2], jwtauth.ErrInvalidToken},
		{"payload with a flipped character", parts[0] + "." + flip(parts[1]) + "." + parts[2], jwtauth.ErrInvalidToken},
		{"signature with a flipped character", parts[0] + "." + parts[1] + "." + flip(parts[2]), jwtauth.ErrInvalidToken},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4], jwtauth.ErrInvalidToken},
		{"alg swapped to HS256", seg(`{"alg":"HS256","kid":"rsa"}`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"alg swapped to HS256 without kid", seg(`{"alg":"HS256"}`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"alg swapped to PS256", seg(`{"alg":"PS256","kid":"rsa"}`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"kid swapped", seg(`{"alg":"RS256","kid":"ec"}`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"unknown kid", rs("nope", nil), jwtauth.ErrInvalidToken},
		{"ES256 signature in ASN.1", asn1ES256(t, now), jwtauth.ErrInvalidToken},

		// Form.
		{"empty", "", jwtauth.ErrInvalidToken},
		{"garbage", "not a token", jwtauth.ErrInvalidToken},
		{"two parts", parts[0] + "." + parts[1], jwtauth.ErrInvalidToken},
		{"four parts", good + ".x", jwtauth.ErrInvalidToken},
		{"JWE", seg(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d", jwtauth.ErrInvalidToken},
		{"JWE header in a JWS", rawHS256(`{"alg":"HS256","kid":"oct","enc":"A256GCM"}`, validJSON, k.hmac), jwtauth.ErrInvalidToken},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, jwtauth.ErrInvalidToken},
		{"JSON serialization with two signatures", `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"},{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`, jwtauth.ErrInvalidToken},
		{"empty header", "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"empty payload", parts[0] + ".." + parts[2], jwtauth.ErrInvalidToken},
		{"header with padding", parts[0] + "==." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"header in standard base64", strings.NewReplacer("-", "+", "_", "/").Replace(parts[0]) + "+." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"header not JSON", seg("RS256") + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"header an array", seg(`["RS256"]`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"header null", seg(`null`) + "." + parts[1] + "." + parts[2], jwtauth.ErrInvalidToken},
		{"signature not base64", parts[0] + "." + parts[1] + ".!!!", jwtauth.ErrInvalidToken},
		{"crit header", rawHS256(`{"alg":"HS256","kid":"oct","crit":["exp"],"exp":1}`, validJSON, k.hmac), jwtauth.ErrInvalidToken},
		{"b64 false", rawHS256(`{"alg":"HS256","kid":"oct","b64":false,"crit":["b64"]}`, validJSON, k.hmac), jwtauth.ErrInvalidToken},
		{"properly signed raw token", rawHS256(`{"alg":"HS256","kid":"oct"}`, validJSON, k.hmac), nil},
		{"properly signed raw RS256 token", rawRS256(t, `{"alg":"RS256","kid":"rsa"}`, validJSON, k.rsa), nil},
		{"payload null", rawHS256(`{"alg":"HS256","kid":"oct"}`, `null`, k.hmac), jwtauth.ErrInvalidToken},
		{"payload an array", rawHS256(`{"alg":"HS256","kid":"oct"}`, `[1]`, k.hmac), jwtauth.ErrInvalidToken},
		{"payload with trailing data", rawHS256(`{"alg":"HS256","kid":"oct"}`, validJSON+`{}`, k.hmac), jwtauth.ErrInvalidToken},
		{"payload not JSON", rawHS256(`{"alg":"HS256","kid":"oct"}`, `hello`, k.hmac), jwtauth.ErrInvalidToken},
		{"oversized", rs("rsa", map[string]any{"pad": strings.Repeat("x", 70<<10)}), jwtauth.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got.Subject == "" || got.Issuer != testIssuer {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", got)
			}
			if got != nil {
				t.Errorf("Verify returned claims with an error")
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, jwtauth.ErrInvalidToken) {
				t.Errorf("error %q: want errors.Is %v and ErrInvalidToken", err, tc.want)
			}
			assertNoEcho(t, err, tc.token)
		})
	}
}

// flip changes one character in the middle of a base64url segment.
func flip(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// asn1ES256 returns an ES256 token whose signature is DER-encoded, as
// crypto/ecdsa produces it, instead of JWS's fixed-width R || S.
func asn1ES256(t *testing.T, now time.Time) string {
	t.Helper()
	tok := mint(t, jose.ES256, keys().ec256, "ec", claimsAt(now, nil))
	p := strings.Split(tok, ".")
	return rawECDSAASN1(t, p[0]+"."+p[1])
}

// assertNoEcho checks that an error message does not contain the token or
// its signature.
func assertNoEcho(t *testing.T, err error, token string) {
	t.Helper()
	msg := err.Error()
	if len(token) >= 16 && strings.Contains(msg, token) {
		t.Errorf("error message echoes the token: %q", msg)
	}
	if i := strings.LastIndexByte(token, '.'); i >= 0 && len(token)-i > 16 && strings.Contains(msg, token[i+1:]) {
		t.Errorf("error message echoes the signature: %q", msg)
	}
}

// TestMixedKeyTypes serves RSA, EC and HMAC keys from one JWKS URL: each
// token verifies with its own key, with or without a kid, and naming any
// other key fails.
func TestMixedKeyTypes(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t,
		publicJWK(k.rsa, "rsa", ""),
		publicJWK(k.ec256, "ec", ""),
		publicJWK(k.hmac, "oct", ""),
	))
	clock := newClock()
	v, err := jwtauth.New(urlConfig(srv.URL), jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	signers := []struct {
		kid string
		alg jose.SignatureAlgorithm
		key any
	}{
		{"rsa", jose.RS256, k.rsa},
		{"rsa", jose.PS384, k.rsa},
		{"ec", jose.ES256, k.ec256},
		{"oct", jose.HS256, k.hmac},
		{"oct", jose.HS512, k.hmac},
	}
	claims := claimsAt(clock.Now(), nil)
	for _, s := range signers {
		for _, kid := range []string{"rsa", "ec", "oct", ""} {
			name := string(s.alg) + "/signed-by-" + s.kid + "/kid=" + kid
			t.Run(name, func(t *testing.T) {
				_, err := v.Verify(context.Background(), mint(t, s.alg, s.key, kid, claims))
				if ok := kid == s.kid || kid == ""; ok != (err == nil) {
					t.Errorf("Verify error = %v, want accepted=%v", err, ok)
				}
				if err != nil && !errors.Is(err, jwtauth.ErrInvalidToken) {
					t.Errorf("error %v is not ErrInvalidToken", err)
				}
			})
		}
	}
	// Wrong kids are known kids: no refetch.
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

// TestKeyAlgRestricts checks that a JWK's "alg" narrows what it verifies,
// and that an "alg" that does not fit the key type disqualifies it.
func TestKeyAlgRestricts(t *testing.T) {
	k := keys()
	clock := newClock()
	jwks := jwksJSON(t,
		publicJWK(k.rsa, "rs256-only", "RS256"),
		publicJWK(k.rsa2, "rsa-as-hmac", "HS256"),
		publicJWK(k.hmac, "hs384-only", "HS384"),
	)
	var logs syncBuffer
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwks},
		jwtauth.WithClock(clock.Now), jwtauth.WithLogger(slogTo(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsAt(clock.Now(), nil)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.rsa2.PublicKey))})
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256 for an RS256 key", mint(t, jose.RS256, k.rsa, "rs256-only", claims), true},
		{"PS256 for an RS256 key", mint(t, jose.PS256, k.rsa, "rs256-only", claims), false},
		{"RS512 for an RS256 key", mint(t, jose.RS512, k.rsa, "rs256-only", claims), false},
		{"RS256 for an RSA key marked HS256", mint(t, jose.RS256, k.rsa2, "rsa-as-hmac", claims), false},
		{"HS256 with the RSA key marked HS256", mint(t, jose.HS256, pemBytes, "rsa-as-hmac", claims), false},
		{"HS384 for an HS384 key", mint(t, jose.HS384, k.hmac, "hs384-only", claims), true},
		{"HS256 for an HS384 key", mint(t, jose.HS256, k.hmac, "hs384-only", claims), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if tc.ok != (err == nil) {
				t.Errorf("Verify error = %v, want accepted=%v", err, tc.ok)
			}
		})
	}
	if !strings.Contains(logs.String(), "does not fit this key") {
		t.Errorf("skipped key not logged; logs:\n%s", logs.String())
	}
}

// TestSkippedKeys checks the JWKs that can never verify: a key set made
// only of such a key is rejected by New.
func TestSkippedKeys(t *testing.T) {
	k := keys()
	encKey := publicJWK(k.rsa, "enc", "")
	encKey.Use = "enc"
	tests := []struct {
		name string
		jwk  string
	}{
		{"use enc", mustJSON(t, encKey)},
		{"key_ops without verify", strings.Replace(mustJSON(t, publicJWK(k.ec256, "ops", "")), `{`, `{"key_ops":["encrypt"],`, 1)},
		{"RSA 1024 bits", mustJSON(t, publicJWK(k.rsa1024, "small", ""))},
		{"short HMAC secret", mustJSON(t, publicJWK([]byte("short secret"), "short", ""))},
		{"HS512 with a 32-byte secret", mustJSON(t, publicJWK(k.hmac[:32], "hs512", "HS512"))},
		{"EC key marked ES384", mustJSON(t, publicJWK(k.ec256, "ec", "ES384"))},
		{"Ed25519 key marked ES256", mustJSON(t, publicJWK(k.ed, "ed", "ES256"))},
		{"unknown alg", mustJSON(t, publicJWK(k.rsa, "rsa", "RSA-OAEP"))},
		{"alg none", mustJSON(t, publicJWK(k.rsa, "rsa", "none"))},
		{"X25519", `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`},
		{"unknown kty", `{"kty":"XYZ","kid":"x"}`},
		{"EC point off the curve", `{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}`},
		{"not an object", `"key"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jwks := []byte(`{"keys":[` + tc.jwk + `]}`)
			_, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwks})
			if err == nil || !strings.Contains(err.Error(), "none of its 1 keys") {
				t.Errorf("New error = %v, want the key skipped", err)
			}
		})
	}
	t.Run("good keys next to skipped ones", func(t *testing.T) {
		jwks := []byte(`{"keys":[` + mustJSON(t, encKey) + `,{"kty":"XYZ"},` + mustJSON(t, publicJWK(k.ec256, "ec", "")) + `]}`)
		v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwks})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "enc", claimsAt(time.Now(), nil))); err == nil {
			t.Error("a use=enc key verified a token")
		}
		if _, err := v.Verify(context.Background(), mint(t, jose.ES256, k.ec256, "ec", claimsAt(time.Now(), nil))); err != nil {
			t.Error(err)
		}
	})
	t.Run("private key material uses the public part", func(t *testing.T) {
		var logs syncBuffer
		jwks := jwksJSON(t, jose.JSONWebKey{Key: k.rsa, KeyID: "priv"})
		v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwks}, jwtauth.WithLogger(slogTo(&logs)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "priv", claimsAt(time.Now(), nil))); err != nil {
			t.Error(err)
		}
		if !strings.Contains(logs.String(), "private key material") {
			t.Errorf("private key not reported; logs:\n%s", logs.String())
		}
	})
}

// TestNew checks the validation of Config and options.
func TestNew(t *testing.T) {
	jwks := jwksJSON(t, publicJWK(keys().ec256, "ec", ""))
	base := jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, InlineJWKS: jwks}
	with := func(f func(*jwtauth.Config)) jwtauth.Config {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     jwtauth.Config
		opts    []jwtauth.Option
		wantErr string // "" for success
	}{
		{"inline", base, nil, ""},
		{"https URL", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "https://idp.example/jwks" }), nil, ""},
		{"http loopback IPv4", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "http://127.0.0.1:8080/jwks" }), nil, ""},
		{"http loopback IPv6", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "http://[::1]:8080/jwks" }), nil, ""},
		{"http localhost", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "http://localhost/jwks" }), nil, ""},
		{"http elsewhere", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "http://idp.example/jwks" }), nil, "must use https"},
		{"http private address", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "http://10.0.0.1/jwks" }), nil, "must use https"},
		{"ftp", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "ftp://idp.example/jwks" }), nil, "is not https"},
		{"no host", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "https:///jwks" }), nil, "no host"},
		{"credentials", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "https://u:p@idp.example/jwks" }), nil, "credentials"},
		{"unparsable URL", with(func(c *jwtauth.Config) { c.InlineJWKS, c.JWKSURI = nil, "https://idp.example/%zz" }), nil, "JWKS URI"},
		{"both key sources", with(func(c *jwtauth.Config) { c.JWKSURI = "https://idp.example/jwks" }), nil, "only one"},
		{"no key source", with(func(c *jwtauth.Config) { c.InlineJWKS = nil }), nil, "is required"},
		{"no issuer", with(func(c *jwtauth.Config) { c.Issuer = "" }), nil, "issuer is required"},
		{"no audiences", with(func(c *jwtauth.Config) { c.Audiences = nil }), nil, "audience is required"},
		{"empty audience", with(func(c *jwtauth.Config) { c.Audiences = []string{"a", ""} }), nil, "empty"},
		{"negative leeway", with(func(c *jwtauth.Config) { c.Leeway = -time.Second }), nil, "negative"},
		{"inline not JSON", with(func(c *jwtauth.Config) { c.InlineJWKS = []byte("{") }), nil, "parse JWKS"},
		{"inline without keys", with(func(c *jwtauth.Config) { c.InlineJWKS = []byte(`{}`) }), nil, `no "keys"`},
		{"inline with no keys", with(func(c *jwtauth.Config) { c.InlineJWKS = []byte(`{"keys":[]}`) }), nil, "none of its 0 keys"},
		{"inline too large", base, []jwtauth.Option{jwtauth.WithMaxJWKSBytes(16)}, "over the limit"},
		{"negative refresh interval", base, []jwtauth.Option{jwtauth.WithMinRefreshInterval(-time.Second)}, "negative"},
		{"zero refresh interval", base, []jwtauth.Option{jwtauth.WithMinRefreshInterval(0)}, ""},
		{"zero max JWKS bytes", base, []jwtauth.Option{jwtauth.WithMaxJWKSBytes(0)}, "must be positive"},
		{"nil options", base, []jwtauth.Option{jwtauth.WithHTTPClient(nil), jwtauth.WithClock(nil), jwtauth.WithLogger(nil)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jwtauth.New(tc.cfg, tc.opts...)
			if tc.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("New = %v, %v", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestConfigIsCopied checks that changing the caller's audiences after New
// changes nothing.
func TestConfigIsCopied(t *testing.T) {
	clock := newClock()
	auds := []string{testAudience}
	v, err := jwtauth.New(jwtauth.Config{Issuer: testIssuer, Audiences: auds, InlineJWKS: jwksJSON(t, publicJWK(keys().hmac, "oct", ""))}, jwtauth.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	auds[0] = "other"
	if _, err := v.Verify(context.Background(), mint(t, jose.HS256, keys().hmac, "oct", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
}
