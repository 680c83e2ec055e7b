package customauth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	datav1 "github.com/tollgate-gw/tollgate/gen/tollgate/data/v1"
	"github.com/tollgate-gw/tollgate/internal/customauth"
)

// httpAuthorizer is an HTTP authorizer answering status and body to every
// request, and checking that the requests are POSTs of JSON.
type httpAuthorizer struct {
	t      *testing.T
	status int
	body   string
	delay  time.Duration

	calls atomic.Int64
	last  atomic.Pointer[datav1.AuthorizeRequest]
}

// ServeHTTP implements http.Handler.
func (h *httpAuthorizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		h.t.Errorf("authorizer got %s with Content-Type %q, want a POST of application/json", r.Method, r.Header.Get("Content-Type"))
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		h.t.Errorf("reading request: %v", err)
	}
	req := new(datav1.AuthorizeRequest)
	if err := protojson.Unmarshal(data, req); err != nil {
		h.t.Errorf("request body %s is not an AuthorizeRequest: %v", data, err)
	}
	h.last.Store(req)
	if h.delay > 0 {
		select {
		case <-time.After(h.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(h.status)
	_, _ = io.WriteString(w, h.body)
}

// startHTTP serves h for the test and returns its URL.
func startHTTP(t *testing.T, h *httpAuthorizer) string {
	t.Helper()
	h.t = t
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/authorize"
}

func TestHTTPCaller(t *testing.T) {
	h := &httpAuthorizer{status: http.StatusOK, body: `{
		"principalId": "user-1",
		"policy": [
			{"effect": "EFFECT_ALLOW", "resources": ["shop/prod/GET/*"]},
			{"effect": "EFFECT_DENY", "resources": ["shop/prod/GET/v1/admin/*"]}
		],
		"context": {"tenant": "t1"},
		"usageIdentifierKey": "key-1"
	}`}
	a := customauth.New(customauth.NewHTTPCaller(startHTTP(t, h), nil))
	req := requestRequest("Bearer abc", "t1", "shop/prod/GET/v1/pets/1")

	want := customauth.Decision{Allowed: true, PrincipalID: "user-1", Context: map[string]string{"tenant": "t1"}, UsageIdentifierKey: "key-1"}
	if diff := cmp.Diff(want, decide(t, a, req)); diff != "" {
		t.Errorf("Decide mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(req.Proto, h.last.Load(), protocmp.Transform()); diff != "" {
		t.Errorf("authorizer received (-want +got):\n%s", diff)
	}
	req = requestRequest("Bearer abc", "t1", "shop/prod/GET/v1/admin/users")
	want = customauth.Decision{PrincipalID: "user-1", FromCache: true}
	if diff := cmp.Diff(want, decide(t, a, req)); diff != "" {
		t.Errorf("Decide of a denied resource mismatch (-want +got):\n%s", diff)
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("callouts = %d, want 1", got)
	}
}

func TestHTTPCallerFailures(t *testing.T) {
	valid := `{"principalId": "user-1", "policy": [{"effect": "EFFECT_ALLOW", "resources": ["*"]}]}`
	tests := []struct {
		name        string
		h           *httpAuthorizer
		wantTimeout bool
	}{
		{name: "500", h: &httpAuthorizer{status: http.StatusInternalServerError, body: valid}},
		{name: "403", h: &httpAuthorizer{status: http.StatusForbidden, body: `{"message": "Forbidden"}`}},
		{name: "201", h: &httpAuthorizer{status: http.StatusCreated, body: valid}},
		{name: "not JSON", h: &httpAuthorizer{status: http.StatusOK, body: "<html>ok</html>"}},
		{name: "empty body", h: &httpAuthorizer{status: http.StatusOK}},
		{name: "unknown field", h: &httpAuthorizer{status: http.StatusOK, body: `{"principalId": "user-1", "polcy": []}`}},
		{name: "unknown effect", h: &httpAuthorizer{status: http.StatusOK, body: `{"principalId": "u", "policy": [{"effect": "PERMIT", "resources": ["*"]}]}`}},
		{name: "too large", h: &httpAuthorizer{status: http.StatusOK, body: `{"principalId": "` + strings.Repeat("u", 1<<20) + `"}`}},
		{name: "no principal", h: &httpAuthorizer{status: http.StatusOK, body: `{"policy": [{"effect": "EFFECT_ALLOW", "resources": ["*"]}]}`}},
		{name: "slow", h: &httpAuthorizer{status: http.StatusOK, body: valid, delay: 5 * time.Second}, wantTimeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := customauth.New(customauth.NewHTTPCaller(startHTTP(t, tt.h), &http.Client{}), customauth.WithTimeout(100*time.Millisecond))
			for i := range 2 {
				_, err := a.Decide(t.Context(), tokenRequest("tok", "shop/prod/GET/x"))
				if !errors.Is(err, customauth.ErrAuthorizerFailed) {
					t.Fatalf("call %d: Decide error = %v, want ErrAuthorizerFailed", i, err)
				}
				if got := errors.Is(err, customauth.ErrAuthorizerTimeout); got != tt.wantTimeout {
					t.Errorf("call %d: errors.Is(%v, ErrAuthorizerTimeout) = %v, want %v", i, err, got, tt.wantTimeout)
				}
			}
			if got := tt.h.calls.Load(); got != 2 {
				t.Errorf("callouts = %d, want 2 (failures are not cached)", got)
			}
		})
	}
}

func TestHTTPCallerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	for _, url := range []string{url, "://not a url"} {
		_, err := customauth.NewHTTPCaller(url, nil).Authorize(t.Context(), tokenRequest("tok", "x").Proto)
		if err == nil {
			t.Errorf("Authorize(%q) succeeded, want an error", url)
		}
	}
}
