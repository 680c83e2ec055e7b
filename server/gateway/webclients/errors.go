package webclients

import (
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/grpc/status"
)

// errorWriter writes errors in the protocol of the request.
var errorWriter = connect.NewErrorWriter()

// WriteError answers a gRPC-Web or Connect request with err, a gRPC
// status error, in the request's protocol, with the status's details
// (ErrorInfo reasons and the like): gRPC-Web as a trailers-only response,
// Connect unary as a JSON error with the code's HTTP status, Connect
// streaming as an end-of-stream message. It is for errors raised before a
// call reaches the data plane's gRPC server, which reports its own in the
// same form through the transcoder.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if isText(r) {
		tw := toBinary(w, r)
		defer tw.finish()
		w = tw
	}
	_ = errorWriter.Write(w, r, connectError(err))
}

// connectError converts a gRPC status error, with its details.
func connectError(err error) *connect.Error {
	st := status.Convert(err)
	ce := connect.NewError(connect.Code(st.Code()), errors.New(st.Message()))
	for _, d := range st.Proto().GetDetails() {
		if det, derr := connect.NewErrorDetail(d); derr == nil {
			ce.AddDetail(det)
		}
	}
	return ce
}
