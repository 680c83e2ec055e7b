package jwtauth_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

const (
	testIssuer   = "https://issuer.example"
	testAudience = "tollgate"
)

// testKeys are the signing keys of the tests, read once from testdata/
// (generating RSA keys at run time is slow, more so in fuzzing workers and
// under the race detector).
type testKeys struct {
	rsa, rsa2    *rsa.PrivateKey
	rsa1024      *rsa.PrivateKey // too short to be accepted
	ec256, ec384 *ecdsa.PrivateKey
	ec521        *ecdsa.PrivateKey
	ed           ed25519.PrivateKey
	hmac         []byte // 64 bytes: long enough for HS256, HS384 and HS512
}

var keys = sync.OnceValue(func() *testKeys {
	load := func(name string) any {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			panic(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			panic("no PEM block in " + name)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			panic(err)
		}
		return k
	}
	return &testKeys{
		rsa:     load("rsa.pem").(*rsa.PrivateKey),
		rsa2:    load("rsa2.pem").(*rsa.PrivateKey),
		rsa1024: load("rsa1024.pem").(*rsa.PrivateKey),
		ec256:   load("ec256.pem").(*ecdsa.PrivateKey),
		ec384:   load("ec384.pem").(*ecdsa.PrivateKey),
		ec521:   load("ec521.pem").(*ecdsa.PrivateKey),
		ed:      load("ed25519.pem").(ed25519.PrivateKey),
		hmac:    bytes.Repeat([]byte("0123456789abcdef"), 4),
	}
})

// publicJWK returns the JWK to publish for a signing key: its public part,
// or the secret itself for HMAC.
func publicJWK(key any, kid, alg string) jose.JSONWebKey {
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case ed25519.PrivateKey:
		pub = k.Public()
	default:
		pub = key
	}
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// jwksJSON serializes a key set.
func jwksJSON(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// claimsAt returns valid claims for a token minted at now, with overrides
// applied (a nil value deletes the claim).
func claimsAt(now time.Time, overrides map[string]any) map[string]any {
	c := map[string]any{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": "user-1",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// mint signs claims with go-jose; kid "" leaves the header without one.
// The kid is set explicitly because go-jose omits it for HMAC keys.
func mint(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if strings.Contains(string(header), `"kid"`) != (kid != "") {
		t.Fatalf("minted header %s, want kid %q", header, kid)
	}
	return tok
}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// rawHS256 builds a token from literal header and payload JSON and signs it
// with HMAC-SHA256, for headers and payloads go-jose would not produce.
func rawHS256(header, payload string, secret []byte) string {
	input := seg(header) + "." + seg(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// rawRS256 is rawHS256 for RSA PKCS #1 v1.5 signatures.
func rawRS256(t testing.TB, header, payload string, key *rsa.PrivateKey) string {
	t.Helper()
	input := seg(header) + "." + seg(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// response is what a jwksServer answers.
type response struct {
	status  int // 0 means 200
	body    []byte
	header  map[string]string
	chunked bool          // stream without Content-Length
	delay   time.Duration // before answering
	gate    chan struct{} // if set, answer only once it is closed
}

// jwksServer serves a key set on loopback and counts fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	resp    response
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{resp: response{body: body}}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(r response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resp = r
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	resp := s.resp
	s.mu.Unlock()
	if resp.gate != nil {
		select {
		case <-resp.gate:
		case <-r.Context().Done():
			return
		}
	}
	time.Sleep(resp.delay)
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if resp.status != 0 {
		w.WriteHeader(resp.status)
	}
	if !resp.chunked {
		_, _ = w.Write(resp.body)
		return
	}
	half := len(resp.body) / 2
	_, _ = w.Write(resp.body[:half])
	w.(http.Flusher).Flush()
	_, _ = w.Write(resp.body[half:])
}

// urlConfig returns a Config that fetches keys from url.
func urlConfig(url string) jwtauth.Config {
	return jwtauth.Config{Issuer: testIssuer, Audiences: []string{testAudience}, JWKSURI: url, Leeway: time.Minute}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// rawECDSAASN1 signs input with the P-256 test key, DER-encoded.
func rawECDSAASN1(t testing.TB, input string) string {
	t.Helper()
	digest := sha256.Sum256([]byte(input))
	sig, err := ecdsa.SignASN1(rand.Reader, keys().ec256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
