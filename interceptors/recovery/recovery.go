package recovery

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// message is what the client learns: nothing of the panic itself, which may
// hold internal details.
const message = "internal error: the gateway failed while handling this call; it has been logged"

// recovered logs a panic value and returns the status for the client.
func recovered(ctx context.Context, logger *slog.Logger, method string, p any) error {
	logger.ErrorContext(ctx, "panic while handling a call", "method", method, "panic", p, "stack", string(debug.Stack()))
	return status.Error(codes.Internal, message)
}

// UnaryServerInterceptor recovers panics of unary calls. A nil logger
// discards.
func UnaryServerInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(ctx, logger, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor recovers panics of streaming calls (and of every
// call of the data plane, whose proxy is one stream handler). A nil logger
// discards.
func StreamServerInterceptor(logger *slog.Logger) grpc.StreamServerInterceptor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(ss.Context(), logger, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}
