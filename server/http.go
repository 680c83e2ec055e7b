package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

const (
	// readHeaderTimeout bounds how long a client may take to send request
	// headers, so that idle half-open connections (slowloris) cannot pile
	// up. There is no overall read or write timeout: gRPC streams and large
	// uploads legitimately take long.
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes keep-alive connections that carry no request.
	idleTimeout = 2 * time.Minute
	// maxConcurrentStreams bounds the HTTP/2 streams (calls) a client may
	// have open on one connection.
	maxConcurrentStreams = 1000
)

// Paths of the health probes served on both ports.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
)

// newHTTPServer returns an http.Server for h that speaks HTTP/1.1 and
// unencrypted HTTP/2 (h2c with prior knowledge), which gRPC clients need
// when there is no TLS.
func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Handler:   h,
		Protocols: &protocols,
		// Bounded streams per connection; Go's HTTP/2 server also limits
		// control frames (ping and settings floods) and reset streams.
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxConcurrentStreams},
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// withProbes answers the health probes and passes every other request to
// next. next is read on every request, so a replaced handler takes effect.
func (s *Server) withProbes(next func() http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case healthzPath:
			// Liveness: answering at all proves the process is alive.
			probe(w, r, http.StatusOK, "ok")
		case readyzPath:
			if !s.serving.Load() {
				probe(w, r, http.StatusServiceUnavailable, "not ready")
				return
			}
			code, body := s.stagesReadiness()
			if err := s.storeHealth(r.Context()); err != nil {
				s.log.Debug("readiness probe: store unavailable", "error", err)
				if r.URL.Query().Get("require") == "store" {
					probe(w, r, http.StatusServiceUnavailable, "store unavailable")
					return
				}
				// Serving the last configuration is still serving: a
				// store outage must not take every node out of rotation.
				body += "\nstore unavailable: serving the last configuration"
			}
			probe(w, r, code, body)
		default:
			next().ServeHTTP(w, r)
		}
	})
}

// stagesReadiness is /readyz's answer once the server is serving, from the
// stages the data plane's last reload could not compile. A stage that
// serves nothing (it failed when the process started, e.g. after an
// upgrade) makes the server not ready (503): a rolling upgrade stops before
// the new version takes traffic it cannot serve, as Kong reports not ready
// until it has loaded a valid configuration. A stage that keeps serving
// its previous deployment leaves it ready (200, "ok (degraded)" naming the
// stage): this instance serves what it served before, as Envoy keeps its
// last good configuration and stays live after rejecting an update, and
// taking it out of rotation would stop every other stage too.
func (s *Server) stagesReadiness() (int, string) {
	if s.gateway == nil {
		return http.StatusOK, "ok"
	}
	failures := s.gateway.Failures()
	if len(failures) == 0 {
		return http.StatusOK, "ok"
	}
	code, head := http.StatusOK, "ok (degraded)"
	lines := make([]string, 0, len(failures))
	for _, f := range failures {
		what := "deployment"
		if f.Canary {
			what = "canary deployment"
		}
		if f.Kept == "" {
			code, head = http.StatusServiceUnavailable, "not ready"
			lines = append(lines, fmt.Sprintf("stage %s cannot serve its %s %s: %v", f.Stage, what, f.Deployment, f.Err))
			continue
		}
		lines = append(lines, fmt.Sprintf("stage %s serves deployment %s instead of its %s %s, which cannot be compiled: %v", f.Stage, f.Kept, what, f.Deployment, f.Err))
	}
	return code, head + "\n" + strings.Join(lines, "\n")
}

// probe writes a plain-text probe answer.
func probe(w http.ResponseWriter, r *http.Request, code int, body string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(body + "\n"))
	}
}

// statusJSON is the JSON form of a google.rpc.Status, as grpc-gateway
// writes it, so clients parse gateway errors one way. Details is always
// present, as an empty list when there are none.
type statusJSON struct {
	Code    codes.Code `json:"code"`
	Message string     `json:"message"`
	Details []any      `json:"details"`
}

// writeStatusJSON writes a google.rpc.Status JSON error body.
func writeStatusJSON(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	body, err := json.Marshal(statusJSON{Code: code, Message: msg, Details: []any{}})
	if err != nil {
		// Cannot happen for this fixed shape; fall back to plain text.
		http.Error(w, msg, httpStatus)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}
