package jwtauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// maxNumericDate is 9999-12-31T23:59:59Z: later dates are not real
// deadlines, and far larger ones would overflow time.Time arithmetic.
const maxNumericDate = 253402300799

// Claims are the verified claims of a token.
type Claims struct {
	// Subject is "sub", or "" if the token has none.
	Subject string
	// Issuer is "iss", which equals the configured issuer.
	Issuer string
	// Audience is "aud" as a list, whether the token had a string or an
	// array.
	Audience []string
	// Scopes are the space-separated "scope" claim (RFC 8693) followed by
	// "scp" (a space-separated string or an array of strings, as Azure AD
	// and Okta issue it), without duplicates. Empty if neither is present.
	Scopes []string
	// Expiry is "exp", which every accepted token has.
	Expiry time.Time
	// NotBefore is "nbf", or the zero time if the token has none.
	NotBefore time.Time
	// IssuedAt is "iat", or the zero time if the token has none.
	IssuedAt time.Time
	// Raw holds every claim as decoded from JSON, except that numbers are
	// json.Number so that large integer IDs keep their exact value.
	Raw map[string]any
}

// HasScope reports whether c carries at least one of the required scopes.
// It is true when required is empty, and false for nil claims otherwise.
func HasScope(c *Claims, required []string) bool {
	if len(required) == 0 {
		return true
	}
	if c == nil {
		return false
	}
	for _, r := range required {
		if slices.Contains(c.Scopes, r) {
			return true
		}
	}
	return false
}

// checkClaims decodes a verified payload and checks its registered claims
// at time now.
func (v *Verifier) checkClaims(payload []byte, now time.Time) (*Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%w: claims are not a JSON object", ErrInvalidToken)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the claims object", ErrInvalidToken)
	}
	c := &Claims{Raw: raw}
	var err error
	if c.Subject, err = stringClaim(raw, "sub"); err != nil {
		return nil, err
	}
	if c.Issuer, err = stringClaim(raw, "iss"); err != nil {
		return nil, err
	}
	if c.Audience, err = audienceClaim(raw); err != nil {
		return nil, err
	}
	if c.Scopes, err = scopeClaims(raw); err != nil {
		return nil, err
	}
	var hasExp bool
	if c.Expiry, hasExp, err = dateClaim(raw, "exp"); err != nil {
		return nil, err
	}
	if c.NotBefore, _, err = dateClaim(raw, "nbf"); err != nil {
		return nil, err
	}
	if c.IssuedAt, _, err = dateClaim(raw, "iat"); err != nil {
		return nil, err
	}

	if c.Issuer != v.issuer {
		if c.Issuer == "" {
			return nil, fmt.Errorf("%w: token has no iss claim", ErrWrongIssuer)
		}
		return nil, fmt.Errorf("%w: token issuer %s is not the configured one", ErrWrongIssuer, quote(c.Issuer))
	}
	if !v.audienceOK(c.Audience) {
		if len(c.Audience) == 0 {
			return nil, fmt.Errorf("%w: token has no aud claim", ErrWrongAudience)
		}
		return nil, fmt.Errorf("%w: token audience %s is not a configured one", ErrWrongAudience, quote(strings.Join(c.Audience, " ")))
	}
	// A token that never expires cannot be revoked by waiting.
	if !hasExp {
		return nil, fmt.Errorf("%w: token has no exp claim", ErrInvalidToken)
	}
	// exp is the first instant the token is invalid (RFC 7519 §4.1.4).
	if !now.Before(c.Expiry.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: expired at %s", ErrExpired, c.Expiry.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(v.leeway).Before(c.NotBefore) {
		return nil, fmt.Errorf("%w: valid from %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	// A token from the future means a broken issuer clock or a forgery;
	// either way its exp cannot be trusted.
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: issued in the future, at %s", ErrInvalidToken, c.IssuedAt.UTC().Format(time.RFC3339))
	}
	return c, nil
}

func (v *Verifier) audienceOK(aud []string) bool {
	for _, a := range aud {
		if slices.Contains(v.audiences, a) {
			return true
		}
	}
	return false
}

// stringClaim returns a string claim, "" if absent.
func stringClaim(raw map[string]any, name string) (string, error) {
	val, ok := raw[name]
	if !ok {
		return "", nil
	}
	s, ok := val.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s claim is not a string", ErrInvalidToken, name)
	}
	return s, nil
}

// audienceClaim returns "aud", a string or an array of strings (RFC 7519
// §4.1.3), as a list.
func audienceClaim(raw map[string]any) ([]string, error) {
	switch aud := raw["aud"].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{aud}, nil
	case []any:
		out := make([]string, 0, len(aud))
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud claim has a value that is not a string", ErrInvalidToken)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: aud claim is neither a string nor an array", ErrInvalidToken)
}

// scopeClaims merges "scope" and "scp". A claim of the wrong type is an
// error rather than ignored, so that a malformed grant is noticed.
func scopeClaims(raw map[string]any) ([]string, error) {
	var out []string
	add := func(s string) {
		for f := range strings.FieldsSeq(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	switch s := raw["scope"].(type) {
	case nil:
	case string:
		add(s)
	default:
		return nil, fmt.Errorf("%w: scope claim is not a string", ErrInvalidToken)
	}
	switch s := raw["scp"].(type) {
	case nil:
	case string:
		add(s)
	case []any:
		for _, e := range s {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: scp claim has a value that is not a string", ErrInvalidToken)
			}
			add(str)
		}
	default:
		return nil, fmt.Errorf("%w: scp claim is neither a string nor an array", ErrInvalidToken)
	}
	return out, nil
}

// dateClaim returns a NumericDate claim (seconds since the epoch, possibly
// fractional) and whether it was present.
func dateClaim(raw map[string]any, name string) (time.Time, bool, error) {
	val, ok := raw[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, ok := val.(json.Number)
	if !ok {
		return time.Time{}, false, fmt.Errorf("%w: %s claim is not a number", ErrInvalidToken, name)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: %s claim is out of range", ErrInvalidToken, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}
