package examplebackend

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// invalidField returns an INVALID_ARGUMENT error whose google.rpc.BadRequest
// detail names field and repeats the description.
func invalidField(field, format string, args ...any) error {
	desc := fmt.Sprintf(format, args...)
	st := status.New(codes.InvalidArgument, field+": "+desc)
	withDetail, err := st.WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{
			Field:       field,
			Description: desc,
		}},
	})
	if err != nil {
		// Only happens if the detail cannot be marshalled; the code and
		// message are still right.
		return st.Err()
	}
	return withDetail.Err()
}
