package gateway

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/tollgate-gw/tollgate/server/gateway/grpcproxy"
	"github.com/tollgate-gw/tollgate/server/gateway/upstream"
)

// maxRetryBody is the largest request body a plain HTTP call may have to
// be retried: the gateway holds it whole to send it again.
const maxRetryBody = 64 << 10

// defaultRetryStatuses are the backend statuses retried by default.
var defaultRetryStatuses = []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// idempotentMethods may be retried.
var idempotentMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true, http.MethodPut: true, http.MethodDelete: true,
}

// bufferForRetry reads a small request body into memory so that it can be
// sent again, and reports whether it did (false: too large or unknown).
func bufferForRetry(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return true
	}
	if r.ContentLength < 0 || r.ContentLength > maxRetryBody {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1))
	if err != nil || len(b) > maxRetryBody {
		return false
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return true
}

// retryTransport retries a plain HTTP call that failed before its response
// reached the client (the ReverseProxy writes nothing until RoundTrip
// returns): no response, or a retryable status, whose body is dropped.
// Each attempt goes to a target not tried yet where there are several,
// and its outcome is reported for outlier detection.
type retryTransport struct {
	base     http.RoundTripper
	policy   *grpcproxy.RetryPolicy
	statuses []int
	set      *upstream.Set      // nil for a single host
	first    *upstream.Endpoint // the first attempt's, nil for a single host
	hashKey  string
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.policy.Budget.Call()
	ep := t.first
	tried := []*upstream.Endpoint{ep}
	out := req
	for n := 0; ; n++ {
		resp, err := t.base.RoundTrip(out)
		failed := err != nil || slices.Contains(t.statuses, resp.StatusCode)
		if t.set != nil {
			t.set.Report(ep, err != nil || resp.StatusCode >= 500)
			if n > 0 {
				ep.Done()
			}
		}
		if !failed || n+1 >= t.policy.Attempts || req.Context().Err() != nil || !t.policy.Budget.TryRetry() {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		timer := time.NewTimer(t.policy.Backoff(n + 1))
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		out = req.Clone(req.Context())
		if out.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
		if t.set != nil {
			if ep, err = t.set.Pick(t.hashKey, tried...); err != nil {
				return nil, err
			}
			tried = append(tried, ep)
			out.URL.Host = ep.Address
		}
	}
}
