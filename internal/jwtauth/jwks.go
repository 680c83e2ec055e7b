package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultCacheTTL applies when the JWKS response has no max-age.
	defaultCacheTTL = time.Hour
	// minCacheTTL and maxCacheTTL bound max-age: a server asking for no
	// caching must not make every token cost a fetch, and keys must not
	// be trusted for days after their publisher dropped them.
	minCacheTTL = time.Minute
	maxCacheTTL = 24 * time.Hour
	// maxFetchTime bounds one fetch whatever the HTTP client's timeout,
	// since while a fetch is under way no other can start.
	maxFetchTime = 30 * time.Second
)

// checkJWKSURI accepts https URLs, and http ones only for loopback hosts
// (a key set read over plain http from elsewhere could be swapped in
// transit).
func checkJWKSURI(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("JWKS URI: %w", err)
	}
	if u.Host == "" {
		return nil, errors.New("JWKS URI has no host")
	}
	if u.User != nil {
		// It would end up in logs and error messages.
		return nil, errors.New("JWKS URI must not contain credentials")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, errors.New("JWKS URI must use https (http is allowed only for loopback hosts)")
		}
	default:
		return nil, fmt.Errorf("JWKS URI scheme %s is not https", quote(u.Scheme))
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// currentKeys returns the key set to verify with, fetching it on first use.
// An expired set is still returned, while a refresh runs in the background.
func (v *Verifier) currentKeys(ctx context.Context) (*keySet, error) {
	if s := v.set.Load(); s != nil {
		if v.jwksURI == "" || v.opts.now().Before(s.expires) {
			return s, nil
		}
		v.startRefresh(ctx)
		return s, nil
	}
	if done := v.startRefresh(ctx); done != nil {
		if err := wait(ctx, done); err != nil {
			return nil, err
		}
	}
	if s := v.set.Load(); s != nil {
		return s, nil
	}
	v.mu.Lock()
	err := v.lastErr
	v.mu.Unlock()
	if err == nil {
		err = errors.New("no key set fetched yet")
	}
	return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
}

// refreshKeys fetches the key set again, unless the minimum refresh
// interval forbids it, and waits for the fetch. It returns the set to use
// afterwards (nil if a refresh brought nothing new).
func (v *Verifier) refreshKeys(ctx context.Context) (*keySet, error) {
	done := v.startRefresh(ctx)
	if done == nil {
		return nil, nil
	}
	if err := wait(ctx, done); err != nil {
		return nil, err
	}
	return v.set.Load(), nil
}

// wait blocks until done is closed or ctx ends.
func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for the key set: %w", ErrKeysUnavailable, ctx.Err())
	}
}

// startRefresh returns a channel closed when the fetch under way ends. It
// joins the fetch in flight if there is one, starts one if the minimum
// refresh interval has passed since the last, and returns nil otherwise.
//
// The fetch runs in its own goroutine, detached from ctx's cancellation:
// the caller that happened to start it may give up, but the others waiting
// for it (and the cache) still want the answer.
func (v *Verifier) startRefresh(ctx context.Context) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.inflight != nil {
		return v.inflight
	}
	now := v.opts.now()
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < v.opts.minRefresh {
		return nil
	}
	v.lastAttempt = now
	done := make(chan struct{})
	v.inflight = done
	go v.runFetch(context.WithoutCancel(ctx), done)
	return done
}

// runFetch fetches the key set, records the outcome and closes done.
func (v *Verifier) runFetch(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, maxFetchTime)
	defer cancel()
	set, err := v.fetch(ctx)
	v.mu.Lock()
	if err != nil {
		v.lastErr = err
		if v.set.Load() != nil {
			v.opts.logger.Warn("jwtauth: JWKS refresh failed; still using the previous key set",
				slog.String("jwks_uri", v.jwksURI), slog.String("error", err.Error()))
		} else {
			v.opts.logger.Warn("jwtauth: JWKS fetch failed",
				slog.String("jwks_uri", v.jwksURI), slog.String("error", err.Error()))
		}
	} else {
		v.lastErr = nil
		v.set.Store(set)
		v.opts.logger.Debug("jwtauth: JWKS fetched", slog.String("jwks_uri", v.jwksURI),
			slog.Int("keys", len(set.keys)), slog.Time("expires", set.expires))
	}
	v.inflight = nil
	v.mu.Unlock()
	close(done)
}

// fetch downloads and parses the key set.
func (v *Verifier) fetch(ctx context.Context) (*keySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURI, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.opts.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS from %s: status %s", v.jwksURI, resp.Status)
	}
	limit := v.opts.maxJWKSBytes
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("fetch JWKS from %s: %d bytes is over the limit of %d", v.jwksURI, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS from %s: %w", v.jwksURI, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("fetch JWKS from %s: over the limit of %d bytes", v.jwksURI, limit)
	}
	set, err := parseJWKS(body, v.opts.logger)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS from %s: %w", v.jwksURI, err)
	}
	set.expires = v.opts.now().Add(cacheTTL(resp.Header))
	return set, nil
}

// cacheTTL returns how long a fetched key set is fresh: Cache-Control
// max-age less Age, bounded to [minCacheTTL, maxCacheTTL]; minCacheTTL for
// no-cache and no-store; defaultCacheTTL without max-age.
func cacheTTL(h http.Header) time.Duration {
	maxAge, hasMaxAge, noCache := int64(0), false, false
	for _, line := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				noCache = true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err == nil && n >= 0 {
					maxAge, hasMaxAge = n, true
				}
			}
		}
	}
	switch {
	case noCache:
		return minCacheTTL
	case !hasMaxAge:
		return defaultCacheTTL
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		maxAge -= age
	}
	// Clamp in seconds first: a huge max-age would overflow a Duration.
	maxAge = min(max(maxAge, int64(minCacheTTL/time.Second)), int64(maxCacheTTL/time.Second))
	return time.Duration(maxAge) * time.Second
}
