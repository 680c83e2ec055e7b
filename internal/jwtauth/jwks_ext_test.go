package jwtauth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tollgate-gw/tollgate/internal/jwtauth"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// newRemote returns a Verifier reading srv's key set with a fake clock.
func newRemote(t *testing.T, url string, opts ...jwtauth.Option) (*jwtauth.Verifier, *testkit.Clock) {
	t.Helper()
	clock := newClock()
	v, err := jwtauth.New(urlConfig(url), append([]jwtauth.Option{jwtauth.WithClock(clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v, clock
}

func wantFetches(t *testing.T, srv *jwksServer, want int64) {
	t.Helper()
	if got := srv.fetches.Load(); got != want {
		t.Fatalf("JWKS fetched %d times, want %d", got, want)
	}
}

// TestNewIsLazy checks that New does no network I/O and the first Verify
// fetches.
func TestNewIsLazy(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	v, clock := newRemote(t, srv.URL)
	wantFetches(t, srv, 0)
	if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	wantFetches(t, srv, 1)
}

// TestUnknownKid checks that an unknown kid causes exactly one refetch and
// then fails, and that the next refetch waits for the minimum interval.
func TestUnknownKid(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	v, clock := newRemote(t, srv.URL)
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	wantFetches(t, srv, 1)

	clock.Advance(11 * time.Second)
	unknown := mint(t, jose.RS256, k.rsa2, "k2", claimsAt(clock.Now(), nil))
	_, err := v.Verify(ctx, unknown)
	if !errors.Is(err, jwtauth.ErrInvalidToken) || !strings.Contains(err.Error(), `unknown key ID "k2"`) {
		t.Fatalf("Verify error = %v, want unknown key ID", err)
	}
	wantFetches(t, srv, 2)

	// Within the interval: no fetch, same answer.
	clock.Advance(9 * time.Second)
	if _, err := v.Verify(ctx, unknown); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("Verify error = %v", err)
	}
	wantFetches(t, srv, 2)

	// After it: one more.
	clock.Advance(2 * time.Second)
	if _, err := v.Verify(ctx, unknown); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("Verify error = %v", err)
	}
	wantFetches(t, srv, 3)
}

// TestUnknownKidOnColdCache checks that the first fetch counts towards the
// rate limit: a cold cache and an unknown kid make one fetch, not two.
func TestUnknownKidOnColdCache(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	v, clock := newRemote(t, srv.URL)
	if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa2, "k2", claimsAt(clock.Now(), nil))); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("Verify error = %v", err)
	}
	wantFetches(t, srv, 1)
}

// TestRotatedKey checks that a key published after the last fetch is
// accepted once the unknown kid has made the verifier refetch.
func TestRotatedKey(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	v, clock := newRemote(t, srv.URL)
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates: k2 signs new tokens, k1 stays published.
	srv.set(response{body: jwksJSON(t, publicJWK(k.rsa2, "k2", ""), publicJWK(k.rsa, "k1", ""))})
	clock.Advance(time.Minute)
	claims, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa2, "k2", claimsAt(clock.Now(), nil)))
	if err != nil {
		t.Fatalf("rotated key rejected: %v", err)
	}
	if claims.Subject != "user-1" {
		t.Errorf("Subject = %q", claims.Subject)
	}
	wantFetches(t, srv, 2)
	if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatalf("old key rejected: %v", err)
	}
	wantFetches(t, srv, 2)
}

// TestRefetchRateLimit checks that two tokens with different unknown kids
// within the minimum interval cause one fetch, whatever the interval is set
// to.
func TestRefetchRateLimit(t *testing.T) {
	k := keys()
	for _, interval := range []time.Duration{10 * time.Second, time.Minute} {
		t.Run(interval.String(), func(t *testing.T) {
			srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
			v, clock := newRemote(t, srv.URL, jwtauth.WithMinRefreshInterval(interval))
			ctx := context.Background()
			if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
				t.Fatal(err)
			}
			clock.Advance(interval)
			for _, kid := range []string{"x1", "x2"} {
				clock.Advance(interval / 10)
				if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa2, kid, claimsAt(clock.Now(), nil))); !errors.Is(err, jwtauth.ErrInvalidToken) {
					t.Fatalf("Verify error = %v", err)
				}
			}
			wantFetches(t, srv, 2)
		})
	}
}

// TestNoRateLimit checks that WithMinRefreshInterval(0) refetches for every
// unknown kid.
func TestNoRateLimit(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	v, clock := newRemote(t, srv.URL, jwtauth.WithMinRefreshInterval(0))
	for range 3 {
		_, _ = v.Verify(context.Background(), mint(t, jose.RS256, k.rsa2, "x", claimsAt(clock.Now(), nil)))
	}
	wantFetches(t, srv, 4) // the first Verify fetches twice: cold, then for the kid
}

// TestConcurrentColdCache checks that 1000 concurrent calls on a cold cache
// share one fetch.
func TestConcurrentColdCache(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.ed, "ed", "")))
	srv.set(response{body: jwksJSON(t, publicJWK(k.ed, "ed", "")), delay: 50 * time.Millisecond})
	v, clock := newRemote(t, srv.URL)
	tok := mint(t, jose.EdDSA, k.ed, "ed", claimsAt(clock.Now(), nil))
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if _, err := v.Verify(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Verify: %v", err)
	}
	wantFetches(t, srv, 1)
}

// TestCacheControl checks how long a fetched key set is used before it is
// refreshed: max-age less Age, bounded to [1 min, 24 h], 1 h by default.
func TestCacheControl(t *testing.T) {
	k := keys()
	jwks := jwksJSON(t, publicJWK(k.ec256, "ec", ""))
	tests := []struct {
		name   string
		header map[string]string
		ttl    time.Duration
	}{
		{"max-age", map[string]string{"Cache-Control": "max-age=120"}, 2 * time.Minute},
		{"max-age among others", map[string]string{"Cache-Control": "public, max-age=300, must-revalidate"}, 5 * time.Minute},
		{"quoted max-age", map[string]string{"Cache-Control": `max-age="600"`}, 10 * time.Minute},
		{"max-age less Age", map[string]string{"Cache-Control": "max-age=600", "Age": "500"}, 100 * time.Second},
		{"short max-age raised to 1 min", map[string]string{"Cache-Control": "max-age=5"}, time.Minute},
		{"max-age 0", map[string]string{"Cache-Control": "max-age=0"}, time.Minute},
		{"long max-age lowered to 24 h", map[string]string{"Cache-Control": "max-age=99999999999999999"}, 24 * time.Hour},
		{"no header", nil, time.Hour},
		{"unparsable max-age", map[string]string{"Cache-Control": "max-age=soon"}, time.Hour},
		{"no-cache", map[string]string{"Cache-Control": "no-cache"}, time.Minute},
		{"no-store wins over max-age", map[string]string{"Cache-Control": "no-store, max-age=600"}, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, nil)
			srv.set(response{body: jwks, header: tc.header})
			v, clock := newRemote(t, srv.URL)
			verify := func() {
				t.Helper()
				// Mint at the current time so that the token's own exp
				// does not get in the way.
				if _, err := v.Verify(context.Background(), mint(t, jose.ES256, k.ec256, "ec", claimsAt(clock.Now(), nil))); err != nil {
					t.Fatal(err)
				}
				v.WaitIdle()
			}
			verify()
			wantFetches(t, srv, 1)
			clock.Advance(tc.ttl - time.Second)
			verify()
			wantFetches(t, srv, 1)
			clock.Advance(2 * time.Second)
			verify() // still served from the stale set while refreshing
			wantFetches(t, srv, 2)
			verify()
			wantFetches(t, srv, 2)
		})
	}
}

// TestStaleKeysServedWhileRefreshing checks that an expired key set keeps
// verifying without waiting for the refresh.
func TestStaleKeysServedWhileRefreshing(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.ec256, "ec", "")))
	v, clock := newRemote(t, srv.URL)
	ctx := context.Background()
	if _, err := v.Verify(ctx, mint(t, jose.ES256, k.ec256, "ec", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	t.Cleanup(func() { closeOnce(gate) }) // before srv.Close, which waits for the handler
	srv.set(response{body: jwksJSON(t, publicJWK(k.ec256, "ec", "")), gate: gate})
	clock.Advance(2 * time.Hour)
	if _, err := v.Verify(ctx, mint(t, jose.ES256, k.ec256, "ec", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	closeOnce(gate)
	v.WaitIdle()
	wantFetches(t, srv, 2)
}

// TestFetchFailureAndRecovery checks a key server that is down on first
// use: Verify fails with ErrKeysUnavailable, retries wait for the minimum
// interval, and the verifier recovers once the server does.
func TestFetchFailureAndRecovery(t *testing.T) {
	k := keys()
	jwks := jwksJSON(t, publicJWK(k.rsa, "k1", ""))
	wantUnavailable := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, jwtauth.ErrKeysUnavailable) || !errors.Is(err, jwtauth.ErrInvalidToken) ||
			!strings.Contains(err.Error(), "cannot fetch signing keys") {
			t.Fatalf("Verify error = %v, want ErrKeysUnavailable", err)
		}
	}

	t.Run("error status", func(t *testing.T) {
		srv := newJWKSServer(t, nil)
		srv.set(response{status: http.StatusServiceUnavailable})
		v, clock := newRemote(t, srv.URL)
		ctx := context.Background()
		tok := mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))
		_, err := v.Verify(ctx, tok)
		wantUnavailable(t, err)
		if !strings.Contains(err.Error(), "503") {
			t.Errorf("error %q does not say why", err)
		}
		assertNoEcho(t, err, tok)
		wantFetches(t, srv, 1)

		_, err = v.Verify(ctx, tok)
		wantUnavailable(t, err)
		wantFetches(t, srv, 1) // backing off

		srv.set(response{body: jwks})
		clock.Advance(10 * time.Second)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("no recovery: %v", err)
		}
		wantFetches(t, srv, 2)
	})

	t.Run("connection refused", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		_ = lis.Close()
		v, clock := newRemote(t, "http://"+addr+"/jwks")
		ctx := context.Background()
		tok := mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))
		_, err = v.Verify(ctx, tok)
		wantUnavailable(t, err)

		// The server comes up on the same address.
		lis, err = net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		srv := &jwksServer{resp: response{body: jwks}}
		srv.Server = httptest.NewUnstartedServer(srv)
		_ = srv.Listener.Close()
		srv.Listener = lis
		srv.Start()
		t.Cleanup(srv.Close)
		clock.Advance(time.Minute)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("no recovery: %v", err)
		}
	})
}

// TestRefreshFailureKeepsKeys checks that a failed refresh leaves the last
// good key set in use, and is retried after the minimum interval.
func TestRefreshFailureKeepsKeys(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	var logs syncBuffer
	v, clock := newRemote(t, srv.URL, jwtauth.WithLogger(slogTo(&logs)))
	ctx := context.Background()
	verify := func() {
		t.Helper()
		if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		v.WaitIdle()
	}
	verify()
	for _, bad := range []response{
		{status: http.StatusInternalServerError},
		{body: []byte("<html>")},
		{body: []byte(`{"keys":[]}`)},
	} {
		srv.set(bad)
		clock.Advance(2 * time.Hour)
		before := srv.fetches.Load()
		verify()
		wantFetches(t, srv, before+1)
		verify() // within the interval: no new attempt
		wantFetches(t, srv, before+1)
	}
	if !strings.Contains(logs.String(), "still using the previous key set") {
		t.Errorf("failed refresh not logged; logs:\n%s", logs.String())
	}
	// An unknown kid still fails, and does not lose the keys.
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, mint(t, jose.RS256, k.rsa2, "k2", claimsAt(clock.Now(), nil))); !errors.Is(err, jwtauth.ErrInvalidToken) {
		t.Fatalf("Verify error = %v", err)
	}
	verify()
}

// TestFetchErrors checks the responses that do not yield a key set.
func TestFetchErrors(t *testing.T) {
	k := keys()
	jwks := jwksJSON(t, publicJWK(k.rsa, "k1", ""))
	big := append(jwks[:len(jwks)-1:len(jwks)-1], []byte(strings.Repeat(" ", 4096)+"}")...)
	tests := []struct {
		name string
		resp response
		opts []jwtauth.Option
		want string
	}{
		{"not found", response{status: http.StatusNotFound}, nil, "404"},
		{"not JSON", response{body: []byte("<html>")}, nil, "parse JWKS"},
		{"no keys", response{body: []byte(`{"keys":[]}`)}, nil, "none of its 0 keys"},
		{"oversized", response{body: big}, []jwtauth.Option{jwtauth.WithMaxJWKSBytes(2048)}, "over the limit"},
		{"oversized, chunked", response{body: big, chunked: true}, []jwtauth.Option{jwtauth.WithMaxJWKSBytes(2048)}, "over the limit"},
		{"oversized by default", response{body: append(jwks[:len(jwks)-1:len(jwks)-1], []byte(strings.Repeat(" ", 1<<20)+"}")...), chunked: true}, nil, "over the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, nil)
			srv.set(tc.resp)
			v, clock := newRemote(t, srv.URL, tc.opts...)
			_, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil)))
			if !errors.Is(err, jwtauth.ErrKeysUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify error = %v, want ErrKeysUnavailable with %q", err, tc.want)
			}
		})
	}
	t.Run("the same key set within the limit", func(t *testing.T) {
		srv := newJWKSServer(t, big)
		v, clock := newRemote(t, srv.URL, jwtauth.WithMaxJWKSBytes(int64(len(big))))
		if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRedirects checks the default client's redirect policy.
func TestRedirects(t *testing.T) {
	k := keys()
	jwks := jwksJSON(t, publicJWK(k.rsa, "k1", ""))
	target := newJWKSServer(t, jwks)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/elsewhere":
			http.Redirect(w, r, target.URL+"/jwks", http.StatusFound)
		case "/moved":
			http.Redirect(w, r, "/jwks", http.StatusMovedPermanently)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/jwks":
			_, _ = w.Write(jwks)
		}
	}))
	t.Cleanup(redirector.Close)
	tests := []struct {
		path string
		want string // "" for success
	}{
		{"/moved", ""},
		{"/elsewhere", "another host"},
		{"/loop", "too many redirects"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			v, clock := newRemote(t, redirector.URL+tc.path)
			_, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil)))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, jwtauth.ErrKeysUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify error = %v, want %q", err, tc.want)
			}
		})
	}
	wantFetches(t, target, 0)
}

// TestCustomHTTPClient checks that WithHTTPClient's client is the one used.
func TestCustomHTTPClient(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(k.rsa, "k1", "")))
	var used bool
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	v, clock := newRemote(t, srv.URL, jwtauth.WithHTTPClient(client))
	if _, err := v.Verify(context.Background(), mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))); err != nil {
		t.Fatal(err)
	}
	if !used {
		t.Error("custom client not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCallerGivesUp checks that a caller whose context ends while waiting
// for the first fetch gets an error, and that the fetch goes on for the
// next caller.
func TestCallerGivesUp(t *testing.T) {
	k := keys()
	gate := make(chan struct{})
	srv := newJWKSServer(t, nil)
	t.Cleanup(func() { closeOnce(gate) }) // before srv.Close, which waits for the handler
	srv.set(response{body: jwksJSON(t, publicJWK(k.rsa, "k1", "")), gate: gate})
	v, clock := newRemote(t, srv.URL)
	tok := mint(t, jose.RS256, k.rsa, "k1", claimsAt(clock.Now(), nil))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := v.Verify(ctx, tok)
	if !errors.Is(err, jwtauth.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify error = %v, want ErrKeysUnavailable and DeadlineExceeded", err)
	}
	closeOnce(gate)
	v.WaitIdle()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	wantFetches(t, srv, 1)
}

// closeOnce closes a gate that may already be closed.
func closeOnce(gate chan struct{}) {
	select {
	case <-gate:
	default:
		close(gate)
	}
}
