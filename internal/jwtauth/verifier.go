package jwtauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxTokenBytes bounds the tokens Verify reads. Real tokens are a few KiB;
// this leaves room for large group lists.
const maxTokenBytes = 64 << 10

// b64 decodes token segments: unpadded base64url (RFC 7515 §2), with the
// unused bits required to be zero so every token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Config is one JWT authorizer's settings, as configured through the admin
// API's JwtAuthorizer.
type Config struct {
	// Issuer is the required "iss" claim, compared exactly (no trailing
	// slash or case folding). Required.
	Issuer string
	// Audiences are the accepted "aud" values; a token must carry at least
	// one of them. Required.
	Audiences []string
	// JWKSURI is where the JSON Web Key Set is fetched from: an https URL,
	// or http for a loopback host. Exactly one of JWKSURI and InlineJWKS
	// must be set.
	JWKSURI string
	// InlineJWKS is a JSON Web Key Set given directly. It is parsed by New
	// and never refreshed.
	InlineJWKS []byte
	// Leeway is the clock skew allowed when checking exp, nbf and iat.
	// Zero allows none; negative is an error. The admin API's default of
	// 60 s is applied by the caller, not here.
	Leeway time.Duration
}

// Verifier checks tokens against one Config. It is safe for concurrent use,
// and should be built once per authorizer and kept, since it caches the
// key set.
type Verifier struct {
	issuer    string
	audiences []string
	leeway    time.Duration
	jwksURI   string // empty for inline key sets
	opts      options

	// set is the key set in use; nil until the first fetch succeeds.
	set atomic.Pointer[keySet]
	// cache holds the accepted tokens; nil if disabled.
	cache *verifiedCache

	mu          sync.Mutex    // guards the fields below
	inflight    chan struct{} // closed when the fetch under way ends; nil if none
	lastAttempt time.Time     // start of the last fetch, by opts.now
	lastErr     error         // why the last fetch failed; nil if it did not
}

// New validates cfg and returns a Verifier for it. It does no network I/O:
// a JWKSURI is first fetched by the first Verify.
func New(cfg Config, opts ...Option) (*Verifier, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	if cfg.Issuer == "" {
		return nil, errors.New("jwtauth: issuer is required")
	}
	if len(cfg.Audiences) == 0 {
		return nil, errors.New("jwtauth: at least one audience is required")
	}
	for _, a := range cfg.Audiences {
		if a == "" {
			return nil, errors.New("jwtauth: audiences must not be empty strings")
		}
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("jwtauth: leeway is negative")
	}
	v := &Verifier{
		issuer:    cfg.Issuer,
		audiences: append([]string(nil), cfg.Audiences...),
		leeway:    cfg.Leeway,
		opts:      o,
	}
	switch {
	case cfg.JWKSURI != "" && len(cfg.InlineJWKS) > 0:
		return nil, errors.New("jwtauth: set only one of JWKS URI and inline JWKS")
	case cfg.JWKSURI != "":
		u, err := checkJWKSURI(cfg.JWKSURI)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: %w", err)
		}
		v.jwksURI = u.String()
	case len(cfg.InlineJWKS) > 0:
		if int64(len(cfg.InlineJWKS)) > o.maxJWKSBytes {
			return nil, fmt.Errorf("jwtauth: inline JWKS is over the limit of %d bytes", o.maxJWKSBytes)
		}
		set, err := parseJWKS(cfg.InlineJWKS, o.logger)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: inline JWKS: %w", err)
		}
		v.set.Store(set)
	default:
		return nil, errors.New("jwtauth: a JWKS URI or an inline JWKS is required")
	}
	if o.cacheEntries > 0 {
		v.cache = &verifiedCache{max: o.cacheEntries}
	}
	return v, nil
}

// jwsHeader is the part of a JOSE header that Verify reads. Members are
// json.RawMessage where only their presence matters.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
	Enc  json.RawMessage `json:"enc"`
}

// Verify checks token (without any "Bearer " prefix) and returns its
// claims, which calls presenting the same token may share: read them,
// never modify them. It checks, in order: the token's form (JWS Compact
// Serialization), its algorithm against the allow-list of the key that
// verifies it, its signature, then the claims: iss, aud, exp (required),
// nbf and iat (optional), the last three with the configured leeway. A
// token issued in the future (iat beyond the leeway) is invalid.
//
// ctx bounds the wait for the key set when Verify has to fetch it (the
// first call, or a token with an unknown key ID); the fetch itself goes on
// for later calls. Every error wraps ErrInvalidToken; see the other Err
// variables for the more specific ones.
//
// A token accepted before is accepted again from the cache (see
// WithCacheEntries) while the key set that verified it is the current one
// and it has not expired: every other check gave the same answer then and
// would now, as nbf and iat only ever pass once they have.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	if len(token) > maxTokenBytes {
		return nil, fmt.Errorf("%w: token is over %d bytes", ErrInvalidToken, maxTokenBytes)
	}
	if v.cache == nil {
		return v.verify(ctx, token)
	}
	key := tokenKey(token)
	if e, ok := v.cache.get(key); ok {
		if e.set == v.set.Load() && v.opts.now().Before(e.claims.Expiry.Add(v.leeway)) {
			return e.claims, nil
		}
		// Expired, or verified with keys since replaced: the full
		// check decides (and fails with the right error).
		v.cache.drop(key, e)
	}
	claims, set, err := v.verifyWith(ctx, token)
	if err != nil {
		return nil, err
	}
	v.cache.put(key, &verifiedToken{set: set, claims: claims})
	return claims, nil
}

// verify is Verify without the cache.
func (v *Verifier) verify(ctx context.Context, token string) (*Claims, error) {
	claims, _, err := v.verifyWith(ctx, token)
	return claims, err
}

// verifyWith checks a token as Verify does, without the cache, and also
// returns the key set that verified it.
func (v *Verifier) verifyWith(ctx context.Context, token string) (*Claims, *keySet, error) {
	headerSeg, rest, ok1 := strings.Cut(token, ".")
	payloadSeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sigSeg, ".") {
		if strings.Count(token, ".") == 4 {
			return nil, nil, fmt.Errorf("%w: encrypted tokens (JWE) are not accepted", ErrInvalidToken)
		}
		return nil, nil, fmt.Errorf("%w: not a JWS in compact serialization", ErrInvalidToken)
	}
	if headerSeg == "" || payloadSeg == "" {
		return nil, nil, fmt.Errorf("%w: empty header or payload", ErrInvalidToken)
	}
	if sigSeg == "" {
		return nil, nil, fmt.Errorf("%w: unsigned token", ErrInvalidToken)
	}
	rawHeader, err := b64.DecodeString(headerSeg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: header is not base64url", ErrInvalidToken)
	}
	var h jwsHeader
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrInvalidToken)
	}
	switch {
	case h.Enc != nil:
		return nil, nil, fmt.Errorf("%w: encrypted tokens (JWE) are not accepted", ErrInvalidToken)
	case h.Crit != nil:
		// No extension is understood, so any critical one must fail
		// (RFC 7515 §4.1.11); this also rules out unencoded payloads.
		return nil, nil, fmt.Errorf("%w: critical header extensions are not supported", ErrInvalidToken)
	case h.B64 != nil:
		return nil, nil, fmt.Errorf("%w: the b64 header is not supported", ErrInvalidToken)
	}
	alg := parseAlg(h.Alg)
	if alg == algInvalid {
		if strings.EqualFold(h.Alg, "none") {
			return nil, nil, fmt.Errorf("%w: unsigned tokens (alg none) are not accepted", ErrInvalidToken)
		}
		return nil, nil, fmt.Errorf("%w: alg %s is not supported", ErrInvalidToken, quote(h.Alg))
	}
	sig, err := b64.DecodeString(sigSeg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signature is not base64url", ErrInvalidToken)
	}

	set, err := v.currentKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	input := token[:len(headerSeg)+1+len(payloadSeg)]
	result := set.verify(h.Kid, alg, input, sig)
	if result == noKey && v.jwksURI != "" {
		// The issuer may have rotated its keys since the last fetch.
		fresh, err := v.refreshKeys(ctx)
		if err != nil {
			return nil, nil, err
		}
		if fresh != nil && fresh != set {
			set = fresh
			result = set.verify(h.Kid, alg, input, sig)
		}
	}
	switch result {
	case verified:
	case noKey:
		if h.Kid == "" {
			return nil, nil, fmt.Errorf("%w: no signing key accepts alg %s", ErrInvalidToken, alg)
		}
		return nil, nil, fmt.Errorf("%w: unknown key ID %s", ErrInvalidToken, quote(h.Kid))
	case algMismatch:
		return nil, nil, fmt.Errorf("%w: alg %s is not allowed for key %s", ErrInvalidToken, alg, quote(h.Kid))
	default:
		return nil, nil, fmt.Errorf("%w: signature does not verify", ErrInvalidToken)
	}

	payload, err := b64.DecodeString(payloadSeg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not base64url", ErrInvalidToken)
	}
	claims, err := v.checkClaims(payload, v.opts.now())
	if err != nil {
		return nil, nil, err
	}
	return claims, set, nil
}
