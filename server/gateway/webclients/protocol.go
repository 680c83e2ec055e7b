package webclients

import (
	"net/http"
	"strings"
)

// Protocol is a client protocol served by this package.
type Protocol int

const (
	// None is any other request: gRPC, REST, plain HTTP, or a WebSocket
	// upgrade of a WebSocket API.
	None Protocol = iota
	// GRPCWeb is gRPC-Web: Content-Type application/grpc-web,
	// application/grpc-web+{codec} or application/grpc-web-text[+codec].
	GRPCWeb
	// Connect is the Connect protocol: a streaming call
	// (application/connect+{codec}), a unary POST with
	// Connect-Protocol-Version: 1 and an application/* Content-Type, or a
	// unary GET with the query parameter connect=v1.
	Connect
	// WebSocket is a streaming call over a WebSocket: an upgrade offering
	// the subprotocol [Subprotocol].
	WebSocket
)

// String returns "grpc-web", "connect", "websocket" or "none".
func (p Protocol) String() string {
	switch p {
	case GRPCWeb:
		return "grpc-web"
	case Connect:
		return "connect"
	case WebSocket:
		return "websocket"
	}
	return "none"
}

// Subprotocol is the WebSocket subprotocol of a gRPC call over a
// WebSocket (see [Handler.ServeWebSocket]).
const Subprotocol = "tollgate.grpc.v1"

// Content types of gRPC-Web.
const (
	grpcWebContentType     = "application/grpc-web"
	grpcWebTextContentType = "application/grpc-web-text"
)

// Headers browsers must be allowed to send and to read for these
// protocols, for the API's CORS settings: a cross-origin gRPC-Web or
// Connect client works only if a preflight allows AllowedHeaders and the
// response exposes ExposedHeaders (Access-Control-Expose-Headers).
var (
	// AllowedHeaders are the request headers gRPC-Web and Connect clients
	// send, besides the API's own (API keys, authorization).
	AllowedHeaders = []string{
		"Content-Type",
		"Connect-Protocol-Version",
		"Connect-Timeout-Ms",
		"Connect-Accept-Encoding",  // streaming requests
		"Connect-Content-Encoding", // streaming requests
		"Grpc-Timeout",             // gRPC-Web
		"X-Grpc-Web",               // gRPC-Web
		"X-User-Agent",             // gRPC-Web
		"X-Tollgate-Stage",         // stage selection without a path prefix
	}
	// ExposedHeaders are the response headers gRPC-Web and Connect clients
	// read: the status of a trailers-only gRPC-Web response is in headers.
	ExposedHeaders = []string{
		"Grpc-Status",
		"Grpc-Message",
		"Grpc-Status-Details-Bin",
		"Grpc-Encoding",
		"Grpc-Accept-Encoding",
		"Connect-Content-Encoding",
		"Connect-Accept-Encoding",
		"Content-Encoding",
		"X-Request-Id",
	}
	// AllowedMethods are the HTTP methods of these protocols: GET for
	// Connect's side-effect-free unary calls, POST for every other call.
	AllowedMethods = []string{http.MethodGet, http.MethodPost}
)

// Classify says which protocol of this package r uses, from its headers
// and query alone; None for everything else. It is cheap on gRPC requests,
// which every data-plane request passes through first.
func Classify(r *http.Request) Protocol {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/grpc") {
		if strings.HasPrefix(ct, grpcWebContentType) {
			rest := ct[len(grpcWebContentType):]
			if rest == "" || rest[0] == '+' || rest[0] == ';' || strings.HasPrefix(rest, "-text") {
				return GRPCWeb
			}
		}
		return None
	}
	switch r.Method {
	case http.MethodPost:
		if strings.HasPrefix(ct, "application/connect+") {
			return Connect
		}
		if strings.HasPrefix(ct, "application/") && r.Header.Get("Connect-Protocol-Version") == "1" {
			return Connect
		}
	case http.MethodGet:
		if r.Header.Get("Upgrade") != "" && offersSubprotocol(r) {
			return WebSocket
		}
		if strings.Contains(r.URL.RawQuery, "connect=v1") && r.URL.Query().Get("connect") == "v1" {
			return Connect
		}
	}
	return None
}

// offersSubprotocol reports whether a WebSocket upgrade offers Subprotocol.
func offersSubprotocol(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == Subprotocol {
				return true
			}
		}
	}
	return false
}

// isText reports whether a gRPC-Web request uses the base64 text form.
func isText(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), grpcWebTextContentType)
}
