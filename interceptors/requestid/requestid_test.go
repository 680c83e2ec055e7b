package requestid_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/tollgate-gw/tollgate/interceptors/requestid"
)

// stream records the headers a handler sets.
type stream struct {
	grpc.ServerStream
	ctx    context.Context
	header metadata.MD
}

func (s *stream) Context() context.Context { return s.ctx }

func (s *stream) SetHeader(md metadata.MD) error {
	s.header = metadata.Join(s.header, md)
	return nil
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming metadata.MD
		keep     bool // the client's ID is kept
	}{
		{"generated when absent", nil, false},
		{"client's ID kept", metadata.Pairs("x-request-id", "abc-123"), true},
		{"control characters refused", metadata.Pairs("x-request-id", "abc\ninjected"), false},
		{"too long refused", metadata.Pairs("x-request-id", strings.Repeat("a", 200)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			intercept := requestid.StreamServerInterceptor(requestid.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			s := &stream{ctx: metadata.NewIncomingContext(context.Background(), tt.incoming)}
			var seenID string
			var forwarded []string
			err := intercept(nil, s, &grpc.StreamServerInfo{FullMethod: "/a.B/C"}, func(_ any, ss grpc.ServerStream) error {
				seenID = requestid.FromContext(ss.Context())
				md, _ := metadata.FromIncomingContext(ss.Context())
				forwarded = md.Get("x-request-id")
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The incoming metadata is left alone: the proxy sends the
			// ID from the context (server/gateway tests that).
			if seenID == "" || !slices.Equal(forwarded, tt.incoming.Get("x-request-id")) || s.header.Get("x-request-id")[0] != seenID {
				t.Fatalf("id %q, forwarded %v, header %v", seenID, forwarded, s.header)
			}
			if kept := seenID == first(tt.incoming); kept != tt.keep {
				t.Fatalf("keep = %v, id %q", tt.keep, seenID)
			}
			if !strings.Contains(logs.String(), "request_id="+seenID) || !strings.Contains(logs.String(), "code=OK") {
				t.Errorf("log line: %s", logs.String())
			}
		})
	}
}

func first(md metadata.MD) string {
	if v := md.Get("x-request-id"); len(v) > 0 {
		return v[0]
	}
	return ""
}
