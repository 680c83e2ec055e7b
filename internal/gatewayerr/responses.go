package gatewayerr

import (
	"encoding/json"
	"net/http"
	"strings"

	"google.golang.org/grpc/status"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// Reasons of refusals the data plane's router and body limits raise.
const (
	// ReasonRouteNotFound: no stage, API or route matches the request.
	// 404 Not Found.
	ReasonRouteNotFound = "ROUTE_NOT_FOUND"
	// ReasonBodyTooLarge: the request body is over the gateway's limit.
	// 413 Content Too Large.
	ReasonBodyTooLarge = "REQUEST_TOO_LARGE"
	// ReasonInvalidBody: a REST request body is not the JSON of the
	// request message. 400 Bad Request.
	ReasonInvalidBody = "INVALID_BODY"
	// ReasonOriginNotAllowed: a WebSocket upgrade (or gRPC-over-WebSocket
	// call) from a browser origin the stage does not allow. 403 Forbidden.
	ReasonOriginNotAllowed = "ORIGIN_NOT_ALLOWED"
	// ReasonUpgradeRequired: a plain HTTP request to a stage that serves
	// a WebSocket API. 426 Upgrade Required.
	ReasonUpgradeRequired = "UPGRADE_REQUIRED"
	// ReasonShuttingDown: the gateway is draining and takes no new
	// WebSocket connections. 503 Service Unavailable.
	ReasonShuttingDown = "SHUTTING_DOWN"
)

// Gateway response types, as Amazon API Gateway names them: the keys of
// an API's gateway_responses.
const (
	ResponseDefault4XX                 = "DEFAULT_4XX"
	ResponseDefault5XX                 = "DEFAULT_5XX"
	ResponseAccessDenied               = "ACCESS_DENIED"
	ResponseUnauthorized               = "UNAUTHORIZED"
	ResponseMissingAuthenticationToken = "MISSING_AUTHENTICATION_TOKEN"
	ResponseInvalidAPIKey              = "INVALID_API_KEY"
	ResponseThrottled                  = "THROTTLED"
	ResponseQuotaExceeded              = "QUOTA_EXCEEDED"
	ResponseRequestTooLarge            = "REQUEST_TOO_LARGE"
	ResponseBadRequestBody             = "BAD_REQUEST_BODY"
	ResponseBadRequestParameters       = "BAD_REQUEST_PARAMETERS"
	ResponseIntegrationFailure         = "INTEGRATION_FAILURE"
	ResponseIntegrationTimeout         = "INTEGRATION_TIMEOUT"
	ResponseResourceNotFound           = "RESOURCE_NOT_FOUND"
)

// ResponseTypes lists every gateway response type, for validation.
var ResponseTypes = []string{
	ResponseDefault4XX, ResponseDefault5XX, ResponseAccessDenied, ResponseUnauthorized,
	ResponseMissingAuthenticationToken, ResponseInvalidAPIKey, ResponseThrottled, ResponseQuotaExceeded,
	ResponseRequestTooLarge, ResponseBadRequestBody, ResponseBadRequestParameters,
	ResponseIntegrationFailure, ResponseIntegrationTimeout, ResponseResourceNotFound,
}

// reasonTypes maps the reasons of the gateway's refusals to their
// response type. The reasons are those of the interceptors and the router
// (interceptors cannot be imported here: they import this package).
var reasonTypes = map[string]string{
	"API_KEY_MISSING":         ResponseMissingAuthenticationToken,
	"API_KEY_INVALID":         ResponseInvalidAPIKey,
	"API_KEY_NOT_IN_PLAN":     ResponseInvalidAPIKey,
	ReasonIPDenied:            ResponseAccessDenied,
	"AUTHORIZER_DENIED":       ResponseAccessDenied,
	"CACHE_CONTROL_FORBIDDEN": ResponseAccessDenied,
	ReasonOriginNotAllowed:    ResponseAccessDenied,
	"UNAUTHORIZED":            ResponseUnauthorized,
	"THROTTLED":               ResponseThrottled,
	"QUOTA_EXCEEDED":          ResponseQuotaExceeded,
	ReasonBodyTooLarge:        ResponseRequestTooLarge,
	"REQUEST_INVALID":         ResponseBadRequestBody,
	ReasonInvalidBody:         ResponseBadRequestBody,
	"INVALID_PATH":            ResponseBadRequestParameters,
	ReasonBackendUnavailable:  ResponseIntegrationFailure,
	ReasonBackendTimeout:      ResponseIntegrationTimeout,
	ReasonRouteNotFound:       ResponseResourceNotFound,
}

// ResponseType returns the gateway response type of a refusal with the
// data-plane reason and HTTP status: the reason's own type, else
// DEFAULT_4XX or DEFAULT_5XX, else "" (not an error status).
func ResponseType(reason string, httpStatus int) string {
	if t, ok := reasonTypes[reason]; ok {
		return t
	}
	switch {
	case httpStatus >= 500:
		return ResponseDefault5XX
	case httpStatus >= 400:
		return ResponseDefault4XX
	}
	return ""
}

// Responses are an API's customised gateway responses by type; nil
// customises nothing.
type Responses map[string]*adminv1.GatewayResponse

// lookup returns the customised response of a refusal, or nil, with its
// type.
func (rs Responses) lookup(reason string, httpStatus int) (*adminv1.GatewayResponse, string) {
	t := ResponseType(reason, httpStatus)
	if len(rs) == 0 || t == "" {
		return nil, t
	}
	if r, ok := rs[t]; ok {
		return r, t
	}
	def := ResponseDefault4XX
	if httpStatus >= 500 {
		def = ResponseDefault5XX
	}
	return rs[def], t
}

// WriteOption adds to what WriteHTTP writes.
type WriteOption func(*writeOptions)

type writeOptions struct {
	responses Responses
	requestID string
}

// WithResponses applies an API's customised gateway responses, with the
// call's request ID for their templates.
func WithResponses(rs Responses, requestID string) WriteOption {
	return func(o *writeOptions) { o.responses, o.requestID = rs, requestID }
}

// writeCustom writes st as the customised response of its type, if the
// options have one, and reports whether it did.
func writeCustom(w http.ResponseWriter, httpStatus int, st *status.Status, o writeOptions) bool {
	reason := Reason(st.Err())
	resp, typ := o.responses.lookup(reason, httpStatus)
	if resp == nil {
		return false
	}
	h := w.Header()
	if secs, ok := RetryAfterSeconds(st.Err()); ok {
		h.Set("Retry-After", itoa(secs))
	}
	for k, v := range resp.GetResponseHeaders() {
		h.Set(k, v)
	}
	if c := resp.GetStatusCode(); c != 0 {
		httpStatus = int(c)
	}
	if resp.GetBodyTemplate() == "" {
		writeStatusBody(w, httpStatus, st)
		return true
	}
	quoted, _ := json.Marshal(st.Message())
	body := strings.NewReplacer(
		// Longer names first: the replacer tries them in order.
		"$context.error.messageString", string(quoted),
		"$context.error.message", st.Message(),
		"$context.error.responseType", typ,
		"$context.error.reason", reason,
		"$context.requestId", o.requestID,
	).Replace(resp.GetBodyTemplate())
	ct := resp.GetContentType()
	if ct == "" {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write([]byte(body))
	return true
}
