package webclients_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tollgate-gw/tollgate/server/gateway/webclients"
)

// Classify tells web client calls from the data port's other requests by
// their headers alone.
func ExampleClassify() {
	for _, r := range []*http.Request{
		withHeader(httptest.NewRequest(http.MethodPost, "/prod/pkg.Svc/M", nil), "Content-Type", "application/grpc-web-text"),
		withHeader(withHeader(httptest.NewRequest(http.MethodPost, "/prod/pkg.Svc/M", strings.NewReader("{}")), "Content-Type", "application/json"), "Connect-Protocol-Version", "1"),
		withHeader(httptest.NewRequest(http.MethodPost, "/prod/v1/echo", strings.NewReader("{}")), "Content-Type", "application/json"),
		withHeader(httptest.NewRequest(http.MethodPost, "/pkg.Svc/M", nil), "Content-Type", "application/grpc"),
	} {
		fmt.Println(webclients.Classify(r))
	}
	// Output:
	// grpc-web
	// connect
	// none
	// none
}

func withHeader(r *http.Request, k, v string) *http.Request {
	r.Header.Set(k, v)
	return r
}
