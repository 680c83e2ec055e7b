package chain

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tollgate-gw/tollgate/internal/callinfo"
)

// Step is one policy of the chain.
type Step struct {
	// Name names the step in errors, such as "plan throttle".
	Name string
	// Interceptor is the policy.
	Interceptor grpc.StreamServerInterceptor
	// Needs are the facts of the call record the policy reads, which an
	// earlier step must provide.
	Needs []callinfo.Fact
	// Provides are the facts the policy writes into the call record.
	Provides []callinfo.Fact
}

// Build checks that every step's needs are provided by an earlier step and
// returns the interceptors in order. The error names the first step whose
// need is unmet, and the later step that provides it when there is one.
func Build(steps ...Step) ([]grpc.StreamServerInterceptor, error) {
	provided := map[callinfo.Fact]bool{}
	out := make([]grpc.StreamServerInterceptor, 0, len(steps))
	for i, s := range steps {
		if s.Interceptor == nil {
			return nil, fmt.Errorf("chain: step %q has no interceptor", s.Name)
		}
		for _, need := range s.Needs {
			if provided[need] {
				continue
			}
			var later []string
			for _, t := range steps[i+1:] {
				if slices.Contains(t.Provides, need) {
					later = append(later, t.Name)
				}
			}
			if len(later) > 0 {
				return nil, fmt.Errorf("chain: %s needs the %s, which %s provides after it: move %s before %s",
					s.Name, need, strings.Join(later, " and "), later[0], s.Name)
			}
			return nil, fmt.Errorf("chain: %s needs the %s, which no step provides", s.Name, need)
		}
		for _, p := range s.Provides {
			provided[p] = true
		}
		out = append(out, s.Interceptor)
	}
	return out, nil
}

// Stream chains interceptors into one, as grpc.ChainStreamInterceptor does
// (the first is the outermost), with one allocation per call instead of a
// closure per interceptor per call: the handler each interceptor calls is
// built once, here, and finds the call's state (the info, the final
// handler and the real srv) in the srv argument, which it carries through
// the interceptors in place of the service implementation. The handler
// given to the last interceptor calls the final handler with the srv the
// chain was called with. So interceptors of such a chain must hand srv on
// as they received it (every data-plane interceptor does: the proxy is an
// unknown-service handler, whose srv is nil), and call the handler on the
// goroutine they were called on or another, any number of times, as
// grpc.StreamHandler allows.
func Stream(interceptors ...grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	n := len(interceptors)
	switch n {
	case 0:
		return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return handler(srv, ss)
		}
	case 1:
		return interceptors[0]
	}
	ics := slices.Clone(interceptors)
	// next[i] is the handler interceptor i calls.
	next := make([]grpc.StreamHandler, n)
	next[n-1] = func(srv any, ss grpc.ServerStream) error {
		c, ok := srv.(*streamCall)
		if !ok {
			return errSrvReplaced
		}
		return c.final(c.srv, ss)
	}
	for i := n - 2; i >= 0; i-- {
		ic, h := ics[i+1], next[i+1]
		next[i] = func(srv any, ss grpc.ServerStream) error {
			c, ok := srv.(*streamCall)
			if !ok {
				return errSrvReplaced
			}
			return ic(srv, ss, c.info, h)
		}
	}
	first, h0 := ics[0], next[0]
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return first(&streamCall{srv: srv, info: info, final: handler}, ss, info, h0)
	}
}

// streamCall is the state of one call of a chain of Stream.
type streamCall struct {
	srv   any
	info  *grpc.StreamServerInfo
	final grpc.StreamHandler
}

// errSrvReplaced fails a call whose srv an interceptor of a chain of
// Stream did not hand on: a programming error of the chain's.
var errSrvReplaced = status.Error(codes.Internal, "chain: an interceptor replaced the call's srv")
