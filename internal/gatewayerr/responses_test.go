package gatewayerr_test

import (
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
)

func TestResponseType(t *testing.T) {
	tests := []struct {
		reason string
		status int
		want   string
	}{
		{"API_KEY_MISSING", 403, gatewayerr.ResponseMissingAuthenticationToken},
		{"API_KEY_INVALID", 403, gatewayerr.ResponseInvalidAPIKey},
		{"API_KEY_NOT_IN_PLAN", 403, gatewayerr.ResponseInvalidAPIKey},
		{"AUTHORIZER_DENIED", 403, gatewayerr.ResponseAccessDenied},
		{"IP_DENIED", 403, gatewayerr.ResponseAccessDenied},
		{"UNAUTHORIZED", 401, gatewayerr.ResponseUnauthorized},
		{"THROTTLED", 429, gatewayerr.ResponseThrottled},
		{"QUOTA_EXCEEDED", 429, gatewayerr.ResponseQuotaExceeded},
		{"REQUEST_TOO_LARGE", 413, gatewayerr.ResponseRequestTooLarge},
		{"REQUEST_INVALID", 400, gatewayerr.ResponseBadRequestBody},
		{"INVALID_BODY", 400, gatewayerr.ResponseBadRequestBody},
		{"INVALID_PATH", 400, gatewayerr.ResponseBadRequestParameters},
		{"BACKEND_UNAVAILABLE", 502, gatewayerr.ResponseIntegrationFailure},
		{"BACKEND_TIMEOUT", 504, gatewayerr.ResponseIntegrationTimeout},
		{"ROUTE_NOT_FOUND", 404, gatewayerr.ResponseResourceNotFound},
		{"AUTHORIZER_FAILURE", 500, gatewayerr.ResponseDefault5XX},
		{"", 405, gatewayerr.ResponseDefault4XX},
		{"", 200, ""},
	}
	for _, tt := range tests {
		if got := gatewayerr.ResponseType(tt.reason, tt.status); got != tt.want {
			t.Errorf("ResponseType(%q, %d) = %q, want %q", tt.reason, tt.status, got, tt.want)
		}
	}
}

func TestWriteHTTPWithResponses(t *testing.T) {
	rs := gatewayerr.Responses{
		gatewayerr.ResponseThrottled:  {StatusCode: 503, ResponseHeaders: map[string]string{"X-Why": "slow down"}, BodyTemplate: `{"m":$context.error.messageString,"t":"$context.error.responseType","id":"$context.requestId"}`},
		gatewayerr.ResponseDefault5XX: {BodyTemplate: "oops", ContentType: "text/plain"},
	}
	tests := []struct {
		name       string
		err        error
		status     int
		wantStatus int
		wantBody   string
	}{
		{"customised", gatewayerr.New(codes.ResourceExhausted, "THROTTLED", `Too "Many"`), 429, 503, `{"m":"Too \"Many\"","t":"THROTTLED","id":"req-1"}`},
		{"default 5xx", gatewayerr.New(codes.Unavailable, "BACKEND_UNAVAILABLE", "down"), 502, 502, "oops"},
		{"not customised", gatewayerr.New(codes.PermissionDenied, "IP_DENIED", "Forbidden"), 403, 403, `{"code":7,"message":"Forbidden","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IP_DENIED","domain":"gateway.tollgate.dev","metadata":{}}]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			gatewayerr.WriteHTTP(w, tt.status, status.Convert(tt.err), gatewayerr.WithResponses(rs, "req-1"))
			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
