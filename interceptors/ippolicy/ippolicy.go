package ippolicy

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
	"github.com/tollgate-gw/tollgate/internal/gatewayerr"
	"github.com/tollgate-gw/tollgate/internal/ipacl"
)

// ErrDenied is the refusal of a caller an IP policy does not admit. It
// says no more than Amazon API Gateway's "Forbidden": which list refused
// the caller is for the gateway's operators, not for the caller.
var ErrDenied = gatewayerr.New(codes.PermissionDenied, gatewayerr.ReasonIPDenied, "Forbidden")

// StreamServerInterceptor refuses calls whose callinfo.Call.IPPolicy does
// not admit their SourceIP. Calls without callinfo (outside the data plane)
// or without a policy pass untouched.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := Check(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// UnaryServerInterceptor is StreamServerInterceptor for unary handlers.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := Check(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// Check returns ErrDenied when the call in ctx has an IP policy that does
// not admit its client address, and nil otherwise.
func Check(ctx context.Context) error {
	call := callinfo.FromContext(ctx)
	if call == nil || call.IPPolicy == nil {
		return nil
	}
	if !call.IPPolicy.Admits(ipacl.ParseAddr(call.SourceIP)) {
		return ErrDenied
	}
	return nil
}
