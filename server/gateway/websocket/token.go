package websocket

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CallbackTokenTTL is how long a callback token is valid. Every
// integration call carries one minted within the last hour, so a backend
// that keeps the latest token always has one valid for 23 hours or more.
const CallbackTokenTTL = 24 * time.Hour

// tokenPrefix starts every callback token, to tell it from an admin token.
const tokenPrefix = "tgcb1."

// Authenticator checks the callers of the callback API: the admin token
// (every stage), or a callback token the gateway minted for one stage.
//
// Callback tokens are HMAC-SHA256 signed with a key generated when the
// Authenticator is made, so they stop working when the gateway restarts —
// as do the connections they are for — unless the nodes of a fleet share
// a key (Config.CallbackKey), so that any node accepts any node's tokens.
type Authenticator struct {
	key    []byte
	admin  func(token string) bool
	now    func() time.Time
	minted sync.Map // stage → mintedToken, reused for tokenReuse
}

// mintedToken is a token minted for a stage.
type mintedToken struct {
	token   string
	expires time.Time
}

// tokenReuse is how long a minted token is handed out again (it is still
// valid for at least CallbackTokenTTL-tokenReuse then): signing once per
// stage and hour instead of once per message.
const tokenReuse = time.Hour

// NewAuthenticator returns an Authenticator with a fresh signing key.
// admin reports whether a bearer token is the admin token; nil accepts
// callback tokens only.
func NewAuthenticator(admin func(token string) bool) (*Authenticator, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("websocket: callback token key: %w", err)
	}
	return &Authenticator{key: key, admin: admin, now: time.Now}, nil
}

// Token returns a callback token for the connections of a stage, valid
// for at least CallbackTokenTTL minus an hour.
func (a *Authenticator) Token(stage string) (string, time.Time) {
	now := a.now()
	if v, ok := a.minted.Load(stage); ok {
		if m := v.(mintedToken); m.expires.Sub(now) > CallbackTokenTTL-tokenReuse {
			return m.token, m.expires
		}
	}
	exp := now.Add(CallbackTokenTTL).Truncate(time.Second)
	payload := tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(stage)) + "." + strconv.FormatInt(exp.Unix(), 10)
	m := mintedToken{token: payload + "." + a.sign(payload), expires: exp}
	a.minted.Store(stage, m)
	return m.token, m.expires
}

// sign returns the MAC of a token payload.
func (a *Authenticator) sign(payload string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Scope is what an authenticated caller may reach.
type Scope struct {
	// Admin reaches every stage.
	Admin bool
	// Stage is the one stage a callback token reaches.
	Stage string
}

// Allows reports whether the scope reaches a stage.
func (s Scope) Allows(stage string) bool { return s.Admin || s.Stage == stage }

// Authenticate returns the scope of a bearer token, or ErrUnauthenticated.
func (a *Authenticator) Authenticate(token string) (Scope, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		if token != "" && a.admin != nil && a.admin(token) {
			return Scope{Admin: true}, nil
		}
		return Scope{}, ErrUnauthenticated
	}
	i := strings.LastIndexByte(token, '.')
	payload, mac := token[:i], token[i+1:]
	if !hmac.Equal([]byte(mac), []byte(a.sign(payload))) {
		return Scope{}, ErrUnauthenticated
	}
	parts := strings.Split(strings.TrimPrefix(payload, tokenPrefix), ".")
	if len(parts) != 2 {
		return Scope{}, ErrUnauthenticated
	}
	stage, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return Scope{}, ErrUnauthenticated
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.now().Unix() >= exp {
		return Scope{}, ErrUnauthenticated
	}
	return Scope{Stage: string(stage)}, nil
}

type scopeKey struct{}

// withScope returns ctx carrying a caller's scope.
func withScope(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// scopeOf returns the caller's scope; none without authentication.
func scopeOf(ctx context.Context) Scope {
	s, _ := ctx.Value(scopeKey{}).(Scope)
	return s
}
