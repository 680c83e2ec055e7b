package websocket

import (
	"errors"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the ErrorInfo domain of the callback API's own errors.
const ErrorDomain = "websocket.tollgate.dev"

// Errors of the callback API. They become a gRPC status (and an HTTP
// status) once, in [Status].
var (
	// ErrGone means the connection is closed or never existed (or belongs
	// to a stage the caller may not reach): NOT_FOUND, HTTP 410.
	ErrGone = errors.New("the connection is gone")
	// ErrQueueFull means the client reads too slowly: it has been
	// disconnected and the message dropped. UNAVAILABLE, HTTP 410 as the
	// connection is gone.
	ErrQueueFull = errors.New("the client's send queue is full; it was disconnected")
	// ErrInvalid means a bad argument (group name, empty message...).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnauthenticated means no valid admin or callback token.
	ErrUnauthenticated = errors.New("the callback API needs an admin token or a callback token as a bearer token")
	// ErrPermissionDenied means a callback token for another stage.
	ErrPermissionDenied = errors.New("the callback token is not valid for this stage")
	// ErrTooLarge means a message larger than the stage's maximum.
	ErrTooLarge = errors.New("the message is larger than the stage's maximum message size")
	// ErrShuttingDown means the gateway is stopping.
	ErrShuttingDown = errors.New("the gateway is shutting down")
	// ErrNodeUnavailable means the node holding the connection did not
	// answer a forwarded call in time: UNAVAILABLE, HTTP 503 (retry).
	ErrNodeUnavailable = errors.New("the gateway node holding the connection did not answer")

	// errMethod and errNoCallbackRoute are the HTTP callback API's own
	// routing errors.
	errMethod          = errors.New("method not allowed on this callback API path")
	errNoCallbackRoute = errors.New("no such callback API path; see tollgate.data.v1.ConnectionsService")
)

// errorTable maps each error to its code, ErrorInfo reason and HTTP status.
// NOT_FOUND is 410 Gone over HTTP, as Amazon API Gateway's @connections API.
var errorTable = []struct {
	err    error
	code   codes.Code
	reason string
	http   int
}{
	{ErrGone, codes.NotFound, "GONE", http.StatusGone},
	{ErrQueueFull, codes.NotFound, "SEND_QUEUE_OVERFLOW", http.StatusGone},
	{ErrInvalid, codes.InvalidArgument, "INVALID_ARGUMENT", http.StatusBadRequest},
	{ErrUnauthenticated, codes.Unauthenticated, "UNAUTHENTICATED", http.StatusUnauthorized},
	{ErrPermissionDenied, codes.PermissionDenied, "PERMISSION_DENIED", http.StatusForbidden},
	{ErrTooLarge, codes.InvalidArgument, "MESSAGE_TOO_LARGE", http.StatusRequestEntityTooLarge},
	{ErrShuttingDown, codes.Unavailable, "SHUTTING_DOWN", http.StatusServiceUnavailable},
	{ErrNodeUnavailable, codes.Unavailable, "NODE_UNAVAILABLE", http.StatusServiceUnavailable},
	{errMethod, codes.Unimplemented, "METHOD_NOT_ALLOWED", http.StatusMethodNotAllowed},
	{errNoCallbackRoute, codes.NotFound, "NO_SUCH_PATH", http.StatusNotFound},
}

// Status converts an error of this package to a gRPC status with an
// ErrorInfo, and returns the HTTP status the @connections API answers with.
func Status(err error) (*status.Status, int) {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			st := status.New(e.code, err.Error())
			if d, derr := st.WithDetails(&errdetails.ErrorInfo{Domain: ErrorDomain, Reason: e.reason}); derr == nil {
				st = d
			}
			return st, e.http
		}
	}
	return status.New(codes.Internal, err.Error()), http.StatusInternalServerError
}

// Reason returns the ErrorInfo reason of an error of this package ("" for
// another error): how a node tells another which error a forwarded call
// ended with.
func Reason(err error) string {
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.reason
		}
	}
	return ""
}

// FromReason returns an error wrapping this package's error of a reason,
// with msg as its message; an unknown reason gives a plain error.
func FromReason(reason, msg string) error {
	for _, e := range errorTable {
		if e.reason == reason {
			if msg == e.err.Error() {
				return e.err
			}
			return &reasonError{msg: msg, err: e.err}
		}
	}
	return errors.New(msg)
}

// reasonError is an error of this package received from another node.
type reasonError struct {
	msg string
	err error
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.err }
