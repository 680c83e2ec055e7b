package gateway

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/tollgate-gw/tollgate/internal/testkit"
)

// unwrapping is a wrapper that says what it wraps; hiding one does not.
type unwrapping struct{ grpc.ServerStream }

func (u unwrapping) Unwrap() grpc.ServerStream { return u.ServerStream }

type hiding struct{ grpc.ServerStream }

// TestTakeSpare: the routed stream's spare counting stream is found below
// wrappers that unwrap, once, and never below one that does not.
func TestTakeSpare(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(grpc.ServerStream) grpc.ServerStream
		want bool
	}{
		{"routed stream", func(s grpc.ServerStream) grpc.ServerStream { return s }, true},
		{"below two unwrapping wrappers", func(s grpc.ServerStream) grpc.ServerStream { return unwrapping{unwrapping{s}} }, true},
		{"below a hiding wrapper", func(s grpc.ServerStream) grpc.ServerStream { return unwrapping{hiding{s}} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rc routedCall
			rc.ServerStream = testkit.NewServerStream(context.Background())
			rc.spare = &rc.counting
			ss := tt.wrap(&rc.routedStream)
			if got := takeSpare(ss); (got == &rc.counting) != tt.want || (got != nil && got != &rc.counting) {
				t.Fatalf("takeSpare = %p, want the spare: %v", got, tt.want)
			}
			if got := takeSpare(ss); got != nil {
				t.Fatalf("the spare was taken twice")
			}
		})
	}
}
