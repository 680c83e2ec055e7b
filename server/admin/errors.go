package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tollgate-gw/tollgate/server/store"
)

// errorDomain is the ErrorInfo domain of errors raised by the admin API.
const errorDomain = "admin.tollgate.dev"

// violations collects the field violations of one request, so that a client
// learns about every bad field at once rather than one per round trip.
type violations struct {
	list []*errdetails.BadRequest_FieldViolation
}

// add records that field (a dotted path relative to the request) is invalid.
func (v *violations) add(field, format string, args ...any) {
	v.list = append(v.list, &errdetails.BadRequest_FieldViolation{
		Field:       field,
		Description: fmt.Sprintf(format, args...),
	})
}

// empty reports whether no violation was recorded.
func (v *violations) empty() bool { return len(v.list) == 0 }

// err returns nil or an INVALID_ARGUMENT status listing every violation.
func (v *violations) err() error {
	if v.empty() {
		return nil
	}
	msgs := make([]string, 0, len(v.list))
	for _, fv := range v.list {
		msgs = append(msgs, fv.GetField()+": "+fv.GetDescription())
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	return withDetails(st, &errdetails.BadRequest{FieldViolations: v.list})
}

// invalidArgument is a single-field INVALID_ARGUMENT status.
func invalidArgument(field, format string, args ...any) error {
	var v violations
	v.add(field, format, args...)
	return v.err()
}

// notFound is a NOT_FOUND status naming the missing resource.
func notFound(resourceType, name string) error {
	st := status.Newf(codes.NotFound, "%s %q not found", resourceType, name)
	return withDetails(st, &errdetails.ResourceInfo{ResourceType: resourceType, ResourceName: name})
}

// alreadyExists is an ALREADY_EXISTS status naming the existing resource.
func alreadyExists(resourceType, name string) error {
	st := status.Newf(codes.AlreadyExists, "%s %q already exists", resourceType, name)
	return withDetails(st, &errdetails.ResourceInfo{ResourceType: resourceType, ResourceName: name})
}

// etagMismatch is the ABORTED status of a stale etag.
func etagMismatch(name, sent, current string) error {
	st := status.Newf(codes.Aborted, "%q was changed since it was read (etag %q, current %q): get it again and retry", name, sent, current)
	return withDetails(st, &errdetails.ErrorInfo{
		Reason:   "ETAG_MISMATCH",
		Domain:   errorDomain,
		Metadata: map[string]string{"resource": name, "currentEtag": current},
	})
}

// preconditionFailed is a FAILED_PRECONDITION status; kind is a short
// machine-readable reason such as "STAGE_USES_DEPLOYMENT".
func preconditionFailed(kind, subject, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	st := status.New(codes.FailedPrecondition, msg)
	return withDetails(st, &errdetails.PreconditionFailure{
		Violations: []*errdetails.PreconditionFailure_Violation{{Type: kind, Subject: subject, Description: msg}},
	})
}

// withDetails attaches details to st; attaching never fails for these
// well-known messages, but if it did the status without details is still right.
func withDetails(st *status.Status, details ...protoadapt.MessageV1) error {
	if d, err := st.WithDetails(details...); err == nil {
		return d.Err()
	}
	return st.Err()
}

// internalError maps an unexpected (store) error to a status once, at the
// RPC boundary. Context errors keep their meaning; everything else is
// INTERNAL with the cause, which is ours, not the caller's.
func internalError(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, op+": canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, op+": deadline exceeded")
	case errors.Is(err, store.ErrClosed):
		return status.Error(codes.Unavailable, op+": the gateway is shutting down")
	case errors.Is(err, store.ErrUnavailable):
		// The database of a shared store is down or unreachable: the
		// caller may retry, and the data plane keeps serving meanwhile.
		st := status.Newf(codes.Unavailable, "%s: the configuration store is unavailable, retry later (data-plane traffic is still served with the last configuration): %v", op, err)
		return withDetails(st, &errdetails.ErrorInfo{Reason: "STORE_UNAVAILABLE", Domain: errorDomain})
	}
	return status.Errorf(codes.Internal, "%s: %v", op, err)
}
