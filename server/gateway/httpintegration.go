package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
	"github.com/tollgate-gw/tollgate/interceptors/requestid"
	"github.com/tollgate-gw/tollgate/internal/forwarded"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/netguard"
	"github.com/tollgate-gw/tollgate/internal/rawsock"
	"github.com/tollgate-gw/tollgate/server/gateway/routing"
	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

// httpIntegrations proxies calls of plain HTTP routes to HTTP backends and
// answers mock integrations.
type httpIntegrations struct {
	transport         *http.Transport // verifies backend certificates
	insecureTransport *http.Transport // for insecure_skip_verify integrations
	logger            *slog.Logger    // backend errors, which clients never see in full
	h2c               *http.Transport // for h2c integrations
	newTransport      func(*tls.Config) *http.Transport
	tls               *backendTLSConfigs
	upstreams         *upstreams // target sets of integrations with several targets
}

// newHTTPIntegrations returns the HTTP proxy; unless allowLinkLocal, its
// transports refuse to connect to link-local and metadata addresses.
func newHTTPIntegrations(logger *slog.Logger, allowLinkLocal bool, tlsConfigs *backendTLSConfigs, ups *upstreams) *httpIntegrations {
	dialer := &net.Dialer{Timeout: defaultConnectTimeout, KeepAlive: 30 * time.Second}
	if !allowLinkLocal {
		dialer.Control = netguard.Control
	}
	// An integration's connect_timeout reaches the dialer through the
	// request's context, whose values the transport passes on.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := *dialer
		if t, ok := ctx.Value(connectTimeoutKey{}).(time.Duration); ok && t > 0 {
			d.Timeout = t
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rawsock.Wrap(c), nil
	}
	mk := func(insecure bool) *http.Transport {
		return &http.Transport{
			Proxy:                 nil, // the gateway talks to backends directly
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1000,
			MaxIdleConnsPerHost:   100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // opt-in per integration, for testing
		}
	}
	h := &httpIntegrations{transport: mk(false), insecureTransport: mk(true), logger: logger, tls: tlsConfigs, upstreams: ups}
	// Per-setting transports are made afresh, not cloned from a used one
	// (a used Transport's clone does not negotiate HTTP/2).
	h.newTransport = func(cfg *tls.Config) *http.Transport {
		tr := mk(false)
		// A clone: the transport adds "h2" to its configuration's
		// NextProtos on first use, and cfg is shared with the gRPC
		// integrations of the same setting, which clone it as they dial.
		tr.TLSClientConfig = cfg.Clone()
		return tr
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h.h2c = mk(false)
	h.h2c.Protocols = &p
	return h
}

// defaultConnectTimeout bounds a connection attempt to an HTTP backend
// whose integration sets no connect_timeout, as grpcproxy's does.
const defaultConnectTimeout = 5 * time.Second

// connectTimeoutKey carries an integration's connect timeout to the dialer.
type connectTimeoutKey struct{}

// transportFor is the transport of an HTTP integration: the one that skips
// TLS verification only when the integration asks for it.
func (h *httpIntegrations) transportFor(hi *adminv1.HttpIntegration) http.RoundTripper {
	if hi.GetBackendTls() != nil || hi.GetH2C() {
		return h.tls.transport(h, hi)
	}
	if hi.GetInsecureSkipVerify() {
		return h.insecureTransport
	}
	return h.transport
}

func (h *httpIntegrations) close() {
	h.transport.CloseIdleConnections()
	h.insecureTransport.CloseIdleConnections()
	h.h2c.CloseIdleConnections()
	h.tls.closeIdle()
}

// serve answers one call of an HTTP route. rest is the escaped request path
// relative to the stage: exactly the path the route matched, and exactly the
// path appended to the backend's base URL.
func (h *httpIntegrations) serve(w http.ResponseWriter, r *http.Request, route *routing.Route, rest string) {
	in := route.Integration
	switch {
	case in.GetMock() != nil:
		m := in.GetMock()
		for k, v := range m.GetHeaders() {
			w.Header().Set(k, v)
		}
		code := int(m.GetStatusCode())
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(m.GetBody()))
		return
	case in.GetHttp() == nil:
		writeError(w, http.StatusInternalServerError, codes.Unimplemented, route.Label()+" has no HTTP integration")
		return
	}
	hi := in.GetHttp()
	base, err := url.Parse(hi.GetUri())
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		writeError(w, http.StatusInternalServerError, codes.Internal, "the integration URI of "+route.Label()+" is invalid after substituting stage variables")
		return
	}
	decoded, err := url.PathUnescape(rest)
	if err != nil {
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, "the request path is not validly percent-encoded")
		return
	}
	release, err := h.upstreams.admit(r.Context(), hi, hi.GetCircuitBreaker(), route.Timeout)
	if err != nil {
		if r.Context().Err() == nil {
			writeChainError(w, err)
		}
		return
	}
	defer release()
	host := base.Host // where the request goes; the Host header stays base.Host
	failed := false   // for outlier detection: a 5xx, or no response at all
	transport := h.transportFor(hi)
	method := r.Method
	if m := hi.GetMethod(); m != "" {
		method = m
	}
	retry := route.Config.GetRetryPolicy().GetAttempts() > 1 && idempotentMethods[method] && bufferForRetry(r)
	var rt *retryTransport
	if retry {
		statuses := defaultRetryStatuses
		if ss := route.Config.GetRetryPolicy().GetRetryableStatuses(); len(ss) > 0 {
			statuses = make([]int, len(ss))
			for i, st := range ss {
				statuses[i] = int(st)
			}
		}
		rt = &retryTransport{base: transport, policy: h.upstreams.retryPolicy(route), statuses: statuses}
		transport = rt
	}
	if len(hi.GetTargets()) > 0 {
		set, err := h.upstreams.httpSet(hi)
		var ep *upstream.Endpoint
		key := httpHashKey(r, hi.GetLoadBalancing())
		if err == nil {
			ep, err = set.Pick(key)
		}
		if err != nil {
			h.logger.WarnContext(r.Context(), "gateway: no target", "route", route.Label(), "error", err)
			writeChainError(w, gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable"))
			return
		}
		if rt != nil {
			// The retrying transport reports every attempt itself.
			rt.set, rt.first, rt.hashKey = set, ep, key
			defer ep.Done()
		} else {
			defer func() {
				ep.Done()
				set.Report(ep, failed)
			}()
		}
		host = ep.Address
	}
	ctx, cancel := context.WithTimeout(r.Context(), route.Timeout)
	defer cancel()
	if t := hi.GetConnectTimeout(); t != nil {
		ctx = context.WithValue(ctx, connectTimeoutKey{}, t.AsDuration())
	}
	// Let the backend's response start while the request body still
	// streams in, on HTTP/1.1 too (HTTP/2 always allows it). An error only
	// means the connection cannot, which changes nothing.
	_ = http.NewResponseController(w).EnableFullDuplex()
	proxy := &httputil.ReverseProxy{
		Transport:     transport,
		FlushInterval: -1, // stream responses as they come
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			out.URL.Scheme, out.URL.Host = base.Scheme, host
			out.URL.Path = strings.TrimSuffix(base.Path, "/") + decoded
			out.URL.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + rest
			out.URL.RawQuery = r.URL.RawQuery
			out.Host = base.Host
			if m := hi.GetMethod(); m != "" {
				out.Method = m
			}
			// The client's x-tollgate-* headers were removed before the
			// gateway set its own (serveHTTPRoute): removing them here
			// would take the caller's identity from the backend.
			// ReverseProxy dropped X-Forwarded-For, -Host and -Proto from
			// Out (and any header a client names in Connection): put back
			// the gateway's own, which ServeHTTP set on the request in
			// place of the client's.
			for _, k := range forwarded.Names {
				if vs := pr.In.Header[k]; len(vs) > 0 {
					out.Header[k] = vs
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			failed = resp.StatusCode >= 500
			return nil
		},
		// The same errors, with the same ErrorInfo reasons, as the gRPC
		// proxy's; the backend's address and the error stay in the log.
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			failed = r.Context().Err() == nil // not when the client left
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				h.logger.InfoContext(ctx, "gateway: route timeout", "route", route.Label(), "backend", host, "timeout", route.Timeout)
				writeChainError(w, gatewayerr.New(codes.DeadlineExceeded, gatewayerr.ReasonBackendTimeout,
					"the backend did not answer within the route timeout of "+route.Timeout.String()),
					stageResponses(route.Stage, r.Header.Get(requestid.MetadataKey)))
				return
			}
			if errors.Is(r.Context().Err(), context.Canceled) {
				return // the client is gone
			}
			h.logger.WarnContext(ctx, "gateway: backend unavailable", "route", route.Label(), "backend", host, "error", err)
			writeChainError(w, gatewayerr.New(codes.Unavailable, gatewayerr.ReasonBackendUnavailable, "the backend is unavailable"),
				stageResponses(route.Stage, r.Header.Get(requestid.MetadataKey)))
		},
	}
	out := r.WithContext(ctx)
	// The transport may still be reading the body when the proxy returns.
	w, guard := guardBody(w, out)
	defer guard.finish()
	proxy.ServeHTTP(w, out)
}

// httpHashKey is what consistent hashing hashes for an HTTP call: the
// configured header's value, or the client's IP.
func httpHashKey(r *http.Request, lb *adminv1.LoadBalancing) string {
	if lb.GetPolicy() != adminv1.LoadBalancing_POLICY_CONSISTENT_HASH {
		return ""
	}
	if h := lb.GetHashHeader(); h != "" {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	return clientIP(r)
}
