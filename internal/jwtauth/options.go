package jwtauth

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

const (
	defaultHTTPTimeout  = 10 * time.Second
	defaultMinRefresh   = 10 * time.Second
	defaultMaxJWKSBytes = 1 << 20
	maxRedirects        = 5
)

// Option configures a Verifier. Options are applied once, by New.
type Option func(*options)

type options struct {
	client       *http.Client
	now          func() time.Time
	logger       *slog.Logger
	minRefresh   time.Duration
	maxJWKSBytes int64
	cacheEntries int // <= 0: no cache of accepted tokens
}

func defaultOptions() options {
	return options{
		client:       defaultHTTPClient(),
		now:          time.Now,
		logger:       slog.New(slog.DiscardHandler),
		minRefresh:   defaultMinRefresh,
		maxJWKSBytes: defaultMaxJWKSBytes,
		cacheEntries: DefaultCacheEntries,
	}
}

// WithHTTPClient sets the client that fetches the key set. It is used as
// given: its timeout and redirect policy are the caller's. The default (also
// used for nil) times out after 10 s and follows at most 5 redirects, none
// of them to another host or from https to http.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.client = c
		}
	}
}

// WithClock sets the source of the current time, for token validity and the
// key cache. The default (also used for nil) is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLogger sets where key set fetches and skipped keys are reported.
// Rejected tokens are not logged: they are the caller's to report. The
// default (also used for nil) discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithMinRefreshInterval sets the least time between two fetches of the key
// set, which bounds the fetches that tokens with unknown key IDs (anyone can
// mint those) and failing refreshes can cause. The default is 10 s; zero
// removes the limit (concurrent refreshes are still coalesced into one);
// a negative value makes New fail.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(o *options) { o.minRefresh = d }
}

// WithMaxJWKSBytes sets the largest key set accepted, fetched or inline. The
// default is 1 MiB; a value that is not positive makes New fail.
func WithMaxJWKSBytes(n int64) Option {
	return func(o *options) { o.maxJWKSBytes = n }
}

// WithCacheEntries bounds the cache of accepted tokens to n entries (zero
// or a negative n disables it). A token in the cache is accepted again
// without being parsed or its signature checked, as long as the key set
// that verified it is still the current one and the token has not expired
// (exp, with the leeway, is checked on every call). The default is
// DefaultCacheEntries.
func WithCacheEntries(n int) Option {
	return func(o *options) { o.cacheEntries = n }
}

func (o *options) validate() error {
	if o.minRefresh < 0 {
		return errors.New("minimum refresh interval is negative")
	}
	if o.maxJWKSBytes <= 0 {
		return errors.New("maximum JWKS size must be positive")
	}
	return nil
}

// defaultHTTPClient returns the client used without WithHTTPClient.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout:       defaultHTTPTimeout,
		CheckRedirect: sameHostRedirects,
	}
}

// sameHostRedirects refuses redirects that leave the configured host or
// downgrade to plain http: the key set decides who may call every API
// behind the authorizer, so it must come from where the operator said.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return errors.New("too many redirects")
	}
	first := via[0].URL
	if req.URL.Host != first.Host {
		return errors.New("redirect to another host refused")
	}
	if first.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("redirect from https to http refused")
	}
	return nil
}
